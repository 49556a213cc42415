// One figure of the Insight views: a title line with an export menu ("⋯":
// PNG or PDF, as the live plots export) above a QCustomPlot, which follows the
// palette; the tooltip says how the figure is computed. Helpers build the two
// kinds of figure the views share: grouped bars per class and a class × class
// heatmap (QCPColorMap) with the counts written in its cells.
#pragma once

#include <QPointF>
#include <QString>
#include <QStringList>
#include <QVector>
#include <QWidget>

#include <functional>

class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QCPItemText;
class QHBoxLayout;
class QLabel;

class InsightPlot : public QWidget {
    Q_OBJECT
public:
    InsightPlot(const QString &title, const QString &howComputed, QWidget *parent = nullptr);

    QCustomPlot *plot() const { return plot_; }
    QLabel *titleLabel() const { return title_; }
    // Controls of the figure's own, placed on the title line before "⋯".
    QHBoxLayout *controls() const { return controls_; }
    // PNG or PDF by the file's extension. False with a reason on failure.
    bool exportTo(const QString &path, QString *error = nullptr);

protected:
    void changeEvent(QEvent *event) override;

private:
    void exportWithDialog();

    QString name_;
    QLabel *title_;
    QHBoxLayout *controls_;
    QCustomPlot *plot_;
};

namespace insight {

// Class names as the bottom axis's tick labels at 0 … K−1 (turned when many).
void setClassTicks(QCustomPlot *plot, const QStringList &names, bool bottom = true);

// A K × K heatmap on the plot's main axes: x the column (predicted), y the
// row (true class, the first at the top), a colour scale at the right; cell
// texts for small K (the caller sets them, see setCellTexts).
struct Heatmap {
    QCPColorMap *map = nullptr;
    QCPColorScale *scale = nullptr;
    QVector<QCPItemText *> texts; // row-major, K × K, empty for large K
    int classes = 0;
};
Heatmap makeHeatmap(QCustomPlot *plot, const QString &scaleLabel);
// Resizes the heatmap to K × K (cells at integer coordinates).
void resizeHeatmap(Heatmap &h, const QStringList &names, const QString &xLabel, const QString &yLabel);
// cell(row, column) → text; the text is dark or light by the cell's colour.
void setCellTexts(Heatmap &h, const std::function<QString(int, int)> &text);
// The cell (row = true class, column) under the widget point, or false.
bool cellAt(const Heatmap &h, const QPointF &pos, int *row, int *column);

// A plot of softmax(z/T) bars per class: its axis, its legend above, a bars group.
void prepareSoftTargetPlot(QCustomPlot *plot);

// Light-to-colour gradient for counts and probabilities; blue-white-red for
// differences (used with a symmetric range).
void useSequential(Heatmap &h, const QColor &color);
void useDiverging(Heatmap &h);

} // namespace insight
