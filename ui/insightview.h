// The Insight area: what the models of one run do on the test set and how
// they relate to the teacher, from the run folder only (analysis/ and
// metrics.jsonl; docs/INSIGHT.md). Classes, Confusion, Examples, Soft
// targets, Calibration and Fidelity each in a tab. A run without analysis/, or one
// whose analysis cannot be read, says so instead of showing empty figures.
#pragma once

#include "insightdata.h"

#include <QWidget>

#include <memory>

class InsightCalibration;
class InsightClasses;
class InsightConfusion;
class InsightDataMap;
class InsightExamples;
class InsightFidelity;
class InsightSoftTargets;
class QLabel;
class QStackedWidget;
class QTabWidget;

class InsightView : public QWidget {
    Q_OBJECT
public:
    explicit InsightView(QWidget *parent = nullptr);
    ~InsightView() override;

    // Shows `runDir` (read again each time: a stage may have finished).
    // Read at once when the view is visible, else when it is next shown.
    void showRun(const QString &runDir);
    // Shows no run, saying `text` instead (e.g. "select one run").
    void showMessage(const QString &text);
    QString runDir() const { return runDir_; }
    // Reads the run now if it is waiting to be read.
    void load();
    // An epoch of the run in `runDir` as it trains: the Fidelity curves grow
    // when that run is shown (read already).
    void addLiveEpoch(const QString &runDir, const distillery::EpochMetrics &e);

    const InsightRun &run() const { return *run_; }
    // Whether the figures are shown (else the message says why not).
    bool showsFigures() const;
    QLabel *messageLabel() const { return message_; }
    QLabel *warningLabel() const { return warning_; }
    QTabWidget *tabs() const { return tabs_; }
    InsightClasses *classes() const { return classes_; }
    InsightConfusion *confusion() const { return confusion_; }
    InsightExamples *examples() const { return examples_; }
    InsightSoftTargets *softTargets() const { return soft_; }
    InsightCalibration *calibration() const { return calibration_; }
    InsightFidelity *fidelity() const { return fidelity_; }
    InsightDataMap *dataMap() const { return dataMap_; }

protected:
    void showEvent(QShowEvent *event) override;

private:
    std::unique_ptr<InsightRun> run_;
    QString runDir_;
    bool pending_ = false;
    QStackedWidget *stack_;
    QLabel *message_;
    QLabel *caption_;
    QLabel *warning_;
    QTabWidget *tabs_;
    InsightClasses *classes_;
    InsightConfusion *confusion_;
    InsightExamples *examples_;
    InsightSoftTargets *soft_;
    InsightCalibration *calibration_;
    InsightFidelity *fidelity_;
    InsightDataMap *dataMap_;
};
