#include "runsscatter.h"

#include "elidedlabel.h"
#include "format.h"
#include "insightplot.h"
#include "plotlook.h"
#include "stagestyle.h"

#include "distillery/analysis.h"
#include "distillery/runs.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QHash>
#include <QHelpEvent>
#include <QLabel>
#include <QResizeEvent>
#include <QSet>
#include <QStackedWidget>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace distillery;

namespace {

constexpr StageKind kStages[] = {StageKind::Teacher, StageKind::Baseline, StageKind::Distillation};
constexpr double kPickPixels = 8.0; // how near the pointer must be to a point

double positiveOrNone(std::int64_t v)
{
    return v > 0 ? double(v) : ScatterPoint::kNone;
}

QString stageLabel(StageKind k)
{
    return stageTitle(k);
}

// 20k, 1.5M, 0.25: a tick label that fits a narrow axis.
QString compactNumber(double v)
{
    for (const auto &[scale, unit] : {std::pair{1e9, 'G'}, std::pair{1e6, 'M'}, std::pair{1e3, 'k'}})
        if (v >= scale)
            return QString::number(v / scale, 'g', 3) + QLatin1Char(unit);
    return QString::number(v, 'g', 3);
}

// Log ticks taken in at a glance: 1-2-5, 1-3 or 1 per decade (then every
// k-th decade), as many as the axis has room for, labelled compactly.
class CompactLogTicker : public QCPAxisTickerLog {
public:
    int room = 6;

protected:
    QVector<double> createTickVector(double, const QCPRange &range) override
    {
        QVector<double> ticks;
        if (range.lower <= 0 || range.upper <= range.lower)
            return ticks;
        const double first = std::floor(std::log10(range.lower)), last = std::ceil(std::log10(range.upper));
        for (const QVector<double> &mantissas : {QVector<double>{1, 2, 5}, QVector<double>{1, 3}, QVector<double>{1}}) {
            ticks.clear();
            for (double p = first; p <= last; ++p)
                for (double m : mantissas)
                    if (const double t = m * std::pow(10.0, p); t >= range.lower && t <= range.upper)
                        ticks << t;
            if (ticks.size() <= std::max(2, room))
                return ticks;
        }
        const int every = int(std::ceil(double(ticks.size()) / std::max(2, room)));
        QVector<double> thinned;
        for (int i = 0; i < ticks.size(); i += every)
            thinned << ticks[i];
        return thinned;
    }
    QString getTickLabel(double tick, const QLocale &, QChar, int) override { return compactNumber(tick); }
};

QString axisName(ScatterAxis a)
{
    switch (a) {
    case ScatterAxis::Parameters: return QObject::tr("parameters");
    case ScatterAxis::MultiplyAdds: return QObject::tr("multiply-adds");
    case ScatterAxis::Latency: return QObject::tr("latency (batch of 1)");
    }
    return {};
}

QString xText(double x, ScatterAxis a)
{
    if (a == ScatterAxis::Latency)
        return QString::number(x, 'g', 3) + QStringLiteral(" ms");
    return QStringLiteral("%1 (%2)").arg(fmt::count(x), QLocale().toString(qint64(std::llround(x))));
}

// What the figure shows and where each number comes from, by axis.
QString howComputed(ScatterAxis a)
{
    const QString x = a == ScatterAxis::Parameters
        ? QObject::tr("its number of parameters (summary.json, the stage's \"parameters\")")
        : a == ScatterAxis::MultiplyAdds
        ? QObject::tr("the multiply-adds of one example's forward pass, from the architecture (summary.json, "
                      "the stage's \"multiply_adds\")")
        : QObject::tr("the median time of a forward pass of one example on the CPU, after warm-up "
                      "(analysis/summary.json, latency.median_ms; runs made before latency was measured have none)");
    return QObject::tr("A point per finished model of each selected run (teacher, baseline, distilled student), "
                       "coloured by stage: its test accuracy at the kept epoch (summary.json, \"test_accuracy\") "
                       "against %1, on a log axis.\nRinged and joined by the step line: the Pareto front, the models "
                       "that no other is both as small or fast (x ≤) and as accurate (accuracy ≥) as, one of the two "
                       "strictly.\nClick a point to open its run.").arg(x);
}

void addRunPoints(const QString &dir, std::vector<ScatterPoint> &out)
{
    const std::string path = dir.toStdString();
    const RunInfo info = readRunInfo(path);
    AnalysisSummary analysis;
    try {
        analysis = readAnalysisSummary(path);
    } catch (const std::exception &) {
        // none yet, or an old run: no latency
    }
    for (const StageResult &r : readStageResults(path)) {
        if (r.status != RunStatus::Finished || !std::isfinite(r.testAccuracy))
            continue;
        ScatterPoint p;
        p.runDir = dir;
        p.runName = QString::fromStdString(info.name.empty() ? path : info.name);
        p.stage = r.kind;
        p.accuracy = r.testAccuracy;
        p.parameters = positiveOrNone(r.parameters);
        p.multiplyAdds = positiveOrNone(r.multiplyAdds);
        if (const StageAnalysis *s = analysis.stage(stageName(r.kind)))
            if (std::isfinite(s->latency.medianMs) && s->latency.medianMs > 0)
                p.latencyMs = s->latency.medianMs;
        out.push_back(p);
    }
}

} // namespace

