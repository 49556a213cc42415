// Training settings of one stage: epochs, batch, optimiser, schedule, the
// max-norm constraint and, folded inside, the augmentation of its inputs.
// Folded to a line that names them ("15 epochs · sgd, lr 0.05 · cosine ·
// batch 128") until the user opens it.
#pragma once

#include "distillery/architecture.h"
#include "distillery/experiment.h"

#include <QWidget>

class AugmentationEditor;
class FoldSection;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QSpinBox;

class TrainEditor : public QWidget {
    Q_OBJECT
public:
    explicit TrainEditor(const QString &title, QWidget *parent = nullptr);
    void setConfig(const distillery::TrainConfig &c);
    distillery::TrainConfig config() const;
    FoldSection *section() const { return section_; }
    AugmentationEditor *augmentation() const { return augmentation_; }
    QDoubleSpinBox *maxNormBox() const { return maxNorm_; }
    // The shape of one input, when the data set is loaded: the image-only
    // augmentations are disabled for vectors.
    void setInputShape(const distillery::Shape &shape);

Q_SIGNALS:
    void changed();

private:
    void updateEnabled();
    void updateSummary();

    QString title_;
    FoldSection *section_;
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
    QDoubleSpinBox *maxNorm_;
    AugmentationEditor *augmentation_;
};
