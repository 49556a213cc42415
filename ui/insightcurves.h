// Insight ▸ Calibration: a reliability diagram per model (15 confidence bins:
// each bin's accuracy against its confidence, the diagonal of a calibrated
// model, the bins' counts below; ECE, NLL and Brier score in its title).
// Insight ▸ Fidelity: per epoch, the baseline's and the student's agreement
// and KL with the teacher, and each model's ECE, on the validation split
// (metrics.jsonl), as the live plots draw curves.
#pragma once

#include "distillery/events.h"

#include <QWidget>

class InsightPlot;
class LivePlot;
class QLabel;
struct InsightRun;

class InsightCalibration : public QWidget {
    Q_OBJECT
public:
    explicit InsightCalibration(QWidget *parent = nullptr);
    void setRun(const InsightRun &run);
    // Teacher, baseline, student.
    InsightPlot *diagram(int model) const { return diagrams_[model]; }

private:
    InsightPlot *diagrams_[3];
};

class InsightFidelity : public QWidget {
    Q_OBJECT
public:
    explicit InsightFidelity(QWidget *parent = nullptr);
    void setRun(const InsightRun &run);
    // An epoch of the run shown, as it trains (the curves grow live); one at
    // or before a stage's last point drawn is left out.
    void addEpoch(const distillery::EpochMetrics &e);
    QList<LivePlot *> plots() const { return {agreement_, kl_, klAtT_, ece_}; }
    LivePlot *agreementPlot() const { return agreement_; }

private:
    struct Series {
        LivePlot *plot;
        double distillery::EpochMetrics::*field;
        double scale;
        bool teacher;               // the teacher's too (its ECE)
    };
    static constexpr int kSeries = 4;
    Series series(int i) const;
    // Adds `e`'s point to series `i`, making the stage's curve if need be.
    bool addPoint(int i, const distillery::EpochMetrics &e);

    LivePlot *agreement_, *kl_, *klAtT_, *ece_;
    int ids_[kSeries][3];           // each plot's curve per stage, or -1
    int lastEpoch_[kSeries][3];     // the last epoch drawn there
    QLabel *note_;
};