std::vector<ScatterPoint> loadScatterPoints(const QStringList &runDirs)
{
    // A run's points read again only when its summaries changed: a selection
    // of many runs, redrawn at each refresh, reads each run once.
    struct Cached {
        QDateTime summary, analysis;
        std::vector<ScatterPoint> points;
    };
    static QHash<QString, Cached> cache; // the GUI thread's
    std::vector<ScatterPoint> points;
    for (const QString &dir : runDirs) {
        const QDateTime summary = QFileInfo(dir + QStringLiteral("/summary.json")).lastModified();
        const QDateTime analysis = QFileInfo(dir + QStringLiteral("/analysis/summary.json")).lastModified();
        auto it = cache.find(dir);
        if (it == cache.end() || it->summary != summary || it->analysis != analysis) {
            Cached c{summary, analysis, {}};
            addRunPoints(dir, c.points);
            it = cache.insert(dir, std::move(c));
        }
        points.insert(points.end(), it->points.begin(), it->points.end());
    }
    return points;
}

double scatterX(const ScatterPoint &p, ScatterAxis axis)
{
    switch (axis) {
    case ScatterAxis::Parameters: return p.parameters;
    case ScatterAxis::MultiplyAdds: return p.multiplyAdds;
    case ScatterAxis::Latency: return p.latencyMs;
    }
    return ScatterPoint::kNone;
}

std::vector<int> paretoFront(const std::vector<QPointF> &points)
{
    std::vector<int> order;
    for (int i = 0; i < int(points.size()); ++i)
        if (std::isfinite(points[std::size_t(i)].x()) && std::isfinite(points[std::size_t(i)].y()))
            order.push_back(i);
    // By x, the most accurate first among equal x.
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        const QPointF &p = points[std::size_t(a)], &q = points[std::size_t(b)];
        return p.x() < q.x() || (p.x() == q.x() && p.y() > q.y());
    });
    std::vector<int> front;
    double bestBefore = -std::numeric_limits<double>::infinity(); // best y at a strictly smaller x
    for (std::size_t i = 0; i < order.size();) {
        // A group of equal x: only its best y can be on the front, and only
        // above every point of smaller x (equal to one is dominated by it).
        const double x = points[std::size_t(order[i])].x();
        const double best = points[std::size_t(order[i])].y();
        std::size_t j = i;
        for (; j < order.size() && points[std::size_t(order[j])].x() == x; ++j)
            if (points[std::size_t(order[j])].y() == best && best > bestBefore)
                front.push_back(order[j]);
        bestBefore = std::max(bestBefore, best);
        i = j;
    }
    return front;
}

RunsScatter::RunsScatter(QWidget *parent)
    : QWidget(parent), stack_(new QStackedWidget(this)), empty_(new QLabel(this)),
      figure_(new InsightPlot(tr("Test accuracy against size"), howComputed(ScatterAxis::Parameters), this)),
      axisBox_(new QComboBox(this)), note_(new ElidedLabel(this))
{
    axisBox_->addItems({tr("Parameters"), tr("Multiply-adds"), tr("Latency (batch of 1)")});
    axisBox_->setToolTip(tr("What the x axis shows: the model's parameters, multiply-adds per example, or the "
                            "median time of one example on the CPU"));
    figure_->controls()->addWidget(axisBox_);
    empty_->setWordWrap(true);
    empty_->setAlignment(Qt::AlignCenter);
    empty_->setForegroundRole(QPalette::PlaceholderText);
    empty_->setMargin(12);
    note_->setForegroundRole(QPalette::PlaceholderText);
    // No taller at its least than the comparison table beside it: the Runs
    // dock's minimum, and so the window's, stays as it was.
    figure_->plot()->setMinimumSize(160, 60);
    auto *page = new QWidget(this);
    auto *pageLayout = new QVBoxLayout(page);
    pageLayout->setContentsMargins(0, 0, 0, 0);
    pageLayout->setSpacing(0);
    pageLayout->addWidget(figure_, 1);
    pageLayout->addWidget(note_);
    stack_->addWidget(empty_);
    stack_->addWidget(page);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(stack_);

    QCustomPlot *p = plot();
    for (StageKind k : kStages) {
        QCPGraph *g = p->addGraph();
        g->setName(stageLabel(k));
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, stageColor(k), 7));
        g->setPen(QPen(stageColor(k)));
    }
    QCPGraph *frontLine = p->addGraph();
    frontLine->setName(tr("Pareto front"));
    frontLine->setLineStyle(QCPGraph::lsStepLeft);
    p->xAxis->setScaleType(QCPAxis::stLogarithmic);
    p->xAxis->setTicker(QSharedPointer<CompactLogTicker>(new CompactLogTicker));
    p->xAxis->setSubTicks(false);
    p->yAxis->setLabel(tr("Test accuracy (%)"));
    p->legend->setVisible(true);
    plotlook::placeLegendAbove(p);
    p->installEventFilter(this);
    p->setMouseTracking(true);
    connect(p, &QCustomPlot::mousePress, this, [this](QMouseEvent *e) {
        const int i = e->button() == Qt::LeftButton ? pointAt(e->position()) : -1;
        if (i >= 0)
            Q_EMIT runOpened(points_[std::size_t(i)].runDir);
    });
    connect(p, &QCustomPlot::mouseMove, this, [this](QMouseEvent *e) {
        plot()->setCursor(pointAt(e->position()) >= 0 ? Qt::PointingHandCursor : Qt::ArrowCursor);
    });
    connect(axisBox_, &QComboBox::currentIndexChanged, this, &RunsScatter::redraw);
    setRuns({});
}

