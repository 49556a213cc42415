#include "sweepview.h"

#include "insightplot.h"
#include "sweepheatmap.h"
#include "sweepparallel.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHelpEvent>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QPushButton>
#include <QStackedWidget>
#include <QTimer>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

using namespace distillery;

namespace {

constexpr int kLiveRefreshMs = 2000;

QString percentOrDash(double v, bool sign = false)
{
    if (!std::isfinite(v))
        return QStringLiteral("–");
    return (sign && v > 0 ? QStringLiteral("+") : QString()) + QString::number(100.0 * v, 'f', 2);
}

QString settingText(const QString &key, const QString &value)
{
    return key.isEmpty() ? QString() : key.section(QLatin1Char('.'), -1) + QLatin1Char('=') + sweepValueText(value);
}

bool sameNumber(double a, double b)
{
    return a == b || (std::isnan(a) && std::isnan(b));
}

bool sameResults(const std::vector<SweepPointResult> &a, const std::vector<SweepPointResult> &b)
{
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const SweepPointResult &x, const SweepPointResult &y) {
        return x.point == y.point && x.runDir == y.runDir && x.exists == y.exists && x.finished == y.finished &&
               sameNumber(x.student, y.student) && sameNumber(x.baseline, y.baseline);
    });
}

// The ids in a sweep folder's slurm/jobs.json (none when it was not submitted to Slurm).
QStringList slurmJobIds(const QString &sweepDir)
{
    QFile f(sweepDir + QStringLiteral("/slurm/jobs.json"));
    QStringList ids;
    if (!f.open(QIODevice::ReadOnly))
        return ids;
    for (const QJsonValue &job : QJsonDocument::fromJson(f.readAll()).object()[QStringLiteral("jobs")].toArray())
        if (const QString id = job[QStringLiteral("id")].toString(); !id.isEmpty())
            ids << id;
    return ids;
}

} // namespace

