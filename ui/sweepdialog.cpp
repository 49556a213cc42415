#include "sweepdialog.h"

#include "slurmoptionsbox.h"

#include "distillery/methods.h"
#include "distillery/runs.h"
#include "distillery/sweep.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QThread>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>

using namespace distillery;

namespace {

constexpr std::int64_t kLivePlanLimit = 2000; // above it, each setting is checked alone while editing

// An entry of a values list as JSON text: a number, true/false or a quoted
// string as written, any other word as a string.
QString jsonValue(const QString &item)
{
    const QJsonDocument d = QJsonDocument::fromJson((QLatin1Char('[') + item + QLatin1Char(']')).toUtf8());
    if (d.isArray() && d.array().size() == 1)
        return item;
    return QString::fromUtf8(QJsonDocument(QJsonArray{item}).toJson(QJsonDocument::Compact)).mid(1).chopped(1);
}

// 45 s, 12 min, 3 h 05 min.
QString roughDuration(double seconds)
{
    if (seconds < 90)
        return QObject::tr("%1 s").arg(std::lround(seconds));
    if (seconds < 90 * 60)
        return QObject::tr("%1 min").arg(std::lround(seconds / 60));
    const long minutes = std::lround(seconds / 60);
    return QObject::tr("%1 h %2 min").arg(minutes / 60).arg(minutes % 60, 2, 10, QLatin1Char('0'));
}

bool readNumber(const QString &text, double *v)
{
    bool ok = false;
    *v = text.trimmed().toDouble(&ok);
    return ok && std::isfinite(*v);
}

} // namespace

QStringList sweepableKeys(const DistillConfig &distillation)
{
    QStringList keys{QStringLiteral("distillation.temperature"), QStringLiteral("distillation.alpha")};
    if (const MethodInfo *m = findMethod(distillation.method))
        for (const MethodParam &p : m->params)
            keys << QStringLiteral("distillation.params.") + QString::fromStdString(p.key);
    keys << QStringLiteral("student.train.lr") << QStringLiteral("student.train.epochs")
         << QStringLiteral("student.train.batch_size") << QStringLiteral("student.train.weight_decay")
         << QStringLiteral("teacher.train.lr") << QStringLiteral("teacher.train.epochs");
    return keys;
}

SweepDialog::SweepDialog(const Experiment &experiment, const QString &workspace, QWidget *parent)
    : QDialog(parent), base_(experiment), workspace_(workspace), keys_(sweepableKeys(experiment.distillation)),
      stageSeconds_(newestStageSeconds(workspace))
{
    setWindowTitle(tr("Sweep – %1").arg(QString::fromStdString(experiment.name)));
    debounce_ = new QTimer(this);
    debounce_->setSingleShot(true);
    debounce_->setInterval(150);
    connect(debounce_, &QTimer::timeout, this, &SweepDialog::updateSummary);

    auto *layout = new QVBoxLayout(this);
    auto *intro = new QLabel(tr("Runs the current experiment once per combination of the values below, for each "
                                "seed. Points that share a teacher or a baseline train it once."));
    intro->setWordWrap(true);
    layout->addWidget(intro);
    layout->addWidget(buildGrid());
    layout->addWidget(buildRandom());
    auto *form = new QFormLayout;
    seeds_ = new QLineEdit;
    seeds_->setPlaceholderText(tr("the experiment's seed (%1)").arg(experiment.seed));
    seeds_->setToolTip(tr("Each combination runs once per seed, e.g. 1, 2, 3"));
    form->addRow(tr("Seeds:"), seeds_);
    slurm_ = new SlurmOptionsBox;
    form->addRow(tr("Run on:"), slurm_->runOnCombo());
    jobs_ = new QSpinBox;
    jobs_->setRange(0, 64);
    const int autoJobs = sweepParallelism(QThread::idealThreadCount(), 0, 0).first;
    jobs_->setSpecialValueText(tr("auto (%1)").arg(autoJobs));
    jobs_->setToolTip(tr("Runs at once; the CPU cores are split between them"));
    form->addRow(tr("Runs at once:"), jobs_);
    layout->addLayout(form);
    form->setRowVisible(jobs_, !slurm_->onSlurm()); // once the form's widgets are the dialog's
    layout->addWidget(slurm_);
    connect(slurm_, &SlurmOptionsBox::changed, this, [this, form] {
        form->setRowVisible(jobs_, !slurm_->onSlurm());
        debounce_->start();
    });

    summary_ = new QLabel;
    error_ = new QLabel;
    error_->setWordWrap(true);
    error_->setStyleSheet(QStringLiteral("color: #b2182b"));
    error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    estimate_ = new QLabel;
    estimate_->setWordWrap(true);
    for (QLabel *l : {summary_, error_, estimate_})
        layout->addWidget(l);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel);
    start_ = buttons->addButton(tr("Start sweep"), QDialogButtonBox::AcceptRole);
    connect(buttons, &QDialogButtonBox::accepted, this, &SweepDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &SweepDialog::reject);
    layout->addWidget(buttons);

    connect(seeds_, &QLineEdit::textChanged, debounce_, qOverload<>(&QTimer::start));
    connect(jobs_, &QSpinBox::valueChanged, debounce_, qOverload<>(&QTimer::start));
    prefill();
    updateSummary();
    resize(620, sizeHint().height());
}

