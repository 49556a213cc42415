#include "distillationeditor.h"

#include "distillery/engine.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpacerItem>

#include <algorithm>
#include <cmath>
#include <utility>

using namespace distillery;

namespace {

// The temperature slider is logarithmic: 0.5 to 50.
int temperatureToSlider(double t) { return int(std::lround(std::log10(std::clamp(t, 0.5, 50.0) / 0.5) * 50)); }
double sliderToTemperature(int v) { return 0.5 * std::pow(10.0, v / 50.0); }

// A form label whose mnemonic (Alt+letter) reaches `buddy`.
QLabel *buddyLabel(const QString &text, QWidget *buddy, QWidget *parent)
{
    auto *l = new QLabel(text, parent);
    l->setBuddy(buddy);
    return l;
}

QString q(const std::string &s) { return QString::fromStdString(s); }

// What a method computes and where it comes from, for its tooltips.
QString methodTip(const MethodInfo &m)
{
    return QObject::tr("<p><b>%1</b></p><p>loss = %2</p><p>%3</p>")
        .arg(q(m.title).toHtmlEscaped(), q(m.formula).toHtmlEscaped(), q(m.reference).toHtmlEscaped());
}

// Enough decimals (2 to 4) to show both the default and `value` exactly: a
// value loaded from a file is not rounded by the spin box.
int decimalsFor(const MethodParam &p, double value)
{
    int d = 2;
    for (double v : {p.defaultValue, value})
        while (d < 4 && std::abs(v * std::pow(10.0, d) - std::round(v * std::pow(10.0, d))) > 1e-9)
            ++d;
    return d;
}

} // namespace

DistillationEditor::DistillationEditor(QWidget *parent) : QGroupBox(tr("Distillation"), parent)
{
    form_ = new QFormLayout(this);
    form_->setVerticalSpacing(4);
    method_ = new QComboBox(this);
    for (const MethodInfo &m : distillationMethods()) {
        method_->addItem(q(m.title), q(m.name));
        method_->setItemData(method_->count() - 1, methodTip(m), Qt::ToolTipRole);
    }
    // Alt+M, Alt+G, Alt+T, Alt+W and Alt+O reach the fields from the keyboard.
    form_->addRow(buddyLabel(tr("&Method"), method_, this), method_);
    makeSoftening(form_);
    baseline_ = new QCheckBox(tr("Baseline student"), this);
    baseline_->setToolTip(tr("Also train the student on the labels alone, with the same budget: without it nobody "
                             "can tell whether distillation helped"));
    teacherOutputs_ = new QComboBox(this);
    teacherOutputs_->addItem(tr("cached"), QStringLiteral("cached"));
    teacherOutputs_->addItem(tr("cached, approximate"), QStringLiteral("approximate"));
    teacherOutputs_->addItem(tr("per batch"), QStringLiteral("off"));
    teacherOutputs_->setToolTip(tr("<p><b>cached</b>: the frozen teacher's logits are computed once and reused every "
                                   "epoch; exact, and much faster, while the students' inputs are not augmented "
                                   "(else the teacher runs per batch).</p><p><b>cached, approximate</b>: computed "
                                   "once even then, for the unaugmented inputs: fast, but not the inputs the "
                                   "students see.</p><p><b>per batch</b>: the teacher runs on every batch.</p>"));
    cacheReason_ = new QLabel(this);
    cacheReason_->setWordWrap(true);
    cacheReason_->setForegroundRole(QPalette::PlaceholderText); // an explanation, quieter than the fields
    generations_ = new QSpinBox(this);
    generations_->setRange(1, 20);
    generations_->setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Fixed);
    generations_->setToolTip(tr("<p>Born-again generations (Furlanello et al. 2018): after this run, a run per "
                                "further generation whose teacher is the previous generation's distilled "
                                "student, each student from the same initial weights with the same settings, "
                                "the baseline trained once.</p><p>1: one run, the teacher above.</p>"));
    auto *checks = new QHBoxLayout;
    checks->addWidget(baseline_);
    checks->addStretch();
    checks->addWidget(buddyLabel(tr("Teacher &outputs"), teacherOutputs_, this));
    checks->addWidget(teacherOutputs_);
    form_->addRow(checks);
    form_->addRow(buddyLabel(tr("&Generations"), generations_, this), generations_);
    form_->addRow(cacheReason_);
    pairing_ = new PairingEditor(this);
    form_->addRow(tr("Pairs"), pairing_);
    connect(pairing_, &PairingEditor::changed, this, [this] { Q_EMIT changed(); });
    schedules_ = new ScheduleEditor(this);
    form_->addRow(schedules_);
    connect(schedules_, &ScheduleEditor::changed, this, [this] { Q_EMIT changed(); });

    linkSliders();
    connect(baseline_, &QCheckBox::toggled, this, [this] { Q_EMIT changed(); });
    connect(generations_, qOverload<int>(&QSpinBox::valueChanged), this, [this] { Q_EMIT changed(); });
    connect(teacherOutputs_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { Q_EMIT changed(); });
    connect(method_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        showMethod(method_->currentData().toString());
        Q_EMIT changed();
    });
    showMethod(method_->currentData().toString());
}

