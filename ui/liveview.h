// The main window's four plots: loss, accuracy, learning rate and throughput.
// The run in progress is drawn as it reports, a set of series per stage; the
// runs selected for comparison are drawn over it from their metrics files.
#pragma once

#include "distillery/events.h"

#include <QMap>
#include <QWidget>

class LivePlot;

class LiveView : public QWidget {
    Q_OBJECT
public:
    explicit LiveView(QWidget *parent = nullptr);
    ~LiveView() override;

    LivePlot *lossPlot() const { return lossPlot_; }
    LivePlot *accuracyPlot() const { return accuracyPlot_; }

    // Empties every plot for a run about to start.
    void clear();
    void stageStarted(const distillery::StageInfo &info);
    void addStep(const distillery::StepMetrics &m);
    void addEpoch(const distillery::EpochMetrics &m);
    void stageFinished(const distillery::StageResult &r);
    // Replaces the compared runs' curves with those of `runDirs`.
    void showRuns(const QStringList &runDirs);

private:
    struct StageSeries;
    StageSeries &seriesFor(distillery::StageKind kind);

    LivePlot *lossPlot_;
    LivePlot *accuracyPlot_;
    LivePlot *lrPlot_;
    LivePlot *speedPlot_;
    QMap<int, StageSeries *> stages_;
    std::int64_t stepsPerEpoch_ = 0; // of the stage in progress
};