QCustomPlot *RunsScatter::plot() const
{
    return figure_->plot();
}

void RunsScatter::setRuns(const QStringList &runDirs)
{
    runDirs_ = runDirs;
    stale_ = true;
    if (isVisible() || runDirs.isEmpty())
        reload();
}

void RunsScatter::reload()
{
    stale_ = false;
    points_ = loadScatterPoints(runDirs_);
    redraw();
}

void RunsScatter::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    if (stale_)
        reload();
}

void RunsScatter::setAxis(ScatterAxis axis)
{
    axisBox_->setCurrentIndex(int(axis));
}

ScatterAxis RunsScatter::axis() const
{
    return ScatterAxis(std::max(0, axisBox_->currentIndex()));
}

void RunsScatter::redraw()
{
    const ScatterAxis a = axis();
    if (runDirs_.isEmpty())
        empty_->setText(tr("Select runs in the list to plot their models' test accuracy against their parameters, "
                           "multiply-adds or latency (Ctrl+click or Shift+click for several)."));
    else
        empty_->setText(tr("The selected runs have no finished model yet: a point appears when a stage ends."));
    stack_->setCurrentIndex(points_.empty() ? 0 : 1);
    figure_->plot()->setToolTip(howComputed(a));
    figure_->titleLabel()->setToolTip(howComputed(a));
    drawn_.clear();
    std::vector<QPointF> xy;
    QCustomPlot *p = plot();
    for (int g = 0; g < 3; ++g)
        p->graph(g)->data()->clear();
    for (int i = 0; i < int(points_.size()); ++i) {
        const ScatterPoint &pt = points_[std::size_t(i)];
        const double x = scatterX(pt, a);
        if (!std::isfinite(x) || x <= 0)
            continue;
        drawn_.push_back(i);
        xy.emplace_back(x, 100.0 * pt.accuracy);
        p->graph(int(std::find(std::begin(kStages), std::end(kStages), pt.stage) - std::begin(kStages)))
            ->addData(x, 100.0 * pt.accuracy);
    }
    for (int g = 0; g < 3; ++g) {
        if (p->graph(g)->dataCount())
            p->graph(g)->addToLegend();
        else
            p->graph(g)->removeFromLegend();
    }
    drawFront(xy);
    fitAxes(xy);
    p->xAxis->setLabel(axisName(a).left(1).toUpper() + axisName(a).mid(1) + tr(" (log)"));
    updateNote(int(points_.size() - drawn_.size()));
    plotlook::wrapLegend(p->legend, p->width());
    p->replot();
}

void RunsScatter::drawFront(const std::vector<QPointF> &xy)
{
    front_.clear();
    QCPGraph *line = plot()->graph(3);
    line->data()->clear();
    const QColor ink = plotlook::onBackground(palette().color(QPalette::Text), palette());
    line->setPen(QPen(ink, 1.2, Qt::DashLine));
    line->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(ink, 1.2), Qt::NoBrush, 12));
    for (int i : paretoFront(xy)) {
        front_.push_back(drawn_[std::size_t(i)]);
        line->addData(xy[std::size_t(i)].x(), xy[std::size_t(i)].y());
    }
    if (front_.empty())
        line->removeFromLegend();
    else
        line->addToLegend();
}

