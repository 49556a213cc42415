#include "plotmarkers.h"

#include <qcustomplot.h>

PlotMarkers::PlotMarkers(LivePlot *plot) : QObject(plot), plot_(plot)
{
    connect(plot_, &LivePlot::xAxisChanged, this, [this] {
        for (auto &m : markers_)
            place(m);
        plot_->plot()->replot(QCustomPlot::rpQueuedReplot);
    });
}

void PlotMarkers::add(double step, double epoch, const QString &label, const QColor &color)
{
    QCustomPlot *p = plot_->plot();
    Marker m{step, epoch, new QCPItemStraightLine(p), new QCPItemText(p)};
    m.line->setPen(QPen(color, 1, Qt::DashLine));
    m.line->setClipToAxisRect(true);
    m.text->setText(label);
    m.text->setColor(color);
    m.text->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    m.text->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    m.text->setClipToAxisRect(true);
    // Markers one after another step down, so their labels do not overlap.
    m.text->position->setCoords(0, 0.02 + 0.07 * double(markers_.size() % 6));
    m.text->setPadding(QMargins(3, 0, 0, 0));
    markers_.push_back(m);
    place(markers_.back());
    p->replot(QCustomPlot::rpQueuedReplot);
}

void PlotMarkers::place(Marker &m)
{
    const double x = plot_->xAxis() == LivePlot::XAxis::Step ? m.step : m.epoch;
    m.line->point1->setCoords(x, 0);
    m.line->point2->setCoords(x, 1);
    m.text->position->setCoords(x, m.text->position->coords().y());
}

void PlotMarkers::clear()
{
    for (auto &m : markers_) {
        plot_->plot()->removeItem(m.line);
        plot_->plot()->removeItem(m.text);
    }
    markers_.clear();
}

QString PlotMarkers::label(int i) const
{
    return markers_.at(std::size_t(i)).text->text();
}

double PlotMarkers::x(int i) const
{
    return markers_.at(std::size_t(i)).line->point1->coords().x();
}
