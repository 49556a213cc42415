// The Sweeps tab beside Training and Insight: a sweep of the workspace, two of
// its swept settings as the axes of a heatmap of the distilled student's test
// accuracy or its gain over the baseline (mean over the seeds and the other
// settings; the standard deviation in the tooltip, or as the map), filled in
// as the points finish. Clicking a cell selects its runs in the Runs panel;
// "Open as experiment" loads the best point's experiment into the panel. The
// parallel coordinates of every point are the other chart.
// Read from the folders only (sweep.json and each point's summary.json).
#pragma once

#include "sweepdata.h"

#include "distillery/sweep.h"

#include <QPointF>
#include <QString>
#include <QStringList>
#include <QWidget>

#include <memory>
#include <optional>

class InsightPlot;
class QComboBox;
class QCustomPlot;
class QLabel;
class QPushButton;
class QStackedWidget;
class QTimer;
class SweepHeatmap;
class SweepParallel;

class SweepView : public QWidget {
    Q_OBJECT
public:
    explicit SweepView(QWidget *parent = nullptr);
    ~SweepView() override;

    void setWorkspace(const QString &workspace);
    // Lists the workspace's sweeps again and shows `select` (else the one
    // shown, else the newest).
    void reloadSweeps(const QString &select = {});
    // Shows a sweep folder; false, with the reason shown (naming the file), when it cannot be read.
    bool showSweep(const QString &dir);
    QString sweepDir() const;
    // While a sweep runs the view rereads its points every few seconds.
    void setLive(bool live);
    // Whether it rereads the shown sweep on the timer: while a sweep runs here,
    // and while any of its points has not finished (its jobs on a cluster,
    // another distillery-run); the rereading is skipped while the tab is
    // hidden, and redraws only when a point has moved.
    bool polling() const;
    // The shown sweep's Slurm jobs (slurm/jobs.json), empty when none were submitted.
    QStringList slurmJobs() const { return slurmJobs_; }

    // The axes (swept settings; "" for none), the measure and whether the map shows the standard deviation.
    void setAxes(const QString &xKey, const QString &yKey);
    void setMeasure(SweepMeasure m);
    void setShowStdDev(bool on);

    // For tests and the screenshot.
    QComboBox *sweepCombo() const { return sweeps_; }
    QComboBox *xCombo() const { return xAxis_; }
    QComboBox *yCombo() const { return yAxis_; }
    QComboBox *measureCombo() const { return measure_; }
    QComboBox *statisticCombo() const { return statistic_; }
    // The heatmap (0) or the parallel coordinates of every point (1).
    QComboBox *chartCombo() const { return chart_; }
    void showParallel(bool on);
    SweepParallel *parallel() const { return parallel_; }
    QPushButton *openButton() const { return open_; }
    // Continues the shown sweep's unfinished points (enabled while none runs).
    QPushButton *resumeButton() const { return resume_; }
    QCustomPlot *plot() const;
    SweepHeatmap *heatmap() const { return heatmap_.get(); }
    InsightPlot *figure() const { return figure_; }
    const SweepGrid &grid() const { return grid_; }
    const std::vector<SweepPointResult> &results() const { return results_; }
    const SweepResultCache &cache() const { return cache_; }
    bool showsPlot() const;
    // What is shown instead of the plot (no sweeps, a damaged sweep.json).
    QString message() const;
    QString note() const;
    // The run folders of a cell's points that have been made.
    QStringList cellRuns(int x, int y) const;
    QString cellToolTip(int x, int y) const;
    // The best cell's best point as an experiment (the sweep's experiment with
    // the point's settings and seed), or nothing while no point has finished.
    std::optional<distillery::Experiment> bestExperiment() const;

public Q_SLOTS:
    // Reads the points' run folders again (those changed) and redraws.
    void refresh();

Q_SIGNALS:
    // A cell was clicked: select these runs.
    void runsSelected(const QStringList &runDirs);
    // "Open as experiment": load this experiment into the panel.
    void experimentOpened(const distillery::Experiment &experiment);
    // "Resume": run this sweep's points that have not finished.
    void resumeRequested(const QString &sweepDir);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void showMessage(const QString &text);
    void poll();
    void fillAxes();
    void redraw();
    void cellClicked(const QPointF &pos);
    QString measureName() const;

    QString workspace_;
    std::optional<distillery::SweepFolder> sweep_;
    SweepResultCache cache_;
    std::vector<SweepPointResult> results_;
    SweepGrid grid_;
    QComboBox *sweeps_, *xAxis_, *yAxis_, *measure_, *statistic_, *chart_;
    QPushButton *open_;
    QPushButton *resume_;
    bool live_ = false;
    QStringList slurmJobs_;
    QStackedWidget *stack_;
    QLabel *message_;
    InsightPlot *figure_;
    SweepParallel *parallel_;
    std::unique_ptr<SweepHeatmap> heatmap_;
    QLabel *note_;
    QTimer *timer_;
};
