#include "liveview.h"

#include "format.h"
#include "liveplot.h"
#include "stagestyle.h"

#include "distillery/runs.h"

#include <QFileInfo>
#include <QGridLayout>

#include <cmath>
#include <iterator>

using namespace distillery;

// The live series of one stage in each plot.
struct LiveView::StageSeries {
    int loss = -1, soft = -1, hard = -1;
    int trainAcc = -1, valAcc = -1;
    int lr = -1, speed = -1;
};

namespace {

const QColor overlayColors[] = {QColor(0, 137, 123), QColor(194, 24, 91), QColor(109, 76, 65), QColor(85, 139, 47),
                                QColor(69, 90, 100), QColor(251, 140, 0)};

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
      speedPlot_(new LivePlot(tr("Throughput"), tr("samples/s")))
{
    auto *grid = new QGridLayout(this);
    grid->setContentsMargins(2, 2, 2, 2);
    grid->addWidget(lossPlot_, 0, 0);
    grid->addWidget(accuracyPlot_, 0, 1);
    grid->addWidget(lrPlot_, 1, 0);
    grid->addWidget(speedPlot_, 1, 1);
    grid->setRowStretch(0, 3);
    grid->setRowStretch(1, 2);
    accuracyPlot_->setXAxis(LivePlot::XAxis::Epoch);
    accuracyPlot_->setLegendCorner(Qt::AlignRight | Qt::AlignBottom); // accuracy rises towards the top right
}

LiveView::~LiveView()
{
    qDeleteAll(stages_);
}

void LiveView::clear()
{
    for (LivePlot *p : {lossPlot_, accuracyPlot_, lrPlot_, speedPlot_})
        p->clear();
    qDeleteAll(stages_);
    stages_.clear();
}

LiveView::StageSeries &LiveView::seriesFor(StageKind kind)
{
    const int key = int(kind);
    if (!stages_.contains(key)) {
        auto *s = new StageSeries;
        const QColor c = stageColor(kind);
        const QString n = stageTitle(kind);
        s->loss = lossPlot_->addSeries(kind == StageKind::Distillation ? tr("%1 total").arg(n) : n, c);
        if (kind == StageKind::Distillation) {
            s->soft = lossPlot_->addSeries(tr("%1 soft (KD)").arg(n), c.lighter(140), Qt::DashLine);
            s->hard = lossPlot_->addSeries(tr("%1 hard (CE)").arg(n), c.darker(130), Qt::DotLine);
        }
        s->trainAcc = accuracyPlot_->addSeries(tr("%1 train").arg(n), c.lighter(150), Qt::DashLine);
        s->valAcc = accuracyPlot_->addSeries(tr("%1 validation").arg(n), c);
        s->lr = lrPlot_->addSeries(n, c);
        s->speed = speedPlot_->addSeries(n, c);
        stages_.insert(key, s);
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

void LiveView::showRuns(const QStringList &runDirs)
{
    for (LivePlot *p : {lossPlot_, accuracyPlot_, lrPlot_, speedPlot_})
        p->removeOverlays();
    int colour = 0;
    for (const QString &dir : runDirs) {
        const RunMetrics metrics = readRunMetrics(dir.toStdString());
        const QString name = QString::fromStdString(readRunInfo(dir.toStdString()).name) + QLatin1Char(' ') +
                             QFileInfo(dir).fileName().left(15);
        const QColor c = overlayColors[colour++ % std::size(overlayColors)];
        const Qt::PenStyle styleFor[] = {Qt::DotLine, Qt::DashLine, Qt::SolidLine};
        for (StageKind kind : {StageKind::Teacher, StageKind::Baseline, StageKind::Distillation}) {
            const StageCurves s = stageCurves(metrics, kind);
            if (s.step.isEmpty() && s.acc.isEmpty())
                continue;
            const QString label = QStringLiteral("%1: %2").arg(name, stageTitle(kind));
            const Qt::PenStyle ps = styleFor[int(kind)];
            lossPlot_->addPoints(lossPlot_->addSeries(label, c, ps, true), s.step, s.epoch, s.loss);
            accuracyPlot_->addPoints(accuracyPlot_->addSeries(label + tr(" validation"), c, ps, true), s.accStep,
                                     s.accEpoch, s.acc);
            lrPlot_->addPoints(lrPlot_->addSeries(label, c, ps, true), s.step, s.epoch, s.lr);
            speedPlot_->addPoints(speedPlot_->addSeries(label, c, ps, true), s.step, s.epoch, s.speed);
        }
    }
    for (LivePlot *p : {lossPlot_, accuracyPlot_, lrPlot_, speedPlot_})
        p->resetView();
}
