#include "traineditor.h"

#include "augmentationeditor.h"
#include "foldsection.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QSpinBox>
#include <QVBoxLayout>

TrainEditor::TrainEditor(const QString &title, QWidget *parent)
    : QWidget(parent), title_(title), section_(new FoldSection(this)), epochs_(new QSpinBox), batch_(new QSpinBox),
      optimizer_(new QComboBox), lr_(new QDoubleSpinBox), momentum_(new QDoubleSpinBox),
      nesterov_(new QCheckBox(tr("Nesterov"))), weightDecay_(new QDoubleSpinBox), schedule_(new QComboBox),
      warmup_(new QDoubleSpinBox), maxNorm_(new QDoubleSpinBox), augmentation_(new AugmentationEditor)
{
    epochs_->setRange(1, 100000);
    batch_->setRange(1, 65536);
    optimizer_->addItems({QStringLiteral("sgd"), QStringLiteral("adam"), QStringLiteral("adamw")});
    lr_->setDecimals(5);
    lr_->setRange(0.00001, 10.0);
    lr_->setSingleStep(0.001);
    momentum_->setRange(0.0, 0.999);
    momentum_->setSingleStep(0.05);
    weightDecay_->setDecimals(5);
    weightDecay_->setRange(0.0, 1.0);
    weightDecay_->setSingleStep(0.0001);
    schedule_->addItems({QStringLiteral("constant"), QStringLiteral("step"), QStringLiteral("cosine")});
    schedule_->setToolTip(tr("How the learning rate changes: constant, divided by 10 every few epochs (step), "
                             "or a cosine decay to zero"));
    warmup_->setRange(0.0, 1000.0);
    warmup_->setSingleStep(0.5);
    warmup_->setToolTip(tr("Epochs of linear warm-up from zero to the learning rate"));
    maxNorm_->setRange(0.0, 1000.0);
    maxNorm_->setDecimals(3);
    maxNorm_->setSingleStep(0.5);
    maxNorm_->setSpecialValueText(tr("off"));
    maxNorm_->setToolTip(tr("After every step, each unit's incoming weights (linear and convolution layers) are "
                            "scaled down to this length where longer: the constraint used with dropout by Hinton "
                            "et al. 2012; 3 to 4 is usual (Srivastava et al. 2014)"));
    auto *form = new QWidget;
    auto *f = new QFormLayout(form);
    f->setContentsMargins(18, 0, 0, 4); // under the arrow, as a tree's children
    f->addRow(tr("Epochs"), epochs_);
    f->addRow(tr("Batch size"), batch_);
    f->addRow(tr("Optimizer"), optimizer_);
    f->addRow(tr("Learning rate"), lr_);
    f->addRow(tr("Momentum"), momentum_);
    f->addRow(QString(), nesterov_);
    f->addRow(tr("Weight decay"), weightDecay_);
    f->addRow(tr("Max-norm"), maxNorm_);
    f->addRow(tr("Schedule"), schedule_);
    f->addRow(tr("Warm-up epochs"), warmup_);
    f->addRow(augmentation_);
    section_->setContent(form);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(section_);

    auto emitChanged = [this] { updateSummary(); Q_EMIT changed(); };
    connect(epochs_, qOverload<int>(&QSpinBox::valueChanged), this, emitChanged);
    connect(batch_, qOverload<int>(&QSpinBox::valueChanged), this, emitChanged);
    connect(optimizer_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        updateEnabled();
        updateSummary();
        Q_EMIT changed();
    });
    for (auto *box : {lr_, momentum_, weightDecay_, warmup_, maxNorm_})
        connect(box, qOverload<double>(&QDoubleSpinBox::valueChanged), this, emitChanged);
    connect(nesterov_, &QCheckBox::toggled, this, emitChanged);
    connect(schedule_, qOverload<int>(&QComboBox::currentIndexChanged), this, emitChanged);
    connect(augmentation_, &AugmentationEditor::changed, this, emitChanged);
}

void TrainEditor::setConfig(const distillery::TrainConfig &c)
{
    const QSignalBlocker b(this);
    base_ = c;
    const QList<QWidget *> all{epochs_, batch_, optimizer_, lr_, momentum_, nesterov_, weightDecay_, schedule_,
                               warmup_, maxNorm_};
    for (auto *w : all)
        w->blockSignals(true);
    epochs_->setValue(c.epochs);
    batch_->setValue(c.batchSize);
    optimizer_->setCurrentText(QString::fromStdString(c.optimizer));
    lr_->setValue(c.lr);
    momentum_->setValue(c.momentum);
    nesterov_->setChecked(c.nesterov);
    weightDecay_->setValue(c.weightDecay);
    schedule_->setCurrentText(QString::fromStdString(c.schedule));
    warmup_->setValue(c.warmupEpochs);
    maxNorm_->setValue(c.maxNorm);
    for (auto *w : all)
        w->blockSignals(false);
    augmentation_->setConfig(c);
    updateEnabled();
    updateSummary();
}

distillery::TrainConfig TrainEditor::config() const
{
    distillery::TrainConfig c = base_;
    c.epochs = epochs_->value();
    c.batchSize = batch_->value();
    c.optimizer = optimizer_->currentText().toStdString();
    c.lr = lr_->value();
    c.momentum = momentum_->value();
    c.nesterov = nesterov_->isChecked();
    c.weightDecay = weightDecay_->value();
    c.schedule = schedule_->currentText().toStdString();
    c.warmupEpochs = warmup_->value();
    c.maxNorm = maxNorm_->value();
    augmentation_->apply(c);
    return c;
}

void TrainEditor::setInputShape(const distillery::Shape &shape)
{
    augmentation_->setInputShape(shape);
}

void TrainEditor::updateEnabled()
{
    const bool sgd = optimizer_->currentText() == QLatin1String("sgd");
    momentum_->setEnabled(sgd);
    nesterov_->setEnabled(sgd);
}

void TrainEditor::updateSummary()
{
    const distillery::TrainConfig c = config();
    const QString epochs = c.epochs == 1 ? tr("1 epoch") : tr("%1 epochs").arg(c.epochs);
    // Augmentation changes what the teacher's cache can do: named even folded.
    section_->setSummary(tr("%1: %2 · %3, lr %4 · %5 · batch %6")
                             .arg(title_, epochs, QString::fromStdString(c.optimizer), QString::number(c.lr),
                                  QString::fromStdString(c.schedule))
                             .arg(c.batchSize) +
                         (distillery::augmentsInputs(c) ? tr(" · augmented") : QString()));
}
