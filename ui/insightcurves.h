// Insight ▸ Calibration: a reliability diagram per model (15 confidence bins:
// each bin's accuracy against its confidence, the diagonal of a calibrated
// model, the bins' counts below; ECE, NLL and Brier score in its title).
// Insight ▸ Fidelity: per epoch, the baseline's and the student's agreement
// and KL with the teacher, and each model's ECE, on the validation split
// (metrics.jsonl), as the live plots draw curves.
#pragma once

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
    QList<LivePlot *> plots() const { return {agreement_, kl_, klAtT_, ece_}; }
    LivePlot *agreementPlot() const { return agreement_; }

private:
    LivePlot *agreement_, *kl_, *klAtT_, *ece_;
    QLabel *note_;
};
