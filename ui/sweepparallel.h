// The Sweeps tab's parallel coordinates: an axis per swept setting and the
// measure as the last, a line per finished point through its values. Dragging
// along an axis brushes a range of it: only the lines inside every brush keep
// their colour (a click on an axis clears its brush).
#pragma once

#include "sweepdata.h"

#include <QPointF>
#include <QString>
#include <QStringList>
#include <QWidget>

#include <optional>
#include <vector>

class QCPCurve;
class QCPItemRect;
class QCustomPlot;
class QLabel;

class SweepParallel : public QWidget {
    Q_OBJECT
public:
    explicit SweepParallel(QWidget *parent = nullptr);

    void setData(const distillery::SweepPlan &plan, const std::vector<SweepPointResult> &results, SweepMeasure measure);
    QCustomPlot *plot() const { return plot_; }
    int axisCount() const { return int(axes_.size()); }
    QString axisName(int axis) const { return axes_[std::size_t(axis)].name; }
    // A point's position on an axis, 0 (bottom) … 1 (top).
    double position(int point, int axis) const;
    // Keeps the lines whose position on `axis` is within [from, to] (either order); clearBrush removes it.
    void setBrush(int axis, double from, double to);
    void clearBrush(int axis);
    // The finished points drawn, and those inside every brush.
    std::vector<int> drawnPoints() const;
    std::vector<int> keptPoints() const;
    // For tests that drag: an axis's pixel x and a position's pixel y.
    QPointF pixelOf(int axis, double position) const;

Q_SIGNALS:
    void brushChanged();

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    struct Axis {
        QString name;
        QStringList values;     // ordinal axes: the values, bottom to top
        double lo = 0, hi = 1;  // numeric axes: the range
        bool logScale = false;
        std::vector<double> at; // by point: position 0…1, NaN when none
        std::optional<std::pair<double, double>> brush;
        QCPItemRect *brushRect = nullptr;
    };
    void buildAxes(const distillery::SweepPlan &plan, const std::vector<SweepPointResult> &results, SweepMeasure measure);
    void redraw();
    void drawAxisLabels();
    bool inside(int point) const;
    int axisAt(double x) const;

    QCustomPlot *plot_;
    QLabel *note_;
    std::vector<Axis> axes_;
    std::vector<int> points_;       // finished points, by line
    std::vector<QCPCurve *> lines_;
    int dragAxis_ = -1;
    double dragFrom_ = 0;
};
