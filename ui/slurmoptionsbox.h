// The sweep dialog's choice of where the points run ("This machine" or
// "Slurm cluster": runOnCombo(), which the dialog places in its form) and the
// Slurm options, shown only for Slurm: the partition, each point's time limit,
// CPUs and GPUs per task and extra lines for the batch scripts
// (docs/SWEEPS.md, "Slurm"). The last choice and options are remembered.
#pragma once

#include "distillery/sweep.h"

#include <QGroupBox>
#include <QString>

class QComboBox;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;

class SlurmOptionsBox : public QGroupBox {
    Q_OBJECT
public:
    explicit SlurmOptionsBox(QWidget *parent = nullptr);

    // "This machine" (0) or "Slurm cluster" (1); the box shows itself for Slurm.
    QComboBox *runOnCombo() const { return runOn_; }
    bool onSlurm() const;
    void setOnSlurm(bool on);
    QLineEdit *partitionEdit() const { return partition_; }
    QLineEdit *timeEdit() const { return time_; }
    QSpinBox *cpusBox() const { return cpus_; }
    QSpinBox *gpusBox() const { return gpus_; }
    // One line each: "--mem=8G" or "#SBATCH ..." become #SBATCH lines, anything else runs before the point.
    QPlainTextEdit *linesEdit() const { return lines_; }

    // The options as the boxes say (the runner is the caller's).
    distillery::SlurmOptions options() const;
    // What keeps them from being submitted ("" when nothing, or when not on Slurm).
    QString problem() const;
    // Keeps the choice and the options for the next dialog.
    void remember() const;

Q_SIGNALS:
    // The choice or an option changed.
    void changed();

private:
    QComboBox *runOn_;
    QLineEdit *partition_, *time_;
    QSpinBox *cpus_, *gpus_;
    QPlainTextEdit *lines_;
};
