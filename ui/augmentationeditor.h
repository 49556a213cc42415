// How a stage's training inputs are augmented: random crop, flip, jitter,
// random erasing, mixup and CutMix. Folded to a line that names what is on
// ("Augmentation: crop 4 · flip · mixup 0.2"). The image-only ones are
// disabled, saying why, when the data are vectors.
#pragma once

#include "foldsection.h"

#include "distillery/architecture.h"
#include "distillery/experiment.h"

#include <QHash>

class QCheckBox;
class QDoubleSpinBox;
class QSpinBox;

class AugmentationEditor : public FoldSection {
    Q_OBJECT
public:
    explicit AugmentationEditor(QWidget *parent = nullptr);

    void setConfig(const distillery::TrainConfig &c);
    // Writes its fields into `c`.
    void apply(distillery::TrainConfig &c) const;
    // The shape of one input (channels, height, width for images); empty: not
    // known yet. Values of disabled fields are kept, and saved.
    void setInputShape(const distillery::Shape &shape);

    // Widgets tests drive.
    QSpinBox *cropBox() const { return crop_; }
    QCheckBox *flipBox() const { return flip_; }
    QSpinBox *jitterBox() const { return jitter_; }
    QDoubleSpinBox *eraseBox() const { return erase_; }
    QDoubleSpinBox *mixupBox() const { return mixup_; }
    QDoubleSpinBox *cutmixBox() const { return cutmix_; }

Q_SIGNALS:
    void changed();

private:
    void updateSummary();

    QSpinBox *crop_;
    QCheckBox *flip_;
    QSpinBox *jitter_;
    QDoubleSpinBox *erase_;
    QDoubleSpinBox *mixup_;
    QDoubleSpinBox *cutmix_;
    QHash<QWidget *, QString> tips_; // each field's own tool tip, while it is enabled
};
