#include "liveview.h"

#include "format.h"
#include "liveplot.h"
#include "stagestyle.h"

#include "distillery/runs.h"

#include <QGridLayout>
#include <QLabel>
#include <QStackedLayout>

#include <algorithm>
#include <array>
#include <vector>

#include <cmath>

using namespace distillery;

// The live series of one stage in each plot.
struct LiveView::StageSeries {
    int loss = -1, soft = -1, hard = -1;
    int trainAcc = -1, valAcc = -1;
    int lr = -1, speed = -1;
};

namespace {

// One stage of a compared run, read back from its metrics: every step for the
// loss, learning rate and throughput, the validated epochs for the accuracy.
struct StageCurves {
    QVector<double> step, epoch, loss, lr, speed;
    QVector<double> accStep, accEpoch, acc;
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
        }
    return c;
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
                     tr(" in the colours of the Runs panel; dotted: teacher, dashed: baseline, solid: student");
    caption_->setText(parts.join(QStringLiteral(" · ")));
}

void LiveView::clear(const QString &waiting)
{
    for (LivePlot *p : plots())
        p->clear();
    qDeleteAll(stages_);
    stages_.clear();
    runColors_.clear();
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
        // One colour per stage; the student's loss parts in its colour, told
        // apart by their line.
        s->loss = lossPlot_->addSeries(n, c);
        if (kind == StageKind::Distillation) {
            s->soft = lossPlot_->addSeries(tr("soft (KD)"), c, Qt::DashLine);
            s->hard = lossPlot_->addSeries(tr("hard (CE)"), c, Qt::DotLine);
        }
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
    for (const auto &[name, value] : m.parts) {
        if (name == "soft" && s.soft >= 0)
            lossPlot_->addPoint(s.soft, double(m.step), epochPos, value);
        else if (name == "hard" && s.hard >= 0)
            lossPlot_->addPoint(s.hard, double(m.step), epochPos, value);
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

void LiveView::showRuns(const QStringList &runDirs, bool keepLive)
{
    liveShown_ = keepLive || runDirs.isEmpty();
    for (LivePlot *p : plots()) {
        p->removeOverlays();
        p->showOwnSeries(liveShown_);
    }
    runColors_.clear();
    // One colour per run (its key is in the Runs panel) and a line style per
    // stage; the legend shows the styles once.
    const Qt::PenStyle styleOf[] = {Qt::DotLine, Qt::DashLine, Qt::SolidLine};
    const StageKind kinds[] = {StageKind::Teacher, StageKind::Baseline, StageKind::Distillation};
    std::vector<std::array<StageCurves, 3>> runs;
    for (const QString &dir : runDirs) {
        const RunMetrics metrics = readRunMetrics(dir.toStdString());
        runs.push_back({stageCurves(metrics, kinds[0]), stageCurves(metrics, kinds[1]), stageCurves(metrics, kinds[2])});
    }
    for (StageKind kind : kinds) {
        const bool drawn = std::any_of(runs.begin(), runs.end(), [&](const auto &r) { return !r[int(kind)].step.isEmpty(); });
        if (!drawn)
            continue;
        // The stage's entry in each legend: its line style, in the text's colour.
        std::array<int, 4> key{};
        for (int i = 0; i < 4; ++i)
            key[std::size_t(i)] = plots()[i]->addSeries(stageTitle(kind), palette().color(QPalette::Text),
                                                        styleOf[int(kind)], true);
        for (std::size_t r = 0; r < runs.size(); ++r) {
            const StageCurves &s = runs[r][int(kind)];
            if (s.step.isEmpty())
                continue;
            const QColor c = runColor(int(r));
            const Qt::PenStyle ps = styleOf[int(kind)];
            const QString label = stageTitle(kind);
            lossPlot_->addPoints(lossPlot_->addSeries(label, c, ps, true, key[0]), s.step, s.epoch, s.loss);
            accuracyPlot_->addPoints(accuracyPlot_->addSeries(label, c, ps, true, key[1]), s.accStep, s.accEpoch, s.acc);
            lrPlot_->addPoints(lrPlot_->addSeries(label, c, ps, true, key[2]), s.step, s.epoch, s.lr);
            speedPlot_->addPoints(speedPlot_->addSeries(label, c, ps, true, key[3]), s.step, s.epoch, s.speed);
        }
    }
    for (int r = 0; r < int(runDirs.size()); ++r)
        runColors_.insert(runDirs[r], runColor(r));
    for (LivePlot *p : plots())
        p->resetView();
    updateState();
}
