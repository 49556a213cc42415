// The main window's four plots: loss, accuracy, learning rate and throughput.
// The run in progress is drawn as it reports, one colour per stage; the runs
// selected for comparison are drawn from their metrics files, one colour per
// run and a line style per stage. The loss parts each method reports (kd's
// soft and hard, DKD's tckd and nckd, ...) are drawn with the loss, a line
// per part. Before there is anything to draw, a line says what to do.
#pragma once

#include "distillery/events.h"

#include <QColor>
#include <QMap>
#include <QWidget>

class LivePlot;
class PlotMarkers;
class QLabel;
class QStackedLayout;

class LiveView : public QWidget {
    Q_OBJECT
public:
    explicit LiveView(QWidget *parent = nullptr);
    ~LiveView() override;

    LivePlot *lossPlot() const { return lossPlot_; }
    LivePlot *accuracyPlot() const { return accuracyPlot_; }
    LivePlot *learningRatePlot() const { return lrPlot_; }
    LivePlot *throughputPlot() const { return speedPlot_; }
    QList<LivePlot *> plots() const { return {lossPlot_, accuracyPlot_, lrPlot_, speedPlot_}; }

    // Empties every plot for a run about to start; `waiting` says what happens
    // until its first stage starts.
    void clear(const QString &waiting = {});
    // The run drawn live: its name and folder, said once above the plots.
    void setLiveRun(const QString &name, const QString &folder = {});
    void stageStarted(const distillery::StageInfo &info);
    void addStep(const distillery::StepMetrics &m);
    void addEpoch(const distillery::EpochMetrics &m);
    void stageFinished(const distillery::StageResult &r);
    // A setting changed while the run trains: a labelled vertical line on
    // every plot where it took effect (compared runs' changes too, in their colour).
    void addSettingChange(const distillery::SettingChange &c);
    // The markers of the run in progress and of the compared runs, per plot.
    QList<PlotMarkers *> liveMarkers() const { return liveMarkers_; }
    QList<PlotMarkers *> comparedMarkers() const { return comparedMarkers_; }
    // Replaces the compared runs' curves with those of `runDirs`. The run
    // drawn live stays in view with them while it trains (`keepLive`); a
    // finished one makes way, and comes back when nothing is compared.
    void showRuns(const QStringList &runDirs, bool keepLive = true);
    // The colour of each compared run, by folder (the Runs panel's key).
    const QMap<QString, QColor> &runColors() const { return runColors_; }
    // Says `text` where the plots will be, while there is nothing to plot.
    void setEmptyText(const QString &text);
    // Whether the plots are shown (else the line that says what to do).
    bool showsPlots() const;
    QLabel *emptyLabel() const { return empty_; }
    QLabel *caption() const { return caption_; }

private:
    struct StageSeries;
    StageSeries &seriesFor(distillery::StageKind kind);
    void updateState();

    LivePlot *lossPlot_;
    LivePlot *accuracyPlot_;
    LivePlot *lrPlot_;
    LivePlot *speedPlot_;
    QLabel *caption_;
    QLabel *empty_;
    QStackedLayout *stack_;
    QWidget *plotPage_;
    QMap<int, StageSeries *> stages_;
    QMap<QString, QColor> runColors_;
    QList<PlotMarkers *> liveMarkers_, comparedMarkers_;
    QString liveName_, liveFolder_;
    bool liveShown_ = true;
    bool comparedParts_ = false; // whether compared runs' loss parts are drawn
    int trainKey_ = -1; // the accuracy legend's entry for the training curves
    std::int64_t stepsPerEpoch_ = 0; // of the stage in progress
};