void DistillationEditor::makeSoftening(QFormLayout *f)
{
    temperature_ = new QDoubleSpinBox(this);
    temperature_->setRange(0.05, 100.0);
    temperature_->setDecimals(2);
    temperature_->setSingleStep(0.5);
    temperatureSlider_ = new QSlider(Qt::Horizontal, this);
    temperatureSlider_->setRange(0, 100);
    alpha_ = new QDoubleSpinBox(this);
    alpha_->setRange(0.0, 1.0);
    alpha_->setDecimals(2);
    alpha_->setSingleStep(0.05);
    alphaSlider_ = new QSlider(Qt::Horizontal, this);
    alphaSlider_->setRange(0, 100);
    auto pair = [](QSlider *s, QDoubleSpinBox *b) {
        QWidget::setTabOrder(s, b); // left to right, as they are shown
        auto *row = new QHBoxLayout;
        row->addWidget(s, 1);
        row->addWidget(b);
        return row;
    };
    temperatureRow_ = pair(temperatureSlider_, temperature_);
    switches_ = new QHBoxLayout;
    temperatureRow_->addLayout(switches_);
    f->addRow(buddyLabel(tr("&Temperature T"), temperature_, this), temperatureRow_);
    // As wide as the switches beside T, so the two sliders and spin boxes line up.
    alphaRow_ = pair(alphaSlider_, alpha_);
    alphaPad_ = new QSpacerItem(0, 0, QSizePolicy::Fixed, QSizePolicy::Minimum);
    alphaRow_->addSpacerItem(alphaPad_);
    alphaLabel_ = buddyLabel(tr("Soft &weight α"), alpha_, this);
    f->addRow(alphaLabel_, alphaRow_);
}

void DistillationEditor::linkSliders()
{
    // Each slider and its spin box show the same value; the box holds it.
    connect(temperatureSlider_, &QSlider::valueChanged, this, [this](int v) {
        if (temperatureToSlider(temperature_->value()) != v)
            temperature_->setValue(sliderToTemperature(v));
    });
    connect(temperature_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this](double t) {
        const QSignalBlocker block(temperatureSlider_);
        temperatureSlider_->setValue(temperatureToSlider(t));
        Q_EMIT changed();
    });
    connect(alphaSlider_, &QSlider::valueChanged, this, [this](int v) {
        if (int(std::lround(alpha_->value() * 100)) != v)
            alpha_->setValue(v / 100.0);
    });
    connect(alpha_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this](double a) {
        const QSignalBlocker block(alphaSlider_);
        alphaSlider_->setValue(int(std::lround(a * 100)));
        Q_EMIT changed();
    });
}

void DistillationEditor::setExperiment(const Experiment &e)
{
    const QSignalBlocker block(this); // filled, not edited
    const QString method = q(e.distillation.method);
    if (method_->findData(method) < 0)
        method_->addItem(method, method); // kept as loaded; the engine says if it knows it
    {
        const QSignalBlocker quiet(method_);
        method_->setCurrentIndex(method_->findData(method));
    }
    // A new experiment: the values other methods had belong to the last one.
    kept_.clear();
    shown_.clear();
    kept_[method] = e.distillation.params;
    showMethod(method);
    pairing_->setPairs(e.distillation.pairs);
    schedules_->setSettings(e.distillation);
    schedules_->setSchedules(e.distillation.schedules);
    temperature_->setValue(e.distillation.temperature);
    alpha_->setValue(e.distillation.alpha);
    baseline_->setChecked(e.baseline);
    generations_->setValue(e.distillation.generations);
    teacherOutputs_->setCurrentIndex(teacherOutputs_->findData(
        !e.distillation.teacherCache ? QStringLiteral("off")
                                     : e.distillation.approximateCache ? QStringLiteral("approximate")
                                                                       : QStringLiteral("cached")));
}

