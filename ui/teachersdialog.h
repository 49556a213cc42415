// "Teachers…": the list of further teachers a student distils from at once
// (Experiment::teachers; multi-teacher KD, docs/METHODS.md), each reused from
// a run or imported from a TorchScript file, with every teacher's weight, the
// Teacher section's own included. The shares the weights give are shown as
// they change.
#pragma once

#include "distillery/experiment.h"

#include <QDialog>

#include <vector>

class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QTableWidget;

class TeachersDialog : public QDialog {
    Q_OBJECT
public:
    // The first teacher's weight and the further teachers of `e`.
    explicit TeachersDialog(const distillery::Experiment &e, QWidget *parent = nullptr);

    double firstWeight() const;
    std::vector<distillery::TeacherConfig> teachers() const;

    // A row for a run's teacher, or for a TorchScript file (raw input), weight 1.
    void addRun(const QString &runDir);
    void addTorchScript(const QString &file);
    void removeRow(int row);

    QTableWidget *table() const { return table_; }
    QDoubleSpinBox *firstWeightBox() const { return first_; }
    QLabel *sharesLabel() const { return shares_; }

private:
    void addRow(const distillery::TeacherConfig &t);
    void updateShares();

    QDoubleSpinBox *first_;
    QTableWidget *table_;
    QLabel *shares_;
    QPushButton *remove_;
};
