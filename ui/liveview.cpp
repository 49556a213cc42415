#include "liveview.h"

#include "format.h"
#include "liveplot.h"
#include "plotmarkers.h"
#include "stagestyle.h"

#include "distillery/runs.h"

#include <QGridLayout>
#include <QLabel>
#include <QStackedLayout>

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <vector>

#include <cmath>

using namespace distillery;

// The live series of one stage in each plot.
struct LiveView::StageSeries {
    int loss = -1;
    std::map<std::string, int> parts; // the loss parts the stage's method reports, by name
    int trainAcc = -1, valAcc = -1;
    int lr = -1, speed = -1;
};

namespace {

// One loss part of a step report as it is drawn: in its stage's (or its
// run's) colour, told apart from the stage's total and the other parts by
// its line.
struct PartLine {
    std::string name;
    double value = 0.0;
    Qt::PenStyle style = Qt::DashLine;
};

// The parts of a report in the order they are listed, with their lines: the
// method's own terms by name, dashed, dash-dotted, dash-dot-dotted; then the
// labels' cross-entropy ("hard"), dotted in every method. By name, not as
// reported: a run read back from its folder lists its parts alphabetically,
// and must look as it did live. kd's soft and hard keep their look.
std::vector<PartLine> partLines(const std::vector<NamedValue> &parts)
{
    std::vector<NamedValue> sorted = parts;
    std::stable_sort(sorted.begin(), sorted.end(), [](const NamedValue &a, const NamedValue &b) {
        const bool aHard = a.first == "hard", bHard = b.first == "hard";
        return aHard != bHard ? bHard : a.first < b.first;
    });
    static const Qt::PenStyle own[] = {Qt::DashLine, Qt::DashDotLine, Qt::DashDotDotLine};
    std::vector<PartLine> lines;
    int k = 0;
    for (const auto &[name, value] : sorted)
        lines.push_back({name, value, name == "hard" ? Qt::DotLine : own[k++ % 3]});
    return lines;
}

// A part's legend entry, e.g. "student tckd". The student's soft and hard
// parts keep the names they had before methods had parts of their own; the
// labels' cross-entropy is the same term in every method.
QString partLabel(StageKind kind, const std::string &name)
{
    if (kind == StageKind::Distillation && name == "soft")
        return QObject::tr("soft (KD)");
    if (kind == StageKind::Distillation && name == "hard")
        return QObject::tr("hard (CE)");
    return QStringLiteral("%1 %2").arg(stageTitle(kind), QString::fromStdString(name));
}

struct Curve {
    QVector<double> step, epoch, y;
    Qt::PenStyle style = Qt::DashLine;
};

// One stage of a compared run, read back from its metrics: every step for the
// loss (and its parts), learning rate and throughput, the validated epochs
// for the accuracy.
struct StageCurves {
    QVector<double> step, epoch, loss, lr, speed;
    QVector<double> accStep, accEpoch, acc;
    std::vector<std::pair<std::string, Curve>> parts; // in the order partLines lists them
};

StageCurves stageCurves(const RunMetrics &metrics, StageKind kind)
{
    StageCurves c;
    std::int64_t maxStep = 1;
    int maxEpoch = 1;
    for (const auto &e : metrics.epochs)
        if (e.stage == kind) {
            maxStep = std::max(maxStep, e.step);
            maxEpoch = std::max(maxEpoch, e.epoch);
            if (std::isfinite(e.valAccuracy)) {
                c.accStep << double(e.step);
                c.accEpoch << e.epoch;
                c.acc << 100 * e.valAccuracy;
            }
        }
    const double stepsPerEpoch = double(maxStep) / maxEpoch;
    for (const auto &m : metrics.steps)
        if (m.stage == kind) {
            c.step << double(m.step);
            c.epoch << double(m.step) / stepsPerEpoch;
            c.loss << m.loss;
            c.lr << m.learningRate;
            c.speed << m.samplesPerSecond;
            for (const PartLine &p : partLines(m.parts)) {
                auto it = std::find_if(c.parts.begin(), c.parts.end(), [&](const auto &e) { return e.first == p.name; });
                if (it == c.parts.end())
                    it = c.parts.insert(c.parts.end(), {p.name, Curve{{}, {}, {}, p.style}});
                it->second.step << double(m.step);
                it->second.epoch << double(m.step) / stepsPerEpoch;
                it->second.y << p.value;
            }
        }
    return c;
}

// The stages of one compared run: teacher, baseline, student.
using RunCurves = std::array<StageCurves, 3>;

// "T = 2", "α = 0.9", "beta = 4": a setting changed while a run trained.
QString settingLabel(const SettingChange &c)
{
    const QString name = c.key == "temperature" ? QStringLiteral("T")
                         : c.key == "alpha"     ? QStringLiteral("α")
                                                : QString::fromStdString(c.key);
    return QStringLiteral("%1 = %2").arg(name).arg(c.value, 0, 'g', 4);
}

// Where a compared run's setting changes go on the plots.
struct ChangeMark {
    double step, epoch;
    SettingChange change;
};

std::vector<ChangeMark> changeMarks(const RunMetrics &metrics)
{
    std::vector<ChangeMark> marks;
    for (const auto &c : metrics.changes) {
        std::int64_t maxStep = 1;
        int maxEpoch = 1;
        for (const auto &e : metrics.epochs)
            if (e.stage == c.stage) {
                maxStep = std::max(maxStep, e.step);
                maxEpoch = std::max(maxEpoch, e.epoch);
            }
        marks.push_back({double(c.step), double(c.step) * maxEpoch / double(maxStep), c});
    }
    return marks;
}

QColor faint(QColor c)
{
    c.setAlpha(120);
    return c;
}

// Draws one stage of every compared run in `plots` (loss, accuracy, learning
// rate, throughput): one colour per run and a line style per stage, which a
// key in each legend shows once. The stage's loss parts are drawn faint in
// the run's colour, in their own lines (whose dashes may be those of other
// stages' totals), with a key per part. Returns whether it drew any part.
bool drawComparedStage(const QList<LivePlot *> &plots, StageKind kind, const std::vector<RunCurves> &runs,
                       const QColor &text)
{
    const Qt::PenStyle styleOf[] = {Qt::DotLine, Qt::DashLine, Qt::SolidLine};
    const Qt::PenStyle ps = styleOf[int(kind)];
    const QString label = stageTitle(kind);
    // The stage's entry in each legend: its line style, in the text's colour.
    std::array<int, 4> key{};
    for (std::size_t i = 0; i < key.size(); ++i)
        key[i] = plots[int(i)]->addSeries(label, text, ps, true);
    LivePlot *loss = plots[0];
    std::map<std::string, int> partKeys;
    for (std::size_t r = 0; r < runs.size(); ++r) {
        const StageCurves &s = runs[r][int(kind)];
        if (s.step.isEmpty())
            continue;
        const QColor c = runColor(int(r));
        loss->addPoints(loss->addSeries(label, c, ps, true, key[0]), s.step, s.epoch, s.loss);
        plots[1]->addPoints(plots[1]->addSeries(label, c, ps, true, key[1]), s.accStep, s.accEpoch, s.acc);
        plots[2]->addPoints(plots[2]->addSeries(label, c, ps, true, key[2]), s.step, s.epoch, s.lr);
        plots[3]->addPoints(plots[3]->addSeries(label, c, ps, true, key[3]), s.step, s.epoch, s.speed);
        for (const auto &[name, curve] : s.parts) {
            const QString partName = partLabel(kind, name);
            auto it = partKeys.find(name);
            if (it == partKeys.end())
                it = partKeys.emplace(name, loss->addSeries(partName, faint(text), curve.style, true)).first;
            loss->addPoints(loss->addSeries(partName, faint(c), curve.style, true, it->second), curve.step, curve.epoch,
                            curve.y);
        }
    }
    return !partKeys.empty();
}

} // namespace

