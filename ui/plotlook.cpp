#include "plotlook.h"

#include <qcustomplot.h>

#include <cmath>

namespace plotlook {

void applyPalette(QCustomPlot *plot, const QPalette &pal)
{
    plot->setBackground(pal.color(QPalette::Base));
    for (QCPAxis *axis : plot->axisRect()->axes()) {
        axis->setBasePen(QPen(pal.color(QPalette::Text)));
        axis->setTickPen(QPen(pal.color(QPalette::Text)));
        axis->setSubTickPen(QPen(pal.color(QPalette::Text)));
        axis->setTickLabelColor(pal.color(QPalette::Text));
        axis->setLabelColor(pal.color(QPalette::Text));
        axis->grid()->setPen(QPen(pal.color(QPalette::Mid), 0, Qt::DotLine));
    }
    plot->legend->setBrush(Qt::NoBrush);
    plot->legend->setBorderPen(Qt::NoPen);
    plot->legend->setTextColor(pal.color(QPalette::Text));
}

void placeLegendAbove(QCustomPlot *plot)
{
    plot->plotLayout()->insertRow(0);
    plot->axisRect()->insetLayout()->take(plot->legend);
    plot->plotLayout()->addElement(0, 0, plot->legend);
    plot->plotLayout()->setRowStretchFactor(0, 0.001); // as tall as its entries
    plot->plotLayout()->setRowSpacing(0);
    plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    plot->legend->setMargins(QMargins(4, 2, 4, 0));
}

void wrapLegend(QCPLegend *legend, int width)
{
    // Curves first, then the entries that stand for a line style or a
    // reference (graphs without points), each group in the order added.
    QList<QCPAbstractLegendItem *> items, keys;
    for (int i = 0; i < legend->itemCount(); ++i)
        if (auto *item = qobject_cast<QCPPlottableLegendItem *>(legend->item(i))) {
            auto *graph = qobject_cast<QCPGraph *>(item->plottable());
            (graph && graph->dataCount() == 0 ? keys : items) << item;
        }
    const QList<QCPAbstractLegendItem *> order = items + keys;
    bool ordered = true;
    for (int i = 0; i < order.size() && ordered; ++i)
        ordered = legend->item(i) == order[i];
    if (!ordered) {
        for (QCPAbstractLegendItem *item : order)
            legend->take(item);
        legend->simplify();
        for (QCPAbstractLegendItem *item : order)
            legend->addItem(item);
    }
    int widest = 1;
    for (int i = 0; i < legend->itemCount(); ++i)
        if (QCPAbstractLegendItem *item = legend->item(i)) // cells of a wrapped grid may be empty
            widest = std::max(widest, item->minimumOuterSizeHint().width());
    const int room = width - legend->margins().left() - legend->margins().right();
    const int columns = std::max(1, (room + legend->columnSpacing()) / (widest + legend->columnSpacing()));
    if (columns != legend->wrap() || legend->columnCount() > columns) {
        legend->setWrap(columns);
        legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, /*rearrange=*/true);
    }
}

double positiveDecades(QCustomPlot *plot)
{
    double lo = 0, hi = 0;
    for (int i = 0; i < plot->graphCount(); ++i) {
        bool found = false;
        const QCPRange r = plot->graph(i)->getValueRange(found, QCP::sdPositive);
        if (!found || !plot->graph(i)->visible())
            continue;
        lo = lo > 0 ? std::min(lo, r.lower) : r.lower;
        hi = std::max(hi, r.upper);
    }
    return lo > 0 ? std::log10(hi / lo) : 0.0;
}

QColor onBackground(const QColor &color, const QPalette &palette)
{
    return palette.color(QPalette::Base).lightness() < 128 ? color.lighter(150) : color;
}

} // namespace plotlook
