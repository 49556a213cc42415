#include "augmentationeditor.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QSignalBlocker>
#include <QSpinBox>

using namespace distillery;

namespace {

QDoubleSpinBox *alphaBox(QWidget *parent)
{
    auto *box = new QDoubleSpinBox(parent);
    box->setRange(0.0, 100.0);
    box->setDecimals(2);
    box->setSingleStep(0.1);
    box->setSpecialValueText(QObject::tr("off"));
    return box;
}

} // namespace

AugmentationEditor::AugmentationEditor(QWidget *parent)
    : FoldSection(parent), crop_(new QSpinBox), flip_(new QCheckBox(tr("Horizontal flip"))), jitter_(new QSpinBox),
      erase_(new QDoubleSpinBox), mixup_(alphaBox(nullptr)), cutmix_(alphaBox(nullptr))
{
    crop_->setRange(0, 64);
    crop_->setSpecialValueText(tr("off"));
    crop_->setSuffix(tr(" px"));
    jitter_->setRange(0, 16);
    jitter_->setSpecialValueText(tr("off"));
    jitter_->setSuffix(tr(" px"));
    erase_->setRange(0.0, 1.0);
    erase_->setSingleStep(0.05);
    erase_->setSpecialValueText(tr("off"));
    tips_[crop_] = tr("Random crop: each side padded with this many black pixels, then cropped back to the image's "
                      "size at a random place (torchvision's RandomCrop(size, padding)); 4 is usual for 32×32 images");
    tips_[flip_] = tr("Each image mirrored left to right with probability ½ (torchvision's RandomHorizontalFlip). "
                      "Not for data whose sides matter, such as digits or letters");
    tips_[jitter_] = tr("Each image shifted by up to this many pixels each way, zeros shifted in, as the MNIST "
                        "teacher of Hinton et al. 2015 was trained (2 pixels)");
    tips_[erase_] = tr("Random erasing: with this probability a rectangle of 2–33% of the image (aspect 0.3–3.3) is "
                       "set to the mean (Zhong et al. 2020; torchvision's RandomErasing, p = 0.5 there)");
    tips_[mixup_] = tr("Mixup (Zhang et al. 2018): pairs of samples and their labels mixed by λ ~ Beta(α, α); "
                       "images or vectors. α of 0.2 to 1 is usual");
    tips_[cutmix_] = tr("CutMix (Yun et al. 2019): a rectangle of another image pasted in, the labels mixed by its "
                        "area, λ ~ Beta(α, α); α = 1 is usual. With mixup on too, each batch uses one of them at "
                        "even odds");
    for (auto it = tips_.cbegin(); it != tips_.cend(); ++it)
        it.key()->setToolTip(it.value());
    auto *box = new QWidget;
    auto *f = new QFormLayout(box);
    f->setContentsMargins(18, 0, 0, 0);
    f->addRow(tr("Crop padding"), crop_);
    f->addRow(QString(), flip_);
    f->addRow(tr("Jitter"), jitter_);
    f->addRow(tr("Random erasing"), erase_);
    f->addRow(tr("Mixup α"), mixup_);
    f->addRow(tr("CutMix α"), cutmix_);
    setContent(box);

    auto edited = [this] {
        updateSummary();
        Q_EMIT changed();
    };
    for (QSpinBox *b : {crop_, jitter_})
        connect(b, qOverload<int>(&QSpinBox::valueChanged), this, edited);
    for (QDoubleSpinBox *b : {erase_, mixup_, cutmix_})
        connect(b, qOverload<double>(&QDoubleSpinBox::valueChanged), this, edited);
    connect(flip_, &QCheckBox::toggled, this, edited);
    updateSummary();
}

void AugmentationEditor::setConfig(const TrainConfig &c)
{
    const QList<QWidget *> all{crop_, flip_, jitter_, erase_, mixup_, cutmix_};
    for (QWidget *w : all)
        w->blockSignals(true);
    crop_->setValue(c.crop);
    flip_->setChecked(c.flip);
    jitter_->setValue(c.jitter);
    erase_->setValue(c.erase);
    mixup_->setValue(c.mixup);
    cutmix_->setValue(c.cutmix);
    for (QWidget *w : all)
        w->blockSignals(false);
    updateSummary();
}

void AugmentationEditor::apply(TrainConfig &c) const
{
    c.crop = crop_->value();
    c.flip = flip_->isChecked();
    c.jitter = jitter_->value();
    c.erase = erase_->value();
    c.mixup = mixup_->value();
    c.cutmix = cutmix_->value();
}

void AugmentationEditor::setInputShape(const Shape &shape)
{
    // Images are channels × height × width; mixup mixes vectors as well.
    const bool vectors = shape.size() == 1;
    const QString why = tr("For images only: the data are vectors of %1 features").arg(vectors ? shape[0] : 0);
    for (QWidget *w : {static_cast<QWidget *>(crop_), static_cast<QWidget *>(flip_), static_cast<QWidget *>(jitter_),
                       static_cast<QWidget *>(erase_), static_cast<QWidget *>(cutmix_)}) {
        w->setEnabled(!vectors);
        w->setToolTip(vectors ? why : tips_.value(w));
    }
}

void AugmentationEditor::updateSummary()
{
    TrainConfig c;
    apply(c);
    QStringList on;
    if (c.crop > 0)
        on << tr("crop %1").arg(c.crop);
    if (c.flip)
        on << tr("flip");
    if (c.jitter > 0)
        on << tr("jitter %1").arg(c.jitter);
    if (c.erase > 0)
        on << tr("erase %1").arg(c.erase);
    if (c.mixup > 0)
        on << tr("mixup %1").arg(c.mixup);
    if (c.cutmix > 0)
        on << tr("cutmix %1").arg(c.cutmix);
    setSummary(tr("Augmentation: %1").arg(on.isEmpty() ? tr("none") : on.join(QStringLiteral(" · "))));
}