void DistillationEditor::apply(Experiment &e) const
{
    e.distillation.method = method_->currentData().toString().toStdString();
    // Only the chosen method's keys: another method's are an error in the file.
    if (const MethodInfo *m = findMethod(e.distillation.method)) {
        e.distillation.params = shownParams();
        e.distillation.pairs = m->usesFeatures() ? pairing_->pairs() : std::vector<FeaturePair>{};
        e.distillation.schedules = schedules_->schedules();
    }
    e.distillation.temperature = temperature_->value();
    e.distillation.alpha = alpha_->value();
    e.baseline = baseline_->isChecked();
    e.distillation.generations = trainsWithoutTeacher(e.distillation) ? 1 : generations_->value();
    e.distillation.generation = std::min(e.distillation.generation, e.distillation.generations);
    const QString outputs = teacherOutputs_->currentData().toString();
    e.distillation.teacherCache = outputs != QLatin1String("off");
    e.distillation.approximateCache = outputs == QLatin1String("approximate");
}

void DistillationEditor::showMethod(const QString &method)
{
    if (!shown_.isEmpty())
        kept_[shown_] = shownParams();
    clearParamFields();
    shown_ = method;
    if (const MethodInfo *m = findMethod(method.toStdString())) {
        const auto values = kept_.value(method);
        for (const MethodParam &p : m->params) {
            const auto it = values.find(p.key);
            addParamField(p, it != values.end() ? it->second : p.defaultValue);
        }
    }
    orderParamFields();
    lineUpFields();
    describeMethod();
    const MethodInfo *m = findMethod(method.toStdString());
    pairing_->setMethod(method.toStdString());
    form_->setRowVisible(pairing_, m && m->usesFeatures());
    // Features are not cached (per batch); mutual learning has no teacher.
    teacherOutputs_->setEnabled(!m || (!m->usesFeatures() && !m->online));
    generations_->setEnabled(!m || !m->online); // each generation's teacher is the last one's student
    DistillConfig settings;
    settings.method = method.toStdString();
    settings.temperature = temperature_->value();
    settings.alpha = alpha_->value();
    settings.params = shownParams();
    schedules_->setSettings(settings); // its rows for settings the method lacks go
}

void DistillationEditor::lineUpFields()
{
    // The numbers in one column of one width.
    int numberWidth = 0;
    for (const auto &[key, field] : std::as_const(fields_))
        if (qobject_cast<QDoubleSpinBox *>(field))
            numberWidth = std::max(numberWidth, field->sizeHint().width());
    for (const auto &[key, field] : std::as_const(fields_))
        if (qobject_cast<QDoubleSpinBox *>(field))
            field->setFixedWidth(numberWidth);
    // α's slider and spin box under T's, whatever switches follow T.
    const int switchesWidth = switches_->isEmpty() ? 0 : switches_->sizeHint().width() + temperatureRow_->spacing();
    alphaPad_->changeSize(switchesWidth, 0, QSizePolicy::Fixed, QSizePolicy::Minimum);
    alphaRow_->invalidate();
    form_->invalidate();
}

void DistillationEditor::clearParamFields()
{
    for (const auto &[key, field] : std::as_const(fields_)) {
        if (qobject_cast<QCheckBox *>(field))
            delete field; // leaves the switches' row by itself
        else
            form_->removeRow(field); // the label with it
    }
    fields_.clear();
}