SweepView::SweepView(QWidget *parent)
    : QWidget(parent), sweeps_(new QComboBox(this)), xAxis_(new QComboBox(this)), yAxis_(new QComboBox(this)),
      measure_(new QComboBox(this)), statistic_(new QComboBox(this)), chart_(new QComboBox(this)),
      open_(new QPushButton(tr("Open as experiment"), this)), resume_(new QPushButton(tr("Resume"), this)),
      stack_(new QStackedWidget(this)),
      message_(new QLabel(this)), note_(new QLabel(this)), timer_(new QTimer(this))
{
    figure_ = new InsightPlot(
        tr("Sweep"),
        tr("A cell per pair of values of the two settings: the mean of the measure over the cell's finished points "
           "(the seeds, and the values of the other swept settings), from each point's summary.json; below it ± the "
           "sample standard deviation, and n/m when only n of its m points have finished.\nOutlined: the best cell. "
           "Click a cell to select its runs in the Runs panel."),
        this);
    heatmap_ = std::make_unique<SweepHeatmap>(figure_->plot());
    parallel_ = new SweepParallel(this);
    chart_->addItems({tr("heatmap"), tr("parallel coordinates")});
    chart_->setToolTip(tr("The heatmap over two settings, or a line per point through every setting"));
    // Narrow enough for a laptop screen beside the experiment panel: the lists open wide.
    for (QComboBox *box : {sweeps_, xAxis_, yAxis_, measure_, statistic_, chart_}) {
        box->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        box->setMinimumContentsLength(box == sweeps_ ? 16 : 10);
    }
    sweeps_->setToolTip(tr("The workspace's sweeps (sweeps/), newest first"));
    xAxis_->setToolTip(tr("The setting across"));
    yAxis_->setToolTip(tr("The setting up"));
    measure_->addItems({tr("student test accuracy"), tr("gain over the baseline")});
    statistic_->addItems({tr("mean"), tr("standard deviation")});
    statistic_->setToolTip(tr("Colour the cells by the mean over their points, or by how much they vary"));
    open_->setToolTip(tr("Load the best cell's best point into the experiment panel: the sweep's experiment with "
                         "that point's settings and seed"));
    auto *bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Sweep:"), this));
    bar->addWidget(sweeps_, 2);
    bar->addWidget(chart_, 1);
    bar->addWidget(measure_, 1);
    bar->addWidget(open_);
    bar->addWidget(resume_);
    resume_->setToolTip(tr("Run this sweep's points that have not finished (a stopped or interrupted sweep); "
                           "finished points are kept"));
    connect(resume_, &QPushButton::clicked, this, [this] { Q_EMIT resumeRequested(sweepDir()); });
    auto *axes = new QHBoxLayout;
    axes->addWidget(new QLabel(tr("across:"), this));
    axes->addWidget(xAxis_, 1);
    axes->addWidget(new QLabel(tr("up:"), this));
    axes->addWidget(yAxis_, 1);
    axes->addWidget(statistic_, 1);
    message_->setWordWrap(true);
    message_->setAlignment(Qt::AlignCenter);
    message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    stack_->addWidget(message_);
    stack_->addWidget(figure_);
    stack_->addWidget(parallel_);
    note_->setWordWrap(true);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addLayout(axes);
    layout->addWidget(stack_, 1);
    layout->addWidget(note_);

    connect(sweeps_, qOverload<int>(&QComboBox::activated), this,
            [this](int i) { showSweep(sweeps_->itemData(i).toString()); });
    for (QComboBox *box : {xAxis_, yAxis_, measure_, statistic_, chart_})
        connect(box, qOverload<int>(&QComboBox::activated), this, &SweepView::redraw);
    connect(open_, &QPushButton::clicked, this, [this] {
        if (const auto e = bestExperiment())
            Q_EMIT experimentOpened(*e);
    });
    connect(figure_->plot(), &QCustomPlot::mouseRelease, this, [this](QMouseEvent *e) {
        if (e->button() == Qt::LeftButton)
            cellClicked(e->position());
    });
    figure_->plot()->installEventFilter(this);
    timer_->setInterval(kLiveRefreshMs);
    connect(timer_, &QTimer::timeout, this, &SweepView::poll);
    showMessage(tr("No sweeps in this workspace yet. Run ▸ Sweep… runs the experiment over a grid of settings."));
}

SweepView::~SweepView() = default;

QCustomPlot *SweepView::plot() const
{
    return figure_->plot();
}

void SweepView::setWorkspace(const QString &workspace)
{
    workspace_ = workspace;
    sweep_.reset();
    cache_.clear();
    reloadSweeps();
}

void SweepView::reloadSweeps(const QString &select)
{
    const QString keep = !select.isEmpty() ? select : sweepDir();
    sweeps_->clear();
    for (const std::string &dir : listSweeps(workspace_.toStdString())) {
        const QString d = QString::fromStdString(dir);
        sweeps_->addItem(QFileInfo(d).fileName(), d);
    }
    if (sweeps_->count() == 0) {
        sweep_.reset();
        showMessage(tr("No sweeps in this workspace yet. Run ▸ Sweep… runs the experiment over a grid of settings."));
        return;
    }
    int index = keep.isEmpty() ? 0 : sweeps_->findData(QDir::cleanPath(keep));
    if (index < 0)
        index = 0;
    sweeps_->setCurrentIndex(index);
    showSweep(sweeps_->itemData(index).toString());
}

QString SweepView::sweepDir() const
{
    return sweep_ ? QString::fromStdString(sweep_->dir) : QString();
}

bool SweepView::showSweep(const QString &dir)
{
    try {
        SweepFolder s = openSweepFolder(dir.toStdString());
        const bool same = sweep_ && sweep_->dir == s.dir;
        sweep_ = std::move(s);
        slurmJobs_ = slurmJobIds(dir);
        if (!same)
            fillAxes();
    } catch (const std::exception &e) {
        sweep_.reset();
        showMessage(tr("<p>This sweep cannot be shown:</p><p><b>%1</b></p>")
                        .arg(QString::fromUtf8(e.what()).toHtmlEscaped()));
        return false;
    }
    if (const int i = sweeps_->findData(QDir::cleanPath(dir)); i >= 0)
        sweeps_->setCurrentIndex(i);
    refresh();
    return true;
}

