// The status bar's account of a run: the stage line (stage, epoch, step,
// throughput), a progress bar with the time left, and in red why the
// experiment cannot start.
#pragma once

#include "distillery/events.h"

#include <QElapsedTimer>
#include <QObject>

class QLabel;
class QProgressBar;
class QStatusBar;
class QTimer;

class RunStatusView : public QObject {
    Q_OBJECT
public:
    // Puts its labels and progress bar in `bar`, which owns it.
    explicit RunStatusView(QStatusBar *bar);

    QProgressBar *progressBar() const { return progress_; }
    // Says `text` on the stage line until the next report.
    void showText(const QString &text);
    void setPaused(bool paused);
    // Why the experiment cannot start; empty when it can.
    void setBlockedReason(const QString &reason);
    // No progress yet: a run about to start.
    void clear(const QString &text);
    // The run decodes its image folder: `done` files of `total`.
    void dataProgress(qint64 done, qint64 total);
    void stageStarted(const distillery::StageInfo &info);
    // The stage line and progress bar follow the step reports at most every
    // kIntervalMs, since each new text lays out and repaints the status bar
    // (that was most of the window's own work while training).
    void stepReported(const distillery::StepMetrics &m);
    // Shows the latest step report now if it has not been shown yet.
    void showLatestStep();
    void runFinished(const distillery::RunResult &r);

private:
    QLabel *stageLabel_;
    QLabel *reasonLabel_;
    QProgressBar *progress_;
    QTimer *timer_;
    distillery::StageInfo stage_;
    QElapsedTimer stageClock_;
    distillery::StepMetrics lastStep_;
    bool stepPending_ = false;
    bool paused_ = false;
    static constexpr int kIntervalMs = 250;
};