void DistillationEditor::addParamField(const MethodParam &p, double value)
{
    const QString defaultText = p.isSwitch ? (p.defaultValue != 0 ? tr("on") : tr("off"))
                                           : QString::number(p.defaultValue);
    const QString tip = tr("<p>%1</p><p>Default: %2</p>").arg(q(p.help).toHtmlEscaped(), defaultText);
    QString label = q(p.label);
    label.replace(QLatin1Char('&'), QStringLiteral("&&")); // no mnemonic of its own
    if (p.isSwitch) {
        // Switches sit on the temperature row: the one there is (logit
        // standardisation) changes how the logits are softened, and kd, which
        // has no other parameter, keeps the height it had.
        auto *box = new QCheckBox(label, this);
        box->setChecked(value != 0);
        box->setToolTip(tip);
        switches_->addWidget(box);
        connect(box, &QCheckBox::toggled, this, [this] { Q_EMIT changed(); });
        fields_.append({p.key, box});
        return;
    }
    auto *spin = new QDoubleSpinBox(this);
    spin->setDecimals(p.whole ? 0 : decimalsFor(p, value));
    spin->setRange(p.min, p.max);
    spin->setSingleStep(p.defaultValue >= 2 ? 1.0 : 0.1);
    spin->setValue(value);
    spin->setToolTip(tip);
    spin->setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Fixed); // a number, not a line across the box
    auto *l = buddyLabel(label, spin, this);
    l->setToolTip(tip);
    const auto numbers = std::count_if(fields_.begin(), fields_.end(),
                                       [](const auto &f) { return qobject_cast<QDoubleSpinBox *>(f.second); });
    form_->insertRow(1 + int(numbers), l, spin); // under the method, in the method's order
    connect(spin, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this] { Q_EMIT changed(); });
    fields_.append({p.key, spin});
}

void DistillationEditor::orderParamFields()
{
    // New fields join the end of the window's tab chain; put them where they are shown.
    QWidget *lastNumber = method_;
    QWidget *lastSwitch = temperature_;
    for (const auto &[key, field] : std::as_const(fields_)) {
        QWidget *&last = qobject_cast<QCheckBox *>(field) ? lastSwitch : lastNumber;
        QWidget::setTabOrder(last, field);
        last = field;
    }
}

std::map<std::string, double> DistillationEditor::shownParams() const
{
    std::map<std::string, double> params;
    for (const auto &[key, field] : fields_) {
        if (auto *box = qobject_cast<QCheckBox *>(field))
            params[key] = box->isChecked() ? 1.0 : 0.0;
        else
            params[key] = static_cast<QDoubleSpinBox *>(field)->value();
    }
    return params;
}

QWidget *DistillationEditor::paramField(const QString &key) const
{
    for (const auto &[k, field] : fields_)
        if (q(k) == key)
            return field;
    return nullptr;
}

QList<QWidget *> DistillationEditor::paramFields() const
{
    QList<QWidget *> out;
    for (const auto &f : fields_)
        out << f.second;
    return out;
}

void DistillationEditor::describeMethod()
{
    const MethodInfo *m = findMethod(shown_.toStdString());
    method_->setToolTip(m ? methodTip(*m) : tr("How the student learns from the teacher"));
    const QString formula = m ? tr("<p>loss = %1</p>").arg(q(m->formula).toHtmlEscaped()) : QString();
    const QString tTip = formula + tr("<p><b>Temperature T</b> softens the teacher's probabilities: higher T shows "
                                      "more of how the teacher ranks the wrong classes (its \"dark knowledge\"). "
                                      "The T² factor keeps the soft term's gradients the same size as T changes.</p>");
    temperature_->setToolTip(tTip);
    temperatureSlider_->setToolTip(tTip);
    // A method that does not use α keeps its value (for switching back) but
    // shows it cannot be set.
    const bool usesAlpha = !m || m->usesAlpha;
    const QString aTip = usesAlpha ? formula + tr("<p><b>α</b> weighs the soft (teacher) term against the hard "
                                                  "labels: 0 trains on labels alone, 1 on the teacher alone.</p>")
                                   : tr("<p>Not used by %1: the method weighs its terms with its own parameters, "
                                        "above.</p>").arg(q(m->title).toHtmlEscaped());
    for (QWidget *w : {static_cast<QWidget *>(alpha_), static_cast<QWidget *>(alphaSlider_),
                       static_cast<QWidget *>(alphaLabel_)}) {
        w->setEnabled(usesAlpha);
        w->setToolTip(aTip);
    }
}