QWidget *SweepDialog::buildGrid()
{
    auto *box = new QGroupBox(tr("Grid: every combination of"));
    auto *outer = new QVBoxLayout(box);
    gridLayout_ = new QGridLayout;
    gridLayout_->setColumnStretch(1, 1);
    outer->addLayout(gridLayout_);
    auto *add = new QPushButton(tr("Add setting"));
    connect(add, &QPushButton::clicked, this, [this] { addGridRow(); });
    outer->addWidget(add, 0, Qt::AlignLeft);
    return box;
}

QWidget *SweepDialog::buildRandom()
{
    random_ = new QGroupBox(tr("Random search: points drawn from ranges"));
    random_->setCheckable(true);
    random_->setChecked(false);
    auto *outer = new QVBoxLayout(random_);
    auto *top = new QHBoxLayout;
    randomCount_ = new QSpinBox;
    randomCount_->setRange(1, 100000);
    randomCount_->setValue(8);
    randomSeed_ = new QSpinBox;
    randomSeed_->setRange(0, 1000000);
    randomSeed_->setValue(1);
    top->addWidget(new QLabel(tr("Draws:")));
    top->addWidget(randomCount_);
    top->addWidget(new QLabel(tr("Seed of the draws:")));
    top->addWidget(randomSeed_);
    top->addStretch();
    outer->addLayout(top);
    rangeLayout_ = new QGridLayout;
    rangeLayout_->setColumnStretch(0, 1);
    outer->addLayout(rangeLayout_);
    auto *add = new QPushButton(tr("Add range"));
    connect(add, &QPushButton::clicked, this, [this] { addRangeRow(); });
    outer->addWidget(add, 0, Qt::AlignLeft);
    connect(random_, &QGroupBox::toggled, debounce_, qOverload<>(&QTimer::start));
    connect(randomCount_, &QSpinBox::valueChanged, debounce_, qOverload<>(&QTimer::start));
    connect(randomSeed_, &QSpinBox::valueChanged, debounce_, qOverload<>(&QTimer::start));
    return random_;
}

