// A QCustomPlot with the controls a training curve needs: zoom and pan, reset,
// log y-axis, EMA smoothing (raw points stay faintly visible), x by step or
// epoch, series toggled from the legend, PNG/PDF export. Points are buffered
// and drawn by a coalescing timer: at most one replot per interval, whatever
// the rate at which they arrive.
#pragma once

#include <QColor>
#include <QVector>
#include <QWidget>

class QCustomPlot;
class QCPGraph;
class QCPItemStraightLine;
class QCPItemText;
class QCheckBox;
class QComboBox;
class QHBoxLayout;
class QSlider;
class QTimer;

class LivePlot : public QWidget {
    Q_OBJECT
public:
    enum class XAxis { Step, Epoch };

    LivePlot(const QString &title, const QString &yLabel, QWidget *parent = nullptr);
    ~LivePlot() override;

    // Returns the series' id. `overlay` series belong to compared runs and are
    // removed together by removeOverlays().
    int addSeries(const QString &name, const QColor &color, Qt::PenStyle style = Qt::SolidLine, bool overlay = false);
    void addPoint(int series, double step, double epoch, double y);
    void addPoints(int series, const QVector<double> &step, const QVector<double> &epoch, const QVector<double> &y);
    // A horizontal line with a label, e.g. the teacher's test accuracy.
    void setReferenceLine(const QString &label, double y);
    void removeOverlays();
    void clear();

    void setXAxis(XAxis axis);
    XAxis xAxis() const { return xAxis_; }
    // EMA weight in [0, 0.99]; 0 shows raw points only.
    void setSmoothing(double weight);
    double smoothing() const { return smoothing_; }
    void setLogY(bool on);
    // Where the legend sits inside the plot (default: top right).
    void setLegendCorner(Qt::Alignment corner);
    void setSeriesVisible(int series, bool visible);
    bool isSeriesVisible(int series) const;
    void resetView();
    // PNG or PDF by the file's extension. False with a reason on failure.
    bool exportTo(const QString &path, QString *error = nullptr);

    int seriesCount() const { return int(series_.size()); }
    int pointCount(int series) const;
    int replotCount() const { return replots_; }
    // The shortest time between replots in milliseconds (default 100: at most
    // 10 a second). Replots that take long come further apart: the next one
    // waits at least kReplotBudget times the average replot time, so drawing
    // takes at most 1/kReplotBudget of the GUI thread per plot, and the window
    // leaves the cores to training.
    void setReplotInterval(int ms);
    int replotInterval() const;
    double averageReplotMs() const;
    static constexpr int kReplotBudget = 200;
    QCustomPlot *plot() const { return plot_; }

Q_SIGNALS:
    void replotted();

protected:
    void showEvent(QShowEvent *event) override;

private:
    struct Series;
    // The title and the controls above the plot.
    QHBoxLayout *makeBar(const QString &title);
    void scheduleReplot();
    void flush();
    void rebuild(Series &s);
    void appendPending(Series &s);
    void applyVisibility(Series &s);
    void fitToData();

    QCustomPlot *plot_;
    QSlider *smoothSlider_;
    QCheckBox *logCheck_;
    QComboBox *xCombo_;
    QTimer *replotTimer_;
    std::vector<std::unique_ptr<Series>> series_;
    QCPItemStraightLine *refLine_ = nullptr;
    QCPItemText *refLabel_ = nullptr;
    XAxis xAxis_ = XAxis::Step;
    double smoothing_ = 0.0;
    bool followData_ = true;   // rescale as data arrive until the user zooms or pans
    int replots_ = 0;
    int minInterval_ = 100;
};