void SweepView::fillAxes()
{
    for (QComboBox *box : {xAxis_, yAxis_}) {
        box->clear();
        for (const std::string &key : sweep_->plan.keys)
            box->addItem(QString::fromStdString(key), QString::fromStdString(key));
        box->addItem(tr("(none)"), QString());
    }
    // T across when it is swept (the figure papers draw), the next setting up.
    const int t = std::max(0, xAxis_->findData(QStringLiteral("distillation.temperature")));
    xAxis_->setCurrentIndex(t);
    yAxis_->setCurrentIndex(sweep_->plan.keys.size() > 1 ? (t == 0 ? 1 : 0) : yAxis_->count() - 1);
}

void SweepView::setAxes(const QString &xKey, const QString &yKey)
{
    xAxis_->setCurrentIndex(std::max(0, xAxis_->findData(xKey)));
    yAxis_->setCurrentIndex(std::max(0, yAxis_->findData(yKey)));
    redraw();
}

void SweepView::setMeasure(SweepMeasure m)
{
    measure_->setCurrentIndex(int(m));
    redraw();
}

void SweepView::setShowStdDev(bool on)
{
    statistic_->setCurrentIndex(on ? 1 : 0);
    redraw();
}

void SweepView::showParallel(bool on)
{
    chart_->setCurrentIndex(on ? 1 : 0);
    redraw();
}

void SweepView::setLive(bool live)
{
    live_ = live;
    if (live)
        timer_->start();
    else
        timer_->stop();
    redraw(); // Resume only while no sweep runs
}

bool SweepView::polling() const
{
    return timer_->isActive();
}

void SweepView::poll()
{
    if (!sweep_ || (!live_ && !isVisible()))
        return;
    std::vector<SweepPointResult> now = cache_.read(*sweep_);
    if (sameResults(now, results_))
        return; // nothing moved: no redraw
    results_ = std::move(now);
    redraw();
}

void SweepView::refresh()
{
    if (!sweep_)
        return;
    results_ = cache_.read(*sweep_);
    redraw();
}

void SweepView::showMessage(const QString &text)
{
    message_->setText(text);
    stack_->setCurrentWidget(message_);
    note_->clear();
    timer_->stop();
    open_->setEnabled(false);
    resume_->setEnabled(false);
    grid_ = SweepGrid{};
}

QString SweepView::measureName() const
{
    return measure_->currentIndex() == int(SweepMeasure::StudentAccuracy) ? tr("test accuracy")
                                                                           : tr("gain over the baseline");
}

void SweepView::redraw()
{
    if (!sweep_)
        return;
    const auto measure = SweepMeasure(measure_->currentIndex());
    QString y = yAxis_->currentData().toString();
    if (y == xAxis_->currentData().toString())
        y.clear(); // one setting on both axes: a single row
    grid_ = sweepGrid(sweep_->plan, results_, xAxis_->currentData().toString(), y, measure);
    heatmap_->draw(grid_, measure, statistic_->currentIndex() == 1);
    figure_->titleLabel()->setText(tr("<b>%1 of the distilled student, %2 over each cell's points</b>")
                                       .arg(measure == SweepMeasure::StudentAccuracy ? tr("Test accuracy") : tr("Gain over the baseline"),
                                            statistic_->currentIndex() == 1 ? tr("standard deviation") : tr("mean")));
    parallel_->setData(sweep_->plan, results_, measure);
    const bool parallel = chart_->currentIndex() == 1;
    stack_->setCurrentWidget(parallel ? static_cast<QWidget *>(parallel_) : figure_);
    for (QComboBox *box : {xAxis_, yAxis_, statistic_})
        box->setEnabled(!parallel);
    const auto finished = std::count_if(results_.begin(), results_.end(), [](const SweepPointResult &r) { return r.finished; });
    QString text = tr("%1 of %2 points finished.").arg(finished).arg(results_.size());
    if (grid_.best >= 0) {
        const SweepCell &c = grid_.cells[std::size_t(grid_.best)];
        const int bx = grid_.best % grid_.columns(), by = grid_.best / grid_.columns();
        QStringList where{settingText(grid_.xKey, grid_.xValues[bx]), settingText(grid_.yKey, grid_.yValues[by])};
        where.removeAll(QString());
        text += tr(" Best cell: %1, %2 %3 ± %4 over %5 runs.")
                    .arg(where.isEmpty() ? tr("all") : where.join(QStringLiteral(", ")), measureName(),
                         percentOrDash(c.mean, measure == SweepMeasure::GainOverBaseline), percentOrDash(c.stddev))
                    .arg(c.counted);
    }
    if (!slurmJobs_.isEmpty())
        text += tr(" Submitted to Slurm as jobs %1 (squeue -j %2).")
                    .arg(slurmJobs_.join(QStringLiteral(", ")), slurmJobs_.join(QLatin1Char(',')));
    note_->setText(text);
    open_->setEnabled(grid_.best >= 0);
    const bool unfinished = finished < std::ptrdiff_t(results_.size());
    resume_->setEnabled(!live_ && unfinished);
    if (!live_ && !unfinished)
        timer_->stop();
    else if (!timer_->isActive())
        timer_->start();
}