LiveView::LiveView(QWidget *parent)
    : QWidget(parent), lossPlot_(new LivePlot(tr("Loss"), tr("loss"))),
      accuracyPlot_(new LivePlot(tr("Accuracy"), tr("accuracy (%)"))),
      lrPlot_(new LivePlot(tr("Learning rate"), tr("learning rate"))),
      speedPlot_(new LivePlot(tr("Throughput"), tr("samples/s"))), caption_(new QLabel), empty_(new QLabel),
      stack_(new QStackedLayout), plotPage_(new QWidget)
{
    auto *grid = new QGridLayout(plotPage_);
    grid->setContentsMargins(2, 0, 2, 2);
    grid->addWidget(caption_, 0, 0, 1, 2);
    grid->addWidget(lossPlot_, 1, 0);
    grid->addWidget(accuracyPlot_, 1, 1);
    grid->addWidget(lrPlot_, 2, 0);
    grid->addWidget(speedPlot_, 2, 1);
    grid->setRowStretch(1, 3);
    grid->setRowStretch(2, 2);
    caption_->setTextFormat(Qt::RichText);
    caption_->setWordWrap(true);
    accuracyPlot_->setXAxis(LivePlot::XAxis::Epoch);
    accuracyPlot_->setEmptyHint(tr("Measured on the validation set at the end of each epoch"));
    for (LivePlot *p : {lossPlot_, lrPlot_, speedPlot_})
        p->setEmptyHint(tr("Waiting for the first steps…"));
    for (LivePlot *p : plots()) {
        liveMarkers_ << new PlotMarkers(p);
        comparedMarkers_ << new PlotMarkers(p);
    }

    empty_->setAlignment(Qt::AlignCenter);
    empty_->setWordWrap(true);
    empty_->setTextFormat(Qt::RichText);
    empty_->setForegroundRole(QPalette::PlaceholderText);
    empty_->setMargin(24);
    stack_->addWidget(empty_);
    stack_->addWidget(plotPage_);
    setLayout(stack_);
    setEmptyText({});
}