void RunsScatter::fitAxes(const std::vector<QPointF> &xy)
{
    QCustomPlot *p = plot();
    if (xy.empty()) {
        p->xAxis->setRange(1, 10);
        p->yAxis->setRange(0, 100);
        return;
    }
    double x0 = xy[0].x(), x1 = x0, y0 = xy[0].y(), y1 = y0;
    for (const QPointF &q : xy) {
        x0 = std::min(x0, q.x());
        x1 = std::max(x1, q.x());
        y0 = std::min(y0, q.y());
        y1 = std::max(y1, q.y());
    }
    // A margin of a fifth of the span (in decades on x), at least a little.
    const double decades = std::log10(x1 / x0);
    const double xPad = std::pow(10.0, std::max(0.15, 0.12 * decades));
    p->xAxis->setRange(x0 / xPad, x1 * xPad);
    const double yPad = std::max(1.0, 0.12 * (y1 - y0));
    p->yAxis->setRange(std::max(0.0, y0 - yPad), std::min(100.0, y1 + yPad) + (y1 + yPad > 100 ? 0.5 : 0));
}

void RunsScatter::updateNote(int leftOut)
{
    QSet<QString> runs;
    for (int i : drawn_)
        runs.insert(points_[std::size_t(i)].runDir);
    const int models = int(drawn_.size());
    QString text = (models == 1 ? tr("1 model") : tr("%1 models").arg(models))
        + (runs.size() == 1 ? tr(" of 1 run") : tr(" of %1 runs").arg(runs.size()))
        + tr(", %1 on the Pareto front.").arg(front_.size());
    if (leftOut > 0) {
        // First, so that a narrow panel still shows it.
        const QString why = axis() == ScatterAxis::Latency
            ? tr("no batch-1 latency in their analysis/summary.json (runs made before latency was measured, or "
                 "whose analysis is missing)")
            : tr("no %1 recorded in their summary.json").arg(axisName(axis()));
        text = tr("%n left out: ", nullptr, leftOut) + why + QStringLiteral(". ") + text;
    }
    note_->setFullText(text);
    note_->setToolTip(text);
}

QString RunsScatter::note() const
{
    return note_->fullText();
}

bool RunsScatter::showsPlot() const
{
    return stack_->currentIndex() == 1;
}

QString RunsScatter::emptyMessage() const
{
    return showsPlot() ? QString() : empty_->text();
}

int RunsScatter::pointAt(const QPointF &pos) const
{
    const QCustomPlot *p = plot();
    int best = -1;
    double bestDistance = kPickPixels;
    for (int i : drawn_) {
        const ScatterPoint &pt = points_[std::size_t(i)];
        const QPointF c(p->xAxis->coordToPixel(scatterX(pt, axis())), p->yAxis->coordToPixel(100.0 * pt.accuracy));
        const double d = std::hypot(c.x() - pos.x(), c.y() - pos.y());
        if (d <= bestDistance) {
            bestDistance = d;
            best = i;
        }
    }
    return best;
}

QString RunsScatter::pointToolTip(int index) const
{
    if (index < 0 || index >= int(points_.size()))
        return {};
    const ScatterPoint &p = points_[std::size_t(index)];
    const bool onFront = std::find(front_.begin(), front_.end(), index) != front_.end();
    // Models with the same figures are drawn on top of each other: name them.
    QStringList same;
    for (int i : drawn_) {
        const ScatterPoint &q = points_[std::size_t(i)];
        if (i != index && q.accuracy == p.accuracy && scatterX(q, axis()) == scatterX(p, axis()))
            same << QStringLiteral("%1 (%2)").arg(q.runName.toHtmlEscaped(), stageLabel(q.stage));
    }
    return tr("<b>%1</b><br>%2<br>test accuracy %3<br>%4 %5%6%7<br><i>Click to open this run</i>")
        .arg(p.runName.toHtmlEscaped(), stageLabel(p.stage), fmt::percent(p.accuracy), axisName(axis()),
             xText(scatterX(p, axis()), axis()), onFront ? tr("<br>on the Pareto front") : QString(),
             same.isEmpty() ? QString() : tr("<br>the same figures: %1").arg(same.join(QLatin1String(", "))));
}

bool RunsScatter::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == plot() && event->type() == QEvent::Resize) {
        // As many ticks and legend columns as the new width holds.
        const int width = static_cast<QResizeEvent *>(event)->size().width();
        static_cast<CompactLogTicker *>(plot()->xAxis->ticker().data())->room = width / 55;
        plotlook::wrapLegend(plot()->legend, width);
    }
    if (watched == plot() && event->type() == QEvent::ToolTip) {
        auto *help = static_cast<QHelpEvent *>(event);
        const int i = pointAt(help->pos());
        if (i >= 0) {
            QToolTip::showText(help->globalPos(), pointToolTip(i), plot());
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

bool RunsScatter::exportTo(const QString &path, QString *error)
{
    return figure_->exportTo(path, error);
}