QString SweepView::message() const
{
    return stack_->currentWidget() == message_ ? message_->text() : QString();
}

bool SweepView::showsPlot() const
{
    return stack_->currentWidget() != message_;
}

QString SweepView::note() const
{
    return note_->text();
}

QStringList SweepView::cellRuns(int x, int y) const
{
    QStringList dirs;
    if (x < 0 || y < 0 || x >= grid_.columns() || y >= grid_.rows())
        return dirs;
    for (int p : grid_.cell(x, y).points)
        if (results_[std::size_t(p)].exists)
            dirs << results_[std::size_t(p)].runDir;
    return dirs;
}

QString SweepView::cellToolTip(int x, int y) const
{
    const SweepCell &c = grid_.cell(x, y);
    const bool gain = measure_->currentIndex() == int(SweepMeasure::GainOverBaseline);
    QStringList where{settingText(grid_.xKey, grid_.xValues[x]), settingText(grid_.yKey, grid_.yValues[y])};
    where.removeAll(QString());
    return tr("<b>%1</b><br>%2: mean %3, standard deviation %4 (percentage points)<br>%5 of its %6 points finished; "
              "click to select their runs")
        .arg(where.isEmpty() ? tr("every point") : where.join(QStringLiteral(", ")), measureName(),
             percentOrDash(c.mean, gain), percentOrDash(c.stddev))
        .arg(c.counted)
        .arg(c.points.size());
}

void SweepView::cellClicked(const QPointF &pos)
{
    int x = 0, y = 0;
    if (!heatmap_->cellAt(pos, &x, &y))
        return;
    const QStringList runs = cellRuns(x, y);
    if (!runs.isEmpty())
        Q_EMIT runsSelected(runs);
}

std::optional<Experiment> SweepView::bestExperiment() const
{
    if (!sweep_ || grid_.best < 0)
        return std::nullopt;
    const auto measure = SweepMeasure(measure_->currentIndex());
    const int p = bestPointOfCell(grid_.cells[std::size_t(grid_.best)], results_, measure);
    if (p < 0)
        return std::nullopt;
    const SweepPlan &plan = sweep_->plan;
    Experiment e;
    try {
        e = parseExperiment(experimentToJson(plan.base), {}, plan.points[std::size_t(p)].overrides());
    } catch (const std::exception &) {
        return std::nullopt; // planned from this very file, so not expected
    }
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "-p%04d", p);
    e.name = plan.base.name + suffix;
    return e;
}

bool SweepView::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == plot() && event->type() == QEvent::ToolTip) {
        auto *help = static_cast<QHelpEvent *>(event);
        int x = 0, y = 0;
        if (heatmap_->cellAt(help->pos(), &x, &y)) {
            QToolTip::showText(help->globalPos(), cellToolTip(x, y), plot());
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}
