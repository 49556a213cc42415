// Submits a sweep to Slurm from the window: makes its folder (sweep.json) and
// submits its points as array jobs (submitSweepToSlurm, which runs sbatch and,
// on a failure, scancel) on a worker thread, so a slow or unreachable
// controller never blocks the GUI thread. The jobs, or the core's message,
// come back to the GUI thread as signals.
#pragma once

#include "distillery/sweep.h"

#include <QObject>
#include <QString>
#include <QStringList>

#include <vector>

class QThread;

class SlurmSubmitter : public QObject {
    Q_OBJECT
public:
    explicit SlurmSubmitter(QObject *parent = nullptr);
    // Waits for a submission in progress (sbatch answers or fails on its own).
    ~SlurmSubmitter() override;

    bool isSubmitting() const { return thread_ != nullptr; }
    // The folder of the sweep being submitted or last submitted.
    QString sweepDir() const { return sweepDir_; }

    // Plans the experiment's sweep, makes its folder in `workspace` and starts
    // submitting it with `options` (their runner: distillery-run by its
    // absolute path, as the nodes run it). False with the reason (a
    // ConfigError's text, the runner missing) when it cannot start.
    bool submit(const distillery::Experiment &experiment, const QString &workspace, bool allowLarge,
                const distillery::SlurmOptions &options, QString *error = nullptr);
    // Submits the points of a sweep folder that have not finished.
    bool resubmit(const QString &sweepDir, const distillery::SlurmOptions &options, QString *error = nullptr);
    // Waits up to `ms` for the submission to end. True if it did (or none runs).
    bool wait(int ms);

    // "teacher 41 (1 point), baselines 42 (4 points, after 41), ..."
    static QString describeJobs(const std::vector<distillery::SlurmJob> &jobs);

Q_SIGNALS:
    void submitting(const QString &sweepDir, int points);
    // Every job was submitted and slurm/jobs.json written; `jobIds` in order
    // (none when every point had already finished).
    void submitted(const QString &sweepDir, const QStringList &jobIds, const QString &description);
    // Nothing stays submitted unless `error` says so (SlurmError's message).
    void failed(const QString &sweepDir, const QString &error);
    void busyChanged(bool submitting);

private:
    bool begin(const distillery::SlurmOptions &options, QString *error);
    void launch(const distillery::SweepFolder &sweep, const distillery::SlurmOptions &options);
    void workerFinished();

    QString sweepDir_;
    QThread *thread_ = nullptr;
    // Written by the worker, read once it has ended.
    std::vector<distillery::SlurmJob> jobs_;
    QString error_;
};
