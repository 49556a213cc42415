// How the plots look, shared by the live plots and the images of a run's
// curves: the system palette's colours, and a legend placed where it covers
// no data.
#pragma once

#include <QColor>
#include <QPalette>

class QCPLegend;
class QCustomPlot;

namespace plotlook {

// Background, axes, grid and legend text in the palette's colours, so a dark
// desktop gets dark plots.
void applyPalette(QCustomPlot *plot, const QPalette &palette);
// Moves the plot's legend out of its data area into a row above it.
void placeLegendAbove(QCustomPlot *plot);
// As many legend columns as `width` pixels hold, filled row by row.
void wrapLegend(QCPLegend *legend, int width);
// How many decades the positive values of the visible graphs span (0 when
// there are none).
double positiveDecades(QCustomPlot *plot);
// A curve's colour as drawn on the palette's background: colours picked for
// a light background are lightened on a dark one.
QColor onBackground(const QColor &color, const QPalette &palette);

} // namespace plotlook
