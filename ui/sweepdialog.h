// Run ▸ Sweep…: many runs of the current experiment. Rows of a setting and
// its values (a grid: every combination), an optional random search (points
// drawn from ranges), the seeds and the points run at once. As the user edits
// it says how many runs that makes, how many teachers and baselines train,
// roughly how long it takes, or what is wrong (planSweep's message, Start
// disabled). It produces the experiment with its "sweep" section filled, and
// where it runs: this machine, or a Slurm cluster with its options.
#pragma once

#include "sweepdata.h"

#include "distillery/experiment.h"

#include <QDialog>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <vector>

class QCheckBox;
class QComboBox;
class QGridLayout;
class QGroupBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTimer;
class SlurmOptionsBox;

// The settings a sweep usually varies, for the rows' lists (any --set key may be typed).
QStringList sweepableKeys(const distillery::DistillConfig &distillation);

class SweepDialog : public QDialog {
    Q_OBJECT
public:
    SweepDialog(const distillery::Experiment &experiment, const QString &workspace, QWidget *parent = nullptr);

    // The grid's rows: a setting and its values, comma-separated ("2, 4, 8").
    void addGridRow(const QString &key = {}, const QString &values = {});
    void clearGrid();
    int gridRowCount() const { return int(grid_.size()); }
    // A random range: `count` draws (setRandomCount) between min and max.
    void addRangeRow(const QString &key = {}, const QString &min = {}, const QString &max = {}, bool log = false);
    void setRandomCount(int count);
    QLineEdit *seedsEdit() const { return seeds_; }
    QSpinBox *jobsBox() const { return jobs_; }
    QLabel *summaryLabel() const { return summary_; }
    QLabel *errorLabel() const { return error_; }
    QLabel *estimateLabel() const { return estimate_; }
    QPushButton *startButton() const { return start_; }
    // Run on: this machine or a Slurm cluster, and the Slurm options.
    SlurmOptionsBox *slurmBox() const { return slurm_; }

    // Reads the rows now (edits are read after a short pause).
    void updateSummary();
    std::int64_t pointCount() const { return count_; }
    QString problem() const { return problem_; }
    // The experiment with its sweep, as the rows say.
    distillery::Experiment experiment() const;
    int jobs() const;
    // More than kLargeSweep points, and the user said yes.
    bool allowLarge() const { return allowLarge_; }

public Q_SLOTS:
    void accept() override;

private:
    struct Row {
        QComboBox *key = nullptr;
        QLineEdit *values = nullptr;            // grid rows
        QLineEdit *min = nullptr, *max = nullptr; // range rows
        QCheckBox *log = nullptr;
        QList<QWidget *> widgets;
    };
    QComboBox *keyBox(const QString &key);
    void removeRow(std::vector<Row> &rows, QGridLayout *layout, QWidget *button);
    distillery::SweepSpec spec(QString *problem) const;
    distillery::Experiment withSweep(QString *problem) const;
    void readGrid(distillery::SweepSpec &s, QString *problem) const;
    void readRanges(distillery::SweepSpec &s, QString *problem) const;
    void showPlan(const distillery::Experiment &e);
    void showEstimate(double seconds);
    QWidget *buildGrid();
    QWidget *buildRandom();
    void prefill();

    distillery::Experiment base_;
    QString workspace_;
    QStringList keys_;
    std::vector<Row> grid_, ranges_;
    QGridLayout *gridLayout_ = nullptr, *rangeLayout_ = nullptr;
    QGroupBox *random_ = nullptr;
    QSpinBox *randomCount_ = nullptr, *randomSeed_ = nullptr;
    QLineEdit *seeds_ = nullptr;
    QSpinBox *jobs_ = nullptr;
    SlurmOptionsBox *slurm_ = nullptr;
    QLabel *summary_ = nullptr, *error_ = nullptr, *estimate_ = nullptr;
    QPushButton *start_ = nullptr;
    QTimer *debounce_ = nullptr;
    SweepStageSeconds stageSeconds_;
    std::int64_t count_ = 0;
    QString problem_;
    bool allowLarge_ = false;
};