void SweepDialog::prefill()
{
    const SweepSpec &s = base_.sweep;
    for (const auto &[key, values] : s.grid) {
        QStringList texts;
        for (const auto &v : values)
            texts << QString::fromStdString(v);
        addGridRow(QString::fromStdString(key), texts.join(QStringLiteral(", ")));
    }
    for (const SweepRange &r : s.ranges)
        addRangeRow(QString::fromStdString(r.key), QString::number(r.min), QString::number(r.max), r.log);
    if (s.randomCount > 0) {
        random_->setChecked(true);
        randomCount_->setValue(s.randomCount);
        randomSeed_->setValue(int(s.randomSeed));
    }
    QStringList seeds;
    for (std::uint64_t seed : s.seeds)
        seeds << QString::number(seed);
    seeds_->setText(seeds.join(QStringLiteral(", ")));
    if (s.active())
        return;
    // T × α × 3 seeds, the sweep most distillation papers report.
    addGridRow(QStringLiteral("distillation.temperature"), QStringLiteral("1, 2, 4, 8"));
    const MethodInfo *m = findMethod(base_.distillation.method);
    if (m && m->usesAlpha)
        addGridRow(QStringLiteral("distillation.alpha"), QStringLiteral("0.1, 0.5, 0.9"));
    seeds_->setText(QStringLiteral("1, 2, 3"));
}

QComboBox *SweepDialog::keyBox(const QString &key)
{
    auto *box = new QComboBox;
    box->setEditable(true);
    box->addItems(keys_);
    box->setCurrentText(key);
    box->setMinimumContentsLength(24);
    box->setToolTip(tr("A setting as --set names it (docs/EXPERIMENT.md); any may be typed"));
    connect(box, &QComboBox::currentTextChanged, debounce_, qOverload<>(&QTimer::start));
    return box;
}

void SweepDialog::addGridRow(const QString &key, const QString &values)
{
    Row r;
    r.key = keyBox(key.isEmpty() && grid_.empty() ? keys_.first() : key);
    r.values = new QLineEdit(values);
    r.values->setPlaceholderText(tr("values, e.g. 2, 4, 8"));
    connect(r.values, &QLineEdit::textChanged, debounce_, qOverload<>(&QTimer::start));
    auto *remove = new QToolButton;
    remove->setText(QStringLiteral("✕"));
    remove->setToolTip(tr("Remove this setting"));
    connect(remove, &QToolButton::clicked, this, [this, remove] { removeRow(grid_, gridLayout_, remove); });
    const int row = gridLayout_->rowCount();
    gridLayout_->addWidget(r.key, row, 0);
    gridLayout_->addWidget(r.values, row, 1);
    gridLayout_->addWidget(remove, row, 2);
    r.widgets = {r.key, r.values, remove};
    grid_.push_back(r);
    debounce_->start();
}

void SweepDialog::addRangeRow(const QString &key, const QString &min, const QString &max, bool log)
{
    Row r;
    r.key = keyBox(key.isEmpty() ? QStringLiteral("student.train.lr") : key);
    r.min = new QLineEdit(min);
    r.min->setPlaceholderText(tr("min"));
    r.max = new QLineEdit(max);
    r.max->setPlaceholderText(tr("max"));
    r.log = new QCheckBox(tr("log"));
    r.log->setChecked(log);
    r.log->setToolTip(tr("Drawn uniformly on a log scale (learning rates, weight decay)"));
    for (QLineEdit *e : {r.min, r.max}) {
        e->setMaximumWidth(90);
        connect(e, &QLineEdit::textChanged, debounce_, qOverload<>(&QTimer::start));
    }
    connect(r.log, &QCheckBox::toggled, debounce_, qOverload<>(&QTimer::start));
    auto *remove = new QToolButton;
    remove->setText(QStringLiteral("✕"));
    connect(remove, &QToolButton::clicked, this, [this, remove] { removeRow(ranges_, rangeLayout_, remove); });
    const int row = rangeLayout_->rowCount();
    r.widgets = {r.key, r.min, r.max, r.log, remove};
    for (int c = 0; c < r.widgets.size(); ++c)
        rangeLayout_->addWidget(r.widgets[c], row, c);
    ranges_.push_back(r);
    random_->setChecked(true);
    debounce_->start();
}

