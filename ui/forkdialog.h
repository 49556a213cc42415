// "Fork from epoch…": a run's distilled student continued from one of its
// epochs as a new run, with changed T, α, learning rate, epochs or any other
// distillation.* / student.train.* setting (distillery/fork.h).
#pragma once

#include "distillery/experiment.h"

#include <QDialog>
#include <QString>

#include <string>
#include <vector>

class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QSpinBox;

class ForkDialog : public QDialog {
    Q_OBJECT
public:
    // `runDir` must have kept epochs (forkableEpochs).
    explicit ForkDialog(const QString &runDir, QWidget *parent = nullptr);

    int epoch() const;
    // The --set assignments of what the user changed, then the extra ones typed.
    std::vector<std::string> overrides() const;

    QSpinBox *epochBox() const { return epoch_; }
    QDoubleSpinBox *temperatureBox() const { return temperature_; }
    QDoubleSpinBox *alphaBox() const { return alpha_; }
    QDoubleSpinBox *learningRateBox() const { return lr_; }
    QSpinBox *epochsBox() const { return epochs_; }
    QLineEdit *moreEdit() const { return more_; }

private:
    distillery::Experiment config_;
    QSpinBox *epoch_;
    QDoubleSpinBox *temperature_;
    QDoubleSpinBox *alpha_;
    QDoubleSpinBox *lr_;
    QSpinBox *epochs_;
    QLineEdit *more_;
};
