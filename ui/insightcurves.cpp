#include "insightcurves.h"

#include "insightdata.h"
#include "insightplot.h"
#include "liveplot.h"
#include "plotlook.h"
#include "stagestyle.h"

#include <qcustomplot.h>

#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

#include <cmath>

using namespace distillery;

namespace {

const StageKind kKinds[] = {StageKind::Teacher, StageKind::Baseline, StageKind::Distillation};

// The count bars' axis rect under the diagram's, sharing its width.
QCPAxisRect *countRect(QCustomPlot *p)
{
    if (p->axisRectCount() > 1)
        return p->axisRect(1);
    auto *rect = new QCPAxisRect(p);
    p->plotLayout()->addElement(p->plotLayout()->rowCount(), 0, rect);
    p->plotLayout()->setRowStretchFactor(p->plotLayout()->rowCount() - 1, 0.3);
    auto *group = new QCPMarginGroup(p);
    p->axisRect(0)->setMarginGroup(QCP::msLeft | QCP::msRight, group);
    rect->setMarginGroup(QCP::msLeft | QCP::msRight, group);
    rect->axis(QCPAxis::atBottom)->setLabel(QObject::tr("confidence (largest probability)"));
    rect->axis(QCPAxis::atLeft)->setLabel(QObject::tr("examples"));
    rect->axis(QCPAxis::atBottom)->setRange(0, 1);
    for (QCPAxis *axis : rect->axes())
        axis->grid()->setPen(QPen(p->palette().color(QPalette::Mid), 0, Qt::DotLine));
    return rect;
}

void drawDiagram(InsightPlot *plot, const StageAnalysis *s, const QColor &color, const QString &title)
{
    QCustomPlot *p = plot->plot();
    p->clearPlottables();
    p->clearItems();
    QCPAxisRect *counts = countRect(p);
    auto *text = qobject_cast<QCPTextElement *>(p->plotLayout()->element(0, 0));
    if (!text) {
        p->plotLayout()->insertRow(0);
        text = new QCPTextElement(p, QString(), QFont(p->font().family(), p->font().pointSize()));
        p->plotLayout()->addElement(0, 0, text);
        p->plotLayout()->setRowStretchFactor(0, 0.001); // as tall as its text
    }
    text->setTextColor(p->palette().color(QPalette::Text));
    if (!s) {
        text->setText(QObject::tr("%1: not analysed").arg(title));
        p->replot();
        return;
    }
    text->setText(QObject::tr("%1 · ECE %2 · NLL %3 · Brier %4")
                      .arg(title).arg(s->calibration.ece, 0, 'f', 3).arg(s->nll, 0, 'f', 3).arg(s->brier, 0, 'f', 3));
    auto *accuracy = new QCPBars(p->xAxis, p->yAxis);
    accuracy->setName(QObject::tr("accuracy"));
    accuracy->setBrush(color);
    accuracy->setPen(QPen(color.darker(130)));
    auto *number = new QCPBars(counts->axis(QCPAxis::atBottom), counts->axis(QCPAxis::atLeft));
    number->setBrush(QColor(140, 140, 140));
    number->setPen(Qt::NoPen);
    double most = 1;
    for (const CalibrationBin &b : s->calibration.bins) {
        const double mid = (b.lower + b.upper) / 2;
        accuracy->setWidth(b.upper - b.lower);
        number->setWidth(b.upper - b.lower);
        number->addData(mid, double(b.count));
        most = std::max(most, double(b.count));
        if (b.count > 0 && std::isfinite(b.accuracy))
            accuracy->addData(mid, b.accuracy);
    }
    auto *confidence = p->addGraph();
    confidence->setName(QObject::tr("mean confidence"));
    confidence->setLineStyle(QCPGraph::lsNone);
    confidence->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, p->palette().color(QPalette::Text), 5));
    for (const CalibrationBin &b : s->calibration.bins)
        if (b.count > 0 && std::isfinite(b.confidence))
            confidence->addData((b.lower + b.upper) / 2, b.confidence);
    auto *diagonal = new QCPItemStraightLine(p);
    diagonal->point1->setCoords(0, 0);
    diagonal->point2->setCoords(1, 1);
    diagonal->setPen(QPen(p->palette().color(QPalette::Text), 1, Qt::DashLine));
    p->xAxis->setRange(0, 1);
    p->yAxis->setRange(0, 1);
    p->yAxis->setLabel(QObject::tr("accuracy"));
    counts->axis(QCPAxis::atLeft)->setRange(0, most * 1.1);
    p->replot();
}

} // namespace

