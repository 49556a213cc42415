#include "curveimage.h"

#include "stagestyle.h"

#include "distillery/runs.h"

#include <qcustomplot.h>

#include <cmath>

using namespace distillery;

QString drawRunCurves(const QString &runDir, const QString &pngPath)
{
    const RunMetrics metrics = readRunMetrics(runDir.toStdString());
    if (metrics.epochs.empty())
        return QObject::tr("the run has no finished epochs");

    QCustomPlot plot;
    plot.plotLayout()->clear();
    auto *title = new QCPTextElement(&plot, QObject::tr("Training loss and accuracy per epoch"),
                                     QFont(plot.font().family(), 11, QFont::Bold));
    plot.plotLayout()->addElement(0, 0, title);
    // The legend in a row under the title, where it covers no curve.
    auto *legend = new QCPLegend;
    plot.plotLayout()->addElement(1, 0, legend);
    plot.plotLayout()->setRowStretchFactor(0, 0.001);
    plot.plotLayout()->setRowStretchFactor(1, 0.001);
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    legend->setWrap(6);
    legend->setBorderPen(Qt::NoPen);
    legend->setLayer(QStringLiteral("legend"));
    auto *row = new QCPLayoutGrid;
    plot.plotLayout()->addElement(2, 0, row);
    auto *lossRect = new QCPAxisRect(&plot);
    auto *accRect = new QCPAxisRect(&plot);
    row->addElement(0, 0, lossRect);
    row->addElement(0, 1, accRect);
    lossRect->axis(QCPAxis::atBottom)->setLabel(QObject::tr("epoch"));
    lossRect->axis(QCPAxis::atLeft)->setLabel(QObject::tr("training loss (each stage's objective)"));
    accRect->axis(QCPAxis::atBottom)->setLabel(QObject::tr("epoch"));
    accRect->axis(QCPAxis::atLeft)->setLabel(QObject::tr("accuracy (%)"));


    for (StageKind kind : {StageKind::Teacher, StageKind::Baseline, StageKind::Distillation}) {
        QVector<double> epoch, loss, val, test;
        for (const auto &e : metrics.epochs)
            if (e.stage == kind) {
                epoch << e.epoch;
                loss << e.trainLoss;
                val << (std::isfinite(e.valAccuracy) ? 100 * e.valAccuracy : qQNaN());
                test << 100 * e.testAccuracy;
            }
        if (epoch.isEmpty())
            continue;
        const QColor c = stageColor(kind);
        auto add = [&](QCPAxisRect *rect, const QVector<double> &y, Qt::PenStyle style, const QString &name) {
            auto *g = plot.addGraph(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
            g->setData(epoch, y, true);
            g->setPen(QPen(c, 2, style));
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 5));
            g->setName(name);
            g->removeFromLegend();
            if (!name.isEmpty())
                g->addToLegend(legend);
        };
        add(lossRect, loss, Qt::SolidLine, {});
        add(accRect, test, Qt::SolidLine, stageTitle(kind) + QObject::tr(" test"));
        add(accRect, val, Qt::DashLine, stageTitle(kind) + QObject::tr(" validation"));
    }
    for (auto *rect : {lossRect, accRect})
        for (auto *axis : rect->axes())
            axis->rescale();
    for (auto *rect : {lossRect, accRect}) {
        auto *x = rect->axis(QCPAxis::atBottom);
        x->setRange(x->range().lower - 0.3, x->range().upper + 0.3);
        auto *y = rect->axis(QCPAxis::atLeft);
        const double pad = 0.05 * std::max(1e-6, y->range().size());
        y->setRange(y->range().lower - pad, y->range().upper + pad);
    }
    if (!plot.savePng(pngPath, 1200, 450))
        return QObject::tr("cannot write %1").arg(pngPath);
    return {};
}
