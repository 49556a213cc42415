// Where and how an experiment runs: device, precision, threads, and the seed.
// A secondary matter beside what is distilled into what, so it is one folded
// line at the end of the set-up panel ("Machine: auto · float32 · all cores").
#pragma once

#include "foldsection.h"

#include "distillery/experiment.h"

class QComboBox;
class QSpinBox;

class MachineEditor : public FoldSection {
    Q_OBJECT
public:
    explicit MachineEditor(QWidget *parent = nullptr);

    void setExperiment(const distillery::Experiment &e);
    // Writes its fields into `e`.
    void apply(distillery::Experiment &e) const;

Q_SIGNALS:
    void changed();

private:
    void updateSummary();

    QComboBox *device_;
    QComboBox *precision_;
    QSpinBox *threads_;
    QSpinBox *processes_;
    QSpinBox *blasThreads_;
    QSpinBox *seed_;
};