void SweepDialog::setRandomCount(int count)
{
    random_->setChecked(count > 0);
    randomCount_->setValue(std::max(1, count));
}

void SweepDialog::removeRow(std::vector<Row> &rows, QGridLayout *, QWidget *button)
{
    for (auto it = rows.begin(); it != rows.end(); ++it)
        if (it->widgets.contains(button)) {
            for (QWidget *w : std::as_const(it->widgets))
                w->deleteLater();
            rows.erase(it);
            break;
        }
    debounce_->start();
}

void SweepDialog::clearGrid()
{
    for (const Row &r : grid_)
        for (QWidget *w : r.widgets)
            delete w;
    grid_.clear();
    debounce_->start();
}

void SweepDialog::readGrid(SweepSpec &s, QString *problem) const
{
    for (const Row &r : grid_) {
        const QString key = r.key->currentText().trimmed();
        const QString text = r.values->text().trimmed();
        if (key.isEmpty() && text.isEmpty())
            continue;
        if (key.isEmpty()) {
            *problem = tr("A row has values but no setting");
            return;
        }
        std::vector<std::string> values;
        for (const QString &item : text.split(QLatin1Char(','))) {
            if (item.trimmed().isEmpty()) {
                *problem = tr("%1: an empty value in “%2” (values are separated by commas)").arg(key, text);
                return;
            }
            values.push_back(jsonValue(item.trimmed()).toStdString());
        }
        for (const auto &axis : s.grid)
            if (axis.first == key.toStdString()) {
                *problem = tr("%1 is in the grid twice").arg(key);
                return;
            }
        s.grid.emplace_back(key.toStdString(), values);
    }
}

void SweepDialog::readRanges(SweepSpec &s, QString *problem) const
{
    if (!random_->isChecked())
        return;
    for (const Row &r : ranges_) {
        SweepRange range;
        range.key = r.key->currentText().trimmed().toStdString();
        range.log = r.log->isChecked();
        const QString key = QString::fromStdString(range.key);
        if (!readNumber(r.min->text(), &range.min) || !readNumber(r.max->text(), &range.max)) {
            *problem = tr("%1: the range needs a number for min and max").arg(key);
            return;
        }
        if (range.min > range.max || (range.log && range.min <= 0)) {
            *problem = range.log ? tr("%1: a log range needs 0 < min ≤ max").arg(key)
                                 : tr("%1: min is above max").arg(key);
            return;
        }
        range.integer = key.endsWith(QStringLiteral("epochs")) || key.endsWith(QStringLiteral("batch_size"));
        s.ranges.push_back(range);
    }
    if (!s.ranges.empty()) {
        s.randomCount = randomCount_->value();
        s.randomSeed = std::uint64_t(randomSeed_->value());
    }
}

SweepSpec SweepDialog::spec(QString *problem) const
{
    SweepSpec s;
    readGrid(s, problem);
    if (problem->isEmpty())
        readRanges(s, problem);
    const QStringList seeds = seeds_->text().split(QRegularExpression(QStringLiteral("[,\\s]+")), Qt::SkipEmptyParts);
    for (const QString &t : seeds) {
        bool ok = false;
        const qulonglong seed = t.toULongLong(&ok);
        if (!ok && problem->isEmpty())
            *problem = tr("Seeds: “%1” is not a whole number ≥ 0").arg(t);
        s.seeds.push_back(seed);
    }
    return s;
}

Experiment SweepDialog::withSweep(QString *problem) const
{
    Experiment e = base_;
    e.sweep = spec(problem);
    e.sweepPoint = SweepMembership{};
    if (!problem->isEmpty() || !e.sweep.active())
        return e;
    // Through the file format, as sweep.json will hold it: the reader's checks
    // (a value twice, a key that cannot be swept), and its order of the keys.
    try {
        return parseExperiment(experimentToJson(e));
    } catch (const std::exception &err) {
        *problem = QString::fromUtf8(err.what());
    }
    return e;
}