LiveView::~LiveView()
{
    qDeleteAll(stages_);
}

void LiveView::setEmptyText(const QString &text)
{
    empty_->setText(!text.isEmpty() ? text
                                    : tr("<p style='font-size:large'>No run to show yet.</p>"
                                         "<p>Press <b>Start</b> (Ctrl+R) to train this experiment,<br>"
                                         "or select a run below to see its curves.</p>"));
}

bool LiveView::showsPlots() const
{
    return stack_->currentWidget() == plotPage_;
}

void LiveView::updateState()
{
    const bool live = !stages_.isEmpty() && liveShown_;
    const int compared = int(runColors_.size());
    stack_->setCurrentWidget(live || compared ? plotPage_ : static_cast<QWidget *>(empty_));
    QStringList parts;
    if (live)
        parts << tr("Run <b>%1</b>").arg(liveName_.toHtmlEscaped()) +
                     (liveFolder_.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(liveFolder_.toHtmlEscaped()));
    if (compared)
        parts << (compared == 1 ? tr("1 compared run") : tr("%1 compared runs").arg(compared)) +
                     tr(" in the colours of the Runs panel; dotted: teacher, dashed: baseline, solid: student") +
                     (comparedParts_ ? tr("; faint: loss parts") : QString());
    caption_->setText(parts.join(QStringLiteral(" · ")));
}

void LiveView::clear(const QString &waiting)
{
    for (LivePlot *p : plots())
        p->clear();
    for (PlotMarkers *m : liveMarkers_ + comparedMarkers_)
        m->clear();
    qDeleteAll(stages_);
    stages_.clear();
    runColors_.clear();
    comparedParts_ = false;
    trainKey_ = -1;
    liveShown_ = true;
    liveName_.clear();
    liveFolder_.clear();
    setEmptyText(waiting);
    updateState();
}

void LiveView::setLiveRun(const QString &name, const QString &folder)
{
    liveName_ = name;
    liveFolder_ = folder;
    updateState();
}

LiveView::StageSeries &LiveView::seriesFor(StageKind kind)
{
    const int key = int(kind);
    if (!stages_.contains(key)) {
        auto *s = new StageSeries;
        const QColor c = stageColor(kind);
        const QString n = stageTitle(kind);
        // One colour per stage; the loss parts its method reports are added
        // in its colour as they first come (addStep).
        s->loss = lossPlot_->addSeries(n, c);
        // Validation solid in the stage's entry; training dashed, under one
        // entry for all stages that shows and hides them together.
        s->valAcc = accuracyPlot_->addSeries(n, c);
        if (trainKey_ < 0)
            trainKey_ = accuracyPlot_->addSeries(tr("train (dashed)"), palette().color(QPalette::Text), Qt::DashLine);
        s->trainAcc = accuracyPlot_->addSeries(tr("%1 train").arg(n), c, Qt::DashLine, false, trainKey_);
        s->lr = lrPlot_->addSeries(n, c);
        s->speed = speedPlot_->addSeries(n, c);
        stages_.insert(key, s);
        updateState();
    }
    return *stages_[key];
}

