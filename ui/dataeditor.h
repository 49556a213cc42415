// The data of an experiment: its source and path, the validation split and
// the students' transfer set. Loads the data set whenever these change, off
// the GUI thread, and shows some of its samples and its numbers.
#pragma once

#include "distillery/data.h"

#include <QGroupBox>
#include <QList>
#include <QPointer>

class QComboBox;
class QDoubleSpinBox;
class QHBoxLayout;
class QLabel;
class QLineEdit;
class QSpinBox;
class QThread;

class DataEditor : public QGroupBox {
    Q_OBJECT
public:
    explicit DataEditor(QWidget *parent = nullptr);
    ~DataEditor() override;

    // Shows `c` without loading it: reload() does.
    void setConfig(const distillery::DataConfig &c);
    distillery::DataConfig config() const;
    // Loads the data set as the fields say.
    void reload();
    // Whether the data set has been loaded and checked.
    bool isReady() const { return ready_; }
    // Why it could not be loaded; empty when it could, or is still loading.
    QString problem() const { return error_; }
    const distillery::DatasetSummary &summary() const { return summary_; }

Q_SIGNALS:
    // A field changed, or a load began or failed.
    void changed();
    // A load succeeded: summary() describes the new data set.
    void loaded();

private:
    void settingsChanged();
    void showPreview(int generation, const distillery::DatasetPreview &preview, const QString &error);

    QComboBox *source_;
    QLineEdit *path_;
    QDoubleSpinBox *validation_;
    QSpinBox *transfer_;
    QLabel *info_;
    QHBoxLayout *samples_;

    distillery::DataConfig base_; // values without a widget are kept as set
    distillery::DatasetSummary summary_;
    QString error_;
    bool ready_ = false;
    bool filling_ = false;
    int generation_ = 0;
    QList<QPointer<QThread>> loaders_; // data loads still running
};
