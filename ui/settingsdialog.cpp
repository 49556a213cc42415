#include "settingsdialog.h"

#include "distillery/methods.h"

#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QPushButton>
#include <QLabel>
#include <QVBoxLayout>

using namespace distillery;

namespace {

// The label, range and help of a setting, as the experiment panel shows them.
struct SettingView {
    QString label;
    double min, max;
    QString help;
};

SettingView viewOf(const DistillConfig &c, const std::string &key)
{
    if (key == "temperature")
        return {QObject::tr("Temperature T"), 0.01, 1000.0, QObject::tr("Softens both models' outputs")};
    if (key == "alpha" && findMethod(c.method)->usesAlpha)
        return {QObject::tr("Soft weight α"), 0.0, 1.0, QObject::tr("The soft (teacher) term's weight against the labels")};
    for (const auto &p : findMethod(c.method)->params)
        if (p.key == key)
            return {QString::fromStdString(p.label), p.min, p.max, QString::fromStdString(p.help)};
    return {QString::fromStdString(key), 0.0, 1e6, {}};
}

} // namespace

SettingsDialog::SettingsDialog(const DistillConfig &settings, QWidget *parent) : QDialog(parent)
{
    setWindowTitle(tr("Change settings while training"));
    auto *layout = new QVBoxLayout(this);
    auto *note = new QLabel(tr("Takes effect at the distillation stage's next step (its first, if it has not begun), "
                               "is recorded in the run and marked on the plots. A scheduled setting keeps the value "
                               "you give it from then on."),
                            this);
    note->setWordWrap(true);
    layout->addWidget(note);
    auto *form = new QFormLayout;
    for (const auto &key : adjustableSettings(settings)) {
        const SettingView v = viewOf(settings, key);
        auto *box = new QDoubleSpinBox(this);
        box->setDecimals(4);
        box->setRange(v.min, v.max);
        const double value = distillSetting(settings, key);
        box->setValue(value);
        box->setToolTip(v.help);
        form->addRow(v.label, box);
        fields_.append({QString::fromStdString(key), value, box});
    }
    layout->addLayout(form);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Change"));
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
}

std::vector<std::pair<QString, double>> SettingsDialog::changes() const
{
    std::vector<std::pair<QString, double>> out;
    for (const auto &f : fields_)
        if (f.box->value() != f.initial)
            out.emplace_back(f.key, f.box->value());
    return out;
}

QDoubleSpinBox *SettingsDialog::field(const QString &key) const
{
    for (const auto &f : fields_)
        if (f.key == key)
            return f.box;
    return nullptr;
}
