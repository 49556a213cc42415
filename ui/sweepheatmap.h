// The Sweeps tab's heatmap: a cell per pair of values of two swept settings,
// coloured by the mean (or the standard deviation) of the measure over the
// cell's points, the mean written in the cell, and the best cell outlined.
// Drawn on a QCustomPlot (QCPColorMap, its colour scale at the right).
#pragma once

#include "sweepdata.h"

#include <QPointF>
#include <QString>
#include <QVector>

class QCPColorMap;
class QCPColorScale;
class QCPItemRect;
class QCPItemText;
class QCustomPlot;

class SweepHeatmap {
public:
    explicit SweepHeatmap(QCustomPlot *plot);

    // Draws the grid: `stddev` colours by the standard deviation instead of the mean.
    void draw(const SweepGrid &grid, SweepMeasure measure, bool stddev);
    // The cell under the widget point, or false.
    bool cellAt(const QPointF &pos, int *x, int *y) const;
    // The cell's centre in the plot's pixels (for tests that click it).
    QPointF cellCentre(int x, int y) const;
    QCPColorMap *map() const { return map_; }
    QCPItemRect *bestOutline() const { return best_; }

private:
    void setTicks(bool bottom, const QStringList &values, const QString &key);
    void setTexts(const SweepGrid &grid, SweepMeasure measure, bool stddev);

    QCustomPlot *plot_;
    QCPColorMap *map_;
    QCPColorScale *scale_;
    QCPItemRect *best_;
    QVector<QCPItemText *> texts_;
    int columns_ = 0, rows_ = 0;
};
