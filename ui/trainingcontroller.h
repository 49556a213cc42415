// Owns the worker thread and the engine; turns the engine's observer calls
// into queued Qt signals that carry plain values.
#pragma once

#include "distillery/engine.h"

#include <QObject>
#include <QString>

#include <memory>

class QThread;

Q_DECLARE_METATYPE(distillery::RunStartInfo)
Q_DECLARE_METATYPE(distillery::StageInfo)
Q_DECLARE_METATYPE(distillery::StepMetrics)
Q_DECLARE_METATYPE(distillery::EpochMetrics)
Q_DECLARE_METATYPE(distillery::StageResult)
Q_DECLARE_METATYPE(distillery::RunResult)
Q_DECLARE_METATYPE(distillery::SettingChange)

class TrainingController : public QObject {
    Q_OBJECT
public:
    explicit TrainingController(QObject *parent = nullptr);
    // Stops a run in progress and waits for the worker to finish.
    ~TrainingController() override;

    bool isRunning() const { return bool(engine_); }
    bool isPaused() const { return paused_; }
    // distillery-run, which starts the other processes of a run over several
    // (distributed.processes); the one beside the application by default.
    void setRunner(const QString &path) { runner_ = path; }
    QString runner() const { return runner_; }

public Q_SLOTS:
    // Starts a run on a new worker thread. Does nothing while one is running.
    void startRun(const distillery::Experiment &experiment, const QString &workspace);
    // Continues a stopped, failed or interrupted run from its last checkpoint.
    void resumeInterruptedRun(const QString &runDir);
    // These reach the engine directly (atomics), not through the worker's
    // event loop, which is busy training; they take effect at the next step.
    void pauseRun();
    void resumeRun();
    void stopRun();
    // Changes a distillation setting of the run in progress (Engine::
    // requestSettingChange): returns why it cannot, or "" (also when no run).
    QString requestSettingChange(const QString &key, double value);
    // Requests a stop and waits up to `ms` for the worker to end. True if it did.
    bool stopAndWait(int ms);

Q_SIGNALS:
    // While the run loads its data: image files decoded of the total (image
    // folders not yet in the workspace's cache only).
    void dataProgress(qint64 done, qint64 total);
    void runStarted(const distillery::RunStartInfo &info);
    void stageStarted(const distillery::StageInfo &info);
    void stepReported(const distillery::StepMetrics &metrics);
    void epochFinished(const distillery::EpochMetrics &metrics);
    void stageFinished(const distillery::StageResult &result);
    void pausedChanged(bool paused);
    void settingChanged(const distillery::SettingChange &change);
    void errorOccurred(const QString &message);
    void runFinished(const distillery::RunResult &result);
    void runningChanged(bool running);

private:
    class Observer;
    void start(const distillery::Experiment &experiment, const distillery::EngineOptions &options);
    void workerFinished();

    std::unique_ptr<distillery::Engine> engine_;
    std::unique_ptr<Observer> observer_;
    QThread *thread_ = nullptr;
    bool paused_ = false;
    QString runner_;
};
