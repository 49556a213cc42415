// A QCustomPlot with the controls a training curve needs: zoom and pan, reset,
// log y-axis (chosen by itself when the data span more than two decades, until
// the user picks), EMA smoothing (raw points stay faintly visible), x by step
// or epoch, series toggled from the legend, PNG/PDF export. The legend is a
// row above the data area, so it never covers a curve. Points are buffered and
// drawn by a coalescing timer: at most one replot per interval, whatever the
// rate at which they arrive.
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
class QSlider;
class QTimer;

class LivePlot : public QWidget {
    Q_OBJECT
public:
    enum class XAxis { Step, Epoch };

    LivePlot(const QString &title, const QString &yLabel, QWidget *parent = nullptr);
    ~LivePlot() override;

    // Returns the series' id, which stays valid until clear(). `overlay` series
    // belong to compared runs and are removed together by removeOverlays().
    // A series with a `leader` has no legend entry of its own: it is shown and
    // hidden with its leader (a stage's training accuracy with its validation
    // accuracy; the curves of compared runs with the key of their stage's style).
    int addSeries(const QString &name, const QColor &color, Qt::PenStyle style = Qt::SolidLine, bool overlay = false,
                  int leader = -1);
    void addPoint(int series, double step, double epoch, double y);
    void addPoints(int series, const QVector<double> &step, const QVector<double> &epoch, const QVector<double> &y);
    // Said in the middle of the plot while it has series but no points yet
    // (accuracy, say, is measured at the end of each epoch).
    void setEmptyHint(const QString &text);
    // A horizontal line with a label, e.g. the teacher's test accuracy.
    void setReferenceLine(const QString &label, double y);
    void removeOverlays();
    // Shows or hides every series that is not an overlay (and the reference
    // line), legend entries included: a finished run makes way for the runs
    // compared after it.
    void showOwnSeries(bool shown);
    void clear();

    void setXAxis(XAxis axis);
    XAxis xAxis() const { return xAxis_; }
    // EMA weight in [0, 0.99]; 0 shows raw points only.
    void setSmoothing(double weight);
    double smoothing() const { return smoothing_; }
    // The user's choice: the scale no longer follows the data.
    void setLogY(bool on);
    bool isLogY() const;
    void setSeriesVisible(int series, bool visible);
    bool isSeriesVisible(int series) const;
    void resetView();
    // PNG or PDF by the file's extension. False with a reason on failure.
    bool exportTo(const QString &path, QString *error = nullptr);

    // Series not removed, and of those the ones that have points.
    int seriesCount() const;
    int seriesWithPointsCount() const;
    int pointCount(int series) const;
    // Whether every point given has been handed to the graphs.
    bool isUpToDate() const;
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
    void xAxisChanged();

protected:
    void showEvent(QShowEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    struct Series;
    void scheduleReplot();
    void flush();
    void rebuild(Series &s);
    void appendPending(Series &s);
    void applyVisibility(Series &s);
    void applyLogY(bool on);
    // Log scale where the positive values span more than two decades.
    void chooseScale();
    void fitToData();
    // As many legend columns as the plot's width holds.
    void layoutLegend();
    void followPalette();

    QCustomPlot *plot_;
    QSlider *smoothSlider_;
    QCheckBox *logCheck_;
    QComboBox *xCombo_;
    QTimer *replotTimer_;
    std::vector<std::unique_ptr<Series>> series_;
    QCPItemStraightLine *refLine_ = nullptr;
    QCPGraph *refKey_ = nullptr; // the reference line's legend entry
    QCPItemText *hint_ = nullptr;
    XAxis xAxis_ = XAxis::Step;
    double smoothing_ = 0.0;
    bool followData_ = true;   // rescale as data arrive until the user zooms or pans
    bool autoScale_ = true;    // linear or log by the data until the user chooses
    bool ownShown_ = true;
    double refY_ = 0.0;
    int replots_ = 0;
    int minInterval_ = 100;
};