void LiveView::stageStarted(const StageInfo &info)
{
    stepsPerEpoch_ = info.stepsPerEpoch;
    seriesFor(info.kind);
}

void LiveView::addStep(const StepMetrics &m)
{
    StageSeries &s = seriesFor(m.stage);
    const double steps = double(stepsPerEpoch_ ? stepsPerEpoch_ : 1);
    const double epochPos = double(m.step) / steps;
    lossPlot_->addPoint(s.loss, double(m.step), epochPos, m.loss);
    for (const PartLine &p : partLines(m.parts)) {
        auto it = s.parts.find(p.name);
        if (it == s.parts.end())
            it = s.parts.emplace(p.name, lossPlot_->addSeries(partLabel(m.stage, p.name), stageColor(m.stage), p.style))
                     .first;
        lossPlot_->addPoint(it->second, double(m.step), epochPos, p.value);
    }
    lrPlot_->addPoint(s.lr, double(m.step), epochPos, m.learningRate);
    speedPlot_->addPoint(s.speed, double(m.step), epochPos, m.samplesPerSecond);
}

void LiveView::addEpoch(const EpochMetrics &m)
{
    StageSeries &s = seriesFor(m.stage);
    accuracyPlot_->addPoint(s.trainAcc, double(m.step), m.epoch, 100 * m.trainAccuracy);
    if (std::isfinite(m.valAccuracy))
        accuracyPlot_->addPoint(s.valAcc, double(m.step), m.epoch, 100 * m.valAccuracy);
}

void LiveView::stageFinished(const StageResult &r)
{
    if (r.kind == StageKind::Teacher && r.testAccuracy > 0)
        accuracyPlot_->setReferenceLine(tr("teacher test %1").arg(fmt::percent(r.testAccuracy)), 100 * r.testAccuracy);
}

void LiveView::addSettingChange(const SettingChange &c)
{
    const double steps = double(stepsPerEpoch_ ? stepsPerEpoch_ : 1);
    for (PlotMarkers *m : liveMarkers_)
        m->add(double(c.step), double(c.step) / steps, settingLabel(c), stageColor(c.stage));
}

void LiveView::showRuns(const QStringList &runDirs, bool keepLive)
{
    liveShown_ = keepLive || runDirs.isEmpty();
    for (LivePlot *p : plots()) {
        p->removeOverlays();
        p->showOwnSeries(liveShown_);
    }
    runColors_.clear();
    comparedParts_ = false;
    std::vector<RunCurves> runs;
    std::vector<std::vector<ChangeMark>> marks;
    for (const QString &dir : runDirs) {
        const RunMetrics metrics = readRunMetrics(dir.toStdString());
        runs.push_back({stageCurves(metrics, StageKind::Teacher), stageCurves(metrics, StageKind::Baseline),
                        stageCurves(metrics, StageKind::Distillation)});
        marks.push_back(changeMarks(metrics));
    }
    for (StageKind kind : {StageKind::Teacher, StageKind::Baseline, StageKind::Distillation}) {
        const bool drawn = std::any_of(runs.begin(), runs.end(), [&](const auto &r) { return !r[int(kind)].step.isEmpty(); });
        if (drawn && drawComparedStage(plots(), kind, runs, palette().color(QPalette::Text)))
            comparedParts_ = true;
    }
    for (int r = 0; r < int(runDirs.size()); ++r)
        runColors_.insert(runDirs[r], runColor(r));
    for (PlotMarkers *m : comparedMarkers_)
        m->clear();
    for (int r = 0; r < int(runDirs.size()); ++r)
        for (const auto &c : marks[std::size_t(r)])
            for (PlotMarkers *m : comparedMarkers_)
                m->add(c.step, c.epoch, settingLabel(c.change), runColor(r));
    for (LivePlot *p : plots())
        p->resetView();
    updateState();
}