Experiment SweepDialog::experiment() const
{
    QString problem;
    return withSweep(&problem);
}

int SweepDialog::jobs() const
{
    return jobs_->value();
}

void SweepDialog::updateSummary()
{
    debounce_->stop();
    problem_.clear();
    const Experiment e = withSweep(&problem_);
    count_ = problem_.isEmpty() ? sweepPointCount(e.sweep) : 0;
    if (problem_.isEmpty() && !e.sweep.active())
        problem_ = tr("Add a setting with its values, or seeds");
    summary_->clear();
    estimate_->clear();
    if (problem_.isEmpty())
        showPlan(e);
    if (problem_.isEmpty())
        problem_ = slurm_->problem();
    error_->setText(problem_);
    error_->setVisible(!problem_.isEmpty());
    start_->setEnabled(problem_.isEmpty());
    start_->setText(slurm_->onSlurm() ? tr("Submit to Slurm") : tr("Start sweep"));
}

void SweepDialog::showPlan(const Experiment &e)
{
    if (count_ > kLivePlanLimit) {
        // Too many to plan at each key press: each setting is checked alone.
        for (const auto &axis : e.sweep.grid) {
            Experiment one = e;
            one.sweep = SweepSpec{};
            one.sweep.grid = {axis};
            try {
                planSweep(one);
            } catch (const ConfigError &err) {
                problem_ = QString::fromUtf8(err.what());
                return;
            }
        }
        summary_->setText(count_ > kLargeSweep
                              ? tr("<b>More than %L1 runs</b>: Start asks first").arg(kLargeSweep)
                              : tr("<b>%L1 runs</b>; the teachers and baselines are counted when it starts").arg(count_));
        return;
    }
    try {
        const SweepPlan plan = planSweep(e);
        const int n = int(plan.points.size());
        summary_->setText(tr("<b>%1</b> · teachers trained: %2 · baselines trained: %3")
                              .arg(n == 1 ? tr("1 run") : tr("%L1 runs").arg(n))
                              .arg(plan.teachersTrained())
                              .arg(plan.baselinesTrained()));
        if (slurm_->onSlurm())
            return estimate_->setText(tr("On Slurm the time depends on the cluster's queue."));
        if (stageSeconds_.student < 0) {
            estimate_->setText(tr("No estimate of the time until one run of this workspace has finished."));
            return;
        }
        const int jobs = sweepParallelism(QThread::idealThreadCount(), jobs_->value(), 0).first;
        // Every run pays for its process too (LibTorch, the data, the analysis): on small experiments most of it.
        showEstimate(estimateSweepSeconds(plan, stageSeconds_.teacher, stageSeconds_.baseline,
                                          stageSeconds_.student + stageSeconds_.perRun, jobs));
    } catch (const ConfigError &err) {
        problem_ = QString::fromUtf8(err.what());
    }
}

void SweepDialog::showEstimate(double seconds)
{
    const QString basis = stageSeconds_.perRun > 0
        ? tr("from the stages of %1, the newest finished run, and %2 s more per run measured on the last sweep")
              .arg(stageSeconds_.run)
              .arg(stageSeconds_.perRun, 0, 'f', 1)
        : tr("from the stages of %1, the newest finished run; each run also takes some seconds to start")
              .arg(stageSeconds_.run);
    estimate_->setText(tr("Takes about %1 (%2; a rough guide).").arg(roughDuration(seconds), basis));
}

void SweepDialog::accept()
{
    updateSummary();
    if (!problem_.isEmpty())
        return;
    allowLarge_ = false;
    if (count_ > kLargeSweep) {
        const auto answer = QMessageBox::question(
            this, tr("A large sweep"),
            tr("This sweep makes more than %L1 runs. Start it anyway?").arg(kLargeSweep),
            QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
        if (answer != QMessageBox::Yes)
            return;
        allowLarge_ = true;
    }
    slurm_->remember();
    QDialog::accept();
}
