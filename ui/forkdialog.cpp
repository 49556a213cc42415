#include "forkdialog.h"

#include "distillery/fork.h"
#include "distillery/methods.h"

#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

using namespace distillery;

namespace {

std::string number(double v)
{
    return QString::number(v, 'g', 10).toStdString();
}

} // namespace

ForkDialog::ForkDialog(const QString &runDir, QWidget *parent)
    : QDialog(parent), epoch_(new QSpinBox(this)), temperature_(new QDoubleSpinBox(this)),
      alpha_(new QDoubleSpinBox(this)), lr_(new QDoubleSpinBox(this)), epochs_(new QSpinBox(this)),
      more_(new QLineEdit(this))
{
    setWindowTitle(tr("Fork %1").arg(QFileInfo(runDir).fileName()));
    try {
        config_ = loadExperiment((runDir + QStringLiteral("/config.json")).toStdString());
    } catch (const ConfigError &) {
        // The fork itself names the damaged file when it is made.
    }
    const std::vector<int> kept = forkableEpochs(runDir.toStdString());
    epoch_->setRange(kept.empty() ? 0 : kept.front(), kept.empty() ? 0 : kept.back());
    epoch_->setValue(kept.empty() ? 0 : kept[kept.size() / 2]);
    epoch_->setToolTip(tr("The distilled student continues from the end of this epoch (epochs %1 to %2 were kept)")
                           .arg(epoch_->minimum())
                           .arg(epoch_->maximum()));
    temperature_->setRange(0.01, 1000);
    temperature_->setDecimals(2);
    temperature_->setValue(config_.distillation.temperature);
    alpha_->setRange(0, 1);
    alpha_->setDecimals(3);
    alpha_->setSingleStep(0.05);
    alpha_->setValue(config_.distillation.alpha);
    const MethodInfo *method = findMethod(config_.distillation.method);
    alpha_->setEnabled(!method || method->usesAlpha);
    lr_->setRange(1e-6, 10);
    lr_->setDecimals(6);
    lr_->setValue(config_.studentTrain.lr);
    epochs_->setRange(1, 100000);
    epochs_->setValue(config_.studentTrain.epochs);
    more_->setPlaceholderText(tr("e.g. distillation.params.beta=8, student.train.weight_decay=0"));
    more_->setToolTip(tr("More distillation.* or student.train.* settings, as key=value, separated by commas"));

    auto *form = new QFormLayout;
    form->addRow(tr("Continue after epoch"), epoch_);
    form->addRow(tr("Temperature T"), temperature_);
    form->addRow(tr("α (weight of the soft term)"), alpha_);
    form->addRow(tr("Learning rate"), lr_);
    form->addRow(tr("Epochs in all"), epochs_);
    form->addRow(tr("More settings"), more_);
    auto *note = new QLabel(tr("The new run takes over this run's teacher and baseline and its student's state at "
                               "that epoch; it records where it was forked from and is listed under it."),
                            this);
    note->setWordWrap(true);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Fork and train"));
    buttons->button(QDialogButtonBox::Ok)->setEnabled(!kept.empty());
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(note);
    layout->addLayout(form);
    layout->addWidget(buttons);
}

int ForkDialog::epoch() const
{
    return epoch_->value();
}

std::vector<std::string> ForkDialog::overrides() const
{
    std::vector<std::string> o;
    const auto changed = [](double a, double b) { return std::abs(a - b) > 1e-12 * std::max(1.0, std::abs(b)); };
    if (changed(temperature_->value(), config_.distillation.temperature))
        o.push_back("distillation.temperature=" + number(temperature_->value()));
    if (alpha_->isEnabled() && changed(alpha_->value(), config_.distillation.alpha))
        o.push_back("distillation.alpha=" + number(alpha_->value()));
    if (changed(lr_->value(), config_.studentTrain.lr))
        o.push_back("student.train.lr=" + number(lr_->value()));
    if (epochs_->value() != config_.studentTrain.epochs)
        o.push_back("student.train.epochs=" + std::to_string(epochs_->value()));
    for (const QString &part : more_->text().split(QLatin1Char(','), Qt::SkipEmptyParts))
        if (!part.trimmed().isEmpty())
            o.push_back(part.trimmed().toStdString());
    return o;
}
