#include "sweepheatmap.h"

#include "insightplot.h"

#include <qcustomplot.h>

#include <cmath>

namespace {

constexpr int kMaxCellTexts = 400; // more cells than this: the tooltips say the numbers

QString percentText(double v, bool sign)
{
    if (!std::isfinite(v))
        return {};
    return (sign && v > 0 ? QStringLiteral("+") : QString()) + QString::number(100.0 * v, 'f', 1);
}

} // namespace

SweepHeatmap::SweepHeatmap(QCustomPlot *plot) : plot_(plot)
{
    insight::Heatmap h = insight::makeHeatmap(plot, QString());
    map_ = h.map;
    scale_ = h.scale;
    plot->yAxis->setRangeReversed(false);
    best_ = new QCPItemRect(plot);
    best_->setPen(QPen(QColor(255, 160, 0), 3));
    best_->setBrush(Qt::NoBrush);
    best_->setVisible(false);
}

void SweepHeatmap::setTicks(bool bottom, const QStringList &values, const QString &key)
{
    QCPAxis *axis = bottom ? plot_->xAxis : plot_->yAxis;
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int i = 0; i < values.size(); ++i)
        ticker->addTick(i, sweepValueText(values[i]));
    axis->setTicker(ticker);
    axis->setSubTicks(false);
    axis->setLabel(key);
    axis->setRange(-0.5, values.size() - 0.5);
}

void SweepHeatmap::draw(const SweepGrid &grid, SweepMeasure measure, bool stddev)
{
    columns_ = grid.columns();
    rows_ = grid.rows();
    map_->data()->setSize(columns_, rows_);
    // A single column or row spans its range (QCPColorMapData), the others reach half a cell past theirs.
    const auto span = [](int n) { return n == 1 ? QCPRange(-0.5, 0.5) : QCPRange(0, n - 1); };
    map_->data()->setRange(span(columns_), span(rows_));
    double lo = INFINITY, hi = -INFINITY;
    for (int y = 0; y < rows_; ++y)
        for (int x = 0; x < columns_; ++x) {
            const SweepCell &c = grid.cell(x, y);
            const double v = 100.0 * (stddev ? c.stddev : c.mean);
            map_->data()->setCell(x, y, std::isfinite(v) ? v : qQNaN());
            if (std::isfinite(v)) {
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
        }
    insight::Heatmap h;
    h.map = map_;
    h.scale = scale_;
    const bool diverging = measure == SweepMeasure::GainOverBaseline && !stddev;
    if (diverging) {
        insight::useDiverging(h);
        const double m = std::max({std::fabs(lo), std::fabs(hi), 0.1});
        map_->setDataRange(QCPRange(-m, m));
    } else {
        insight::useSequential(h, stddev ? QColor(230, 120, 20) : QColor(33, 102, 172));
        map_->setDataRange(std::isfinite(lo) ? QCPRange(lo, hi > lo ? hi : lo + 0.1) : QCPRange(0, 1));
    }
    const QString what = measure == SweepMeasure::StudentAccuracy ? QObject::tr("student test accuracy (%)")
                                                                  : QObject::tr("gain over the baseline (points)");
    scale_->axis()->setLabel(stddev ? QObject::tr("std. dev. of the %1").arg(what) : what);
    setTicks(true, grid.xValues, grid.xKey);
    setTicks(false, grid.yValues, grid.yKey);
    setTexts(grid, measure, stddev);
    best_->setVisible(grid.best >= 0);
    if (grid.best >= 0) {
        const int bx = grid.best % columns_, by = grid.best / columns_;
        best_->topLeft->setCoords(bx - 0.48, by + 0.48);
        best_->bottomRight->setCoords(bx + 0.48, by - 0.48);
    }
    plot_->replot();
}

void SweepHeatmap::setTexts(const SweepGrid &grid, SweepMeasure measure, bool stddev)
{
    for (QCPItemText *t : std::as_const(texts_))
        plot_->removeItem(t);
    texts_.clear();
    if (columns_ * rows_ > kMaxCellTexts)
        return;
    QCPColorGradient gradient = map_->gradient();
    const QCPRange range = map_->dataRange();
    for (int y = 0; y < rows_; ++y)
        for (int x = 0; x < columns_; ++x) {
            const SweepCell &c = grid.cell(x, y);
            auto *t = new QCPItemText(plot_);
            t->position->setCoords(x, y);
            t->setClipToAxisRect(true);
            const bool sign = measure == SweepMeasure::GainOverBaseline;
            QString text = stddev ? percentText(c.stddev, false) : percentText(c.mean, sign);
            if (!stddev && std::isfinite(c.stddev))
                text += QStringLiteral("\n±") + percentText(c.stddev, false);
            if (c.counted < int(c.points.size()))
                text += QStringLiteral("\n%1/%2").arg(c.counted).arg(c.points.size());
            t->setText(text);
            const double z = map_->data()->cell(x, y);
            const QColor fill = std::isfinite(z) ? QColor(gradient.color(z, range)) : QColor(Qt::white);
            t->setColor(fill.lightness() < 120 ? Qt::white : Qt::black);
            texts_ << t;
        }
}

bool SweepHeatmap::cellAt(const QPointF &pos, int *x, int *y) const
{
    if (!columns_ || !rows_ || !plot_->axisRect()->rect().contains(pos.toPoint()))
        return false;
    const int cx = int(std::lround(plot_->xAxis->pixelToCoord(pos.x())));
    const int cy = int(std::lround(plot_->yAxis->pixelToCoord(pos.y())));
    if (cx < 0 || cy < 0 || cx >= columns_ || cy >= rows_)
        return false;
    *x = cx;
    *y = cy;
    return true;
}

QPointF SweepHeatmap::cellCentre(int x, int y) const
{
    return {plot_->xAxis->coordToPixel(x), plot_->yAxis->coordToPixel(y)};
}
