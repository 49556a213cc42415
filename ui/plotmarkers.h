// Labelled vertical lines on a plot: the moments a run's settings changed
// while it trained (T, α, a method's weight). They sit at a step, or at its
// epoch when the plot's x-axis counts epochs, and keep out of the legend.
#pragma once

#include "liveplot.h"

#include <QObject>
#include <QString>
#include <vector>

class QCPItemStraightLine;
class QCPItemText;

class PlotMarkers : public QObject {
    Q_OBJECT
public:
    explicit PlotMarkers(LivePlot *plot);

    void add(double step, double epoch, const QString &label, const QColor &color);
    void clear();
    int count() const { return int(markers_.size()); }
    QString label(int i) const;
    // Where marker `i` is drawn on the x-axis as it is now.
    double x(int i) const;

private:
    struct Marker {
        double step, epoch;
        QCPItemStraightLine *line;
        QCPItemText *text;
    };
    void place(Marker &m);

    LivePlot *plot_;
    std::vector<Marker> markers_;
};
