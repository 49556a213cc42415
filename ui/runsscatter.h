// The Runs panel's scatter: test accuracy against a model's size or speed
// (parameters, multiply-adds or batch-1 latency, on a log axis), a point per
// model of each selected run, coloured by stage, with the Pareto front drawn
// as a step line. A point's tooltip names it; a click opens its run. Read from
// the run folders only: summary.json (each stage's result) and
// analysis/summary.json (latency, absent for runs made before it was measured).
#pragma once

#include "distillery/events.h"

#include <QPointF>
#include <QString>
#include <QStringList>
#include <QWidget>

#include <limits>
#include <vector>

class ElidedLabel;
class InsightPlot;
class QComboBox;
class QCustomPlot;
class QLabel;
class QStackedWidget;

// One finished model of a run.
struct ScatterPoint {
    static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
    QString runDir;
    QString runName;
    distillery::StageKind stage = distillery::StageKind::Teacher;
    double accuracy = kNone;       // test accuracy of the kept model, a fraction
    double parameters = kNone;     // NaN: not recorded
    double multiplyAdds = kNone;
    double latencyMs = kNone;      // median of a batch of 1 on the CPU
};

enum class ScatterAxis { Parameters = 0, MultiplyAdds = 1, Latency = 2 };

// The finished models of the runs, in the runs' order and pipeline order. A
// run or an analysis that cannot be read gives what it can (no latency).
std::vector<ScatterPoint> loadScatterPoints(const QStringList &runDirs);
// The point's x on `axis`, NaN when not recorded.
double scatterX(const ScatterPoint &p, ScatterAxis axis);
// The Pareto front of (cost x, accuracy y): the indices of the points that no
// other point dominates (another with x ≤ and y ≥, one of them strictly), by
// increasing x. Equal points do not dominate each other: all are on the front.
// Points with a non-finite coordinate are ignored.
std::vector<int> paretoFront(const std::vector<QPointF> &points);

class RunsScatter : public QWidget {
    Q_OBJECT
public:
    explicit RunsScatter(QWidget *parent = nullptr);

    // The runs to plot; read now when shown, else when next shown.
    void setRuns(const QStringList &runDirs);
    // Reads the runs' files again and redraws.
    void reload();
    void setAxis(ScatterAxis axis);
    ScatterAxis axis() const;

    // For tests and the screenshot.
    QComboBox *axisCombo() const { return axisBox_; }
    InsightPlot *figure() const { return figure_; }
    QCustomPlot *plot() const;
    // Every finished model of the runs; those drawn on the current axis; the
    // front among the drawn (indices into points()).
    const std::vector<ScatterPoint> &points() const { return points_; }
    const std::vector<int> &drawn() const { return drawn_; }
    const std::vector<int> &front() const { return front_; }
    // The line under the plot (one line, cut to its width; the whole in its
    // tooltip): how many points were left out and why, and how many there are.
    QString note() const;
    // The plot, or the line that says what to do while there is nothing to plot.
    bool showsPlot() const;
    QString emptyMessage() const;
    // The drawn point under `pos` (the plot's coordinates; within a few
    // pixels, the nearest), as an index into points(), or -1.
    int pointAt(const QPointF &pos) const;
    QString pointToolTip(int index) const;
    // PNG or PDF by the file's extension. False with a reason on failure.
    bool exportTo(const QString &path, QString *error = nullptr);

Q_SIGNALS:
    // A point was clicked: open its run.
    void runOpened(const QString &runDir);

protected:
    void showEvent(QShowEvent *event) override;
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void redraw();
    void drawFront(const std::vector<QPointF> &xy);
    void fitAxes(const std::vector<QPointF> &xy);
    void updateNote(int leftOut);

    QStringList runDirs_;
    bool stale_ = false;
    std::vector<ScatterPoint> points_;
    std::vector<int> drawn_;
    std::vector<int> front_;
    QStackedWidget *stack_;
    QLabel *empty_;
    InsightPlot *figure_;
    QComboBox *axisBox_;
    ElidedLabel *note_;
};