InsightCalibration::InsightCalibration(QWidget *parent) : QWidget(parent)
{
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    const QString how = tr("Test examples in 15 equal bins of confidence (the largest softmax probability). Bars: "
                           "each bin's accuracy; dots: its mean confidence; dashed: a calibrated model (accuracy = "
                           "confidence). Below: examples per bin. ECE = Σ |bin|/N · |accuracy − confidence|; NLL: mean "
                           "−log p of the true class; Brier: mean Σ (p − one-hot)².");
    for (int m = 0; m < kInsightModels; ++m) {
        diagrams_[m] = new InsightPlot(tr("Reliability: %1").arg(modelTitle(InsightModel(m))), how, this);
        layout->addWidget(diagrams_[m]);
    }
}

void InsightCalibration::setRun(const InsightRun &run)
{
    for (int m = 0; m < kInsightModels; ++m)
        drawDiagram(diagrams_[m], run.stage(InsightModel(m)),
                    plotlook::onBackground(stageColor(kKinds[m]), palette()), modelTitle(InsightModel(m)));
}

InsightFidelity::InsightFidelity(QWidget *parent)
    : QWidget(parent), agreement_(new LivePlot(tr("Agreement"), tr("agreement with the teacher (%)"), this)),
      kl_(new LivePlot(tr("KL, T = 1"), tr("KL(teacher ‖ model)"), this)),
      klAtT_(new LivePlot(tr("KL at T"), tr("KL at the run's T"), this)),
      ece_(new LivePlot(tr("ECE"), tr("expected calibration error"), this)), note_(new QLabel(this))
{
    agreement_->setToolTip(tr("Per epoch, on the validation split: the fraction of examples whose argmax is the "
                              "teacher's (val_agreement in metrics.jsonl)"));
    kl_->setToolTip(tr("Per epoch, on the validation split: the mean of KL(softmax(t) ‖ softmax(z)) over the "
                       "examples (val_kl)"));
    klAtT_->setToolTip(tr("The same with softmax(t/T) and softmax(z/T), T the run's temperature (val_kl_at_t)"));
    ece_->setToolTip(tr("Per epoch, on the validation split: each model's expected calibration error, 15 bins "
                        "(val_ece)"));
    note_->setWordWrap(true);
    note_->setForegroundRole(QPalette::PlaceholderText);
    auto *grid = new QGridLayout;
    grid->setContentsMargins(0, 0, 0, 0);
    grid->addWidget(agreement_, 0, 0);
    grid->addWidget(kl_, 0, 1);
    grid->addWidget(klAtT_, 1, 0);
    grid->addWidget(ece_, 1, 1);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(note_);
    layout->addLayout(grid, 1);
}

InsightFidelity::Series InsightFidelity::series(int i) const
{
    const Series all[kSeries] = {{agreement_, &EpochMetrics::valAgreement, 100.0, false},
                                 {kl_, &EpochMetrics::valKl, 1.0, false},
                                 {klAtT_, &EpochMetrics::valKlAtT, 1.0, false},
                                 {ece_, &EpochMetrics::valEce, 1.0, true}};
    return all[i];
}

bool InsightFidelity::addPoint(int i, const EpochMetrics &e)
{
    const Series s = series(i);
    const int m = e.stage == StageKind::Teacher ? 0 : e.stage == StageKind::Baseline ? 1 : 2;
    if ((m == 0 && !s.teacher) || !std::isfinite(e.*s.field) || e.epoch <= lastEpoch_[i][m])
        return false;
    if (ids_[i][m] < 0)
        ids_[i][m] = s.plot->addSeries(modelTitle(InsightModel(m)), stageColor(kKinds[m]));
    s.plot->addPoint(ids_[i][m], double(e.step), e.epoch, s.scale * (e.*s.field));
    lastEpoch_[i][m] = e.epoch;
    return true;
}

void InsightFidelity::addEpoch(const EpochMetrics &e)
{
    bool any = false;
    for (int i = 0; i < kSeries; ++i)
        any = addPoint(i, e) || any;
    if (any)
        note_->hide();
}

void InsightFidelity::setRun(const InsightRun &run)
{
    int points = 0;
    for (int i = 0; i < kSeries; ++i) {
        series(i).plot->clear();
        series(i).plot->setXAxis(LivePlot::XAxis::Epoch);
        for (int m = 0; m < kInsightModels; ++m)
            ids_[i][m] = lastEpoch_[i][m] = -1;
        // In stage order, so that each curve's points come in epoch order.
        for (int m = 0; m < kInsightModels; ++m)
            for (const EpochMetrics &e : run.metrics.epochs)
                if (e.stage == kKinds[m])
                    points += addPoint(i, e) ? 1 : 0;
    }
    note_->setVisible(points == 0);
    note_->setText(tr("No fidelity per epoch in this run's metrics: it has no validation split, or it was made "
                      "before the epochs recorded it."));
}
