// Runs a sweep from the window: makes its folder (sweep.json) and runs its
// points as distillery-run processes (runSweepLocally) on a worker thread,
// forwarding each point's progress to the GUI thread as queued signals. Stop
// reaches the scheduler through an atomic, not the event loop.
#pragma once

#include "distillery/sweep.h"

#include <QObject>
#include <QString>

#include <atomic>
#include <functional>

class QThread;

class SweepController : public QObject {
    Q_OBJECT
public:
    explicit SweepController(QObject *parent = nullptr);
    // Stops a sweep in progress and waits for its points to stop.
    ~SweepController() override;

    // The distillery-run executable: by default the one beside this program.
    void setRunner(const QString &path) { runner_ = path; }
    QString runner() const { return runner_; }
    bool isRunning() const { return thread_ != nullptr; }
    // The folder of the sweep running or last run.
    QString sweepDir() const { return sweepDir_; }

    // Plans the experiment's sweep, makes its folder in `workspace` and starts
    // it, `jobs` points at once (0: chosen from the cores). False with the
    // reason (a ConfigError's text) when it cannot start.
    bool start(const distillery::Experiment &experiment, const QString &workspace, int jobs, bool allowLarge,
               QString *error = nullptr);
    // Continues a sweep folder (its finished points are kept).
    bool resume(const QString &sweepDir, int jobs, QString *error = nullptr);
    // Asks the points to stop at a checkpoint; finished() follows.
    void stop();
    // Waits up to `ms` for the worker to end. True if it did (or none runs).
    bool wait(int ms);

Q_SIGNALS:
    void started(const QString &sweepDir, int points);
    // A point changed state (distillery::PointState as an int); the message
    // says why it failed, or its accuracy when it finished.
    void pointChanged(int point, int state, const QString &message);
    void finished(int finishedPoints, int failed, int skipped, bool stopped);
    void runningChanged(bool running);

private:
    void launch(const distillery::SweepFolder &sweep, int jobs);
    // The guards both start and resume need, then the folder `folder` makes, launched.
    bool begin(const std::function<distillery::SweepFolder()> &folder, int jobs, QString *error);
    bool runnerThere(QString *error) const;
    void workerFinished();

    QString runner_;
    QString sweepDir_;
    QThread *thread_ = nullptr;
    std::atomic<bool> stop_{false};
    distillery::SweepOutcome outcome_; // written by the worker, read once it has ended
};
