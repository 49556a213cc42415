// Training settings of one stage: epochs, batch, optimiser, schedule.
#pragma once

#include "distillery/experiment.h"

#include <QGroupBox>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QSpinBox;

class TrainEditor : public QGroupBox {
    Q_OBJECT
public:
    explicit TrainEditor(const QString &title, QWidget *parent = nullptr);
    void setConfig(const distillery::TrainConfig &c);
    distillery::TrainConfig config() const;

Q_SIGNALS:
    void changed();

private:
    void updateEnabled();

    distillery::TrainConfig base_;
    QSpinBox *epochs_;
    QSpinBox *batch_;
    QComboBox *optimizer_;
    QDoubleSpinBox *lr_;
    QDoubleSpinBox *momentum_;
    QCheckBox *nesterov_;
    QDoubleSpinBox *weightDecay_;
    QComboBox *schedule_;
    QDoubleSpinBox *warmup_;
};
