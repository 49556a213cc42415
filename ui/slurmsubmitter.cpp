#include "slurmsubmitter.h"

#include <QDir>
#include <QFileInfo>
#include <QThread>

using namespace distillery;

SlurmSubmitter::SlurmSubmitter(QObject *parent) : QObject(parent) {}

SlurmSubmitter::~SlurmSubmitter()
{
    if (!thread_)
        return;
    thread_->wait();
    delete thread_;
}

bool SlurmSubmitter::begin(const SlurmOptions &options, QString *error)
{
    QString why;
    if (thread_)
        why = tr("A sweep is being submitted");
    else if (!QFileInfo(QString::fromStdString(options.runner)).isExecutable())
        why = tr("The jobs run distillery-run by its path, %1, and it is not there (or cannot be run)")
                  .arg(QDir::toNativeSeparators(QString::fromStdString(options.runner)));
    if (error)
        *error = why;
    return why.isEmpty();
}

bool SlurmSubmitter::submit(const Experiment &experiment, const QString &workspace, bool allowLarge,
                            const SlurmOptions &options, QString *error)
{
    if (!begin(options, error))
        return false;
    try {
        // As sweep.json will hold it (see SweepController::start).
        const Experiment e = parseExperiment(experimentToJson(experiment));
        const SweepPlan plan = planSweep(e, {}, allowLarge);
        QDir().mkpath(workspace);
        launch(createSweepFolder(workspace.toStdString(), e, plan), options);
    } catch (const std::exception &e) {
        if (error)
            *error = QString::fromUtf8(e.what());
        return false;
    }
    return true;
}

bool SlurmSubmitter::resubmit(const QString &sweepDir, const SlurmOptions &options, QString *error)
{
    if (!begin(options, error))
        return false;
    try {
        launch(openSweepFolder(sweepDir.toStdString()), options);
    } catch (const std::exception &e) {
        if (error)
            *error = QString::fromUtf8(e.what());
        return false;
    }
    return true;
}

void SlurmSubmitter::launch(const SweepFolder &sweep, const SlurmOptions &options)
{
    sweepDir_ = QString::fromStdString(sweep.dir);
    jobs_.clear();
    error_.clear();
    thread_ = QThread::create([this, sweep, options] {
        try {
            jobs_ = submitSweepToSlurm(sweep, options);
        } catch (const std::exception &e) {
            error_ = QString::fromUtf8(e.what());
        }
    });
    connect(thread_, &QThread::finished, this, &SlurmSubmitter::workerFinished, Qt::QueuedConnection);
    thread_->start();
    Q_EMIT submitting(sweepDir_, int(sweep.plan.points.size()));
    Q_EMIT busyChanged(true);
}

void SlurmSubmitter::workerFinished()
{
    if (!thread_)
        return;
    thread_->wait();
    delete thread_;
    thread_ = nullptr;
    Q_EMIT busyChanged(false);
    if (!error_.isEmpty()) {
        Q_EMIT failed(sweepDir_, error_);
        return;
    }
    QStringList ids;
    for (const SlurmJob &j : jobs_)
        ids << QString::fromStdString(j.id);
    Q_EMIT submitted(sweepDir_, ids, describeJobs(jobs_));
}

bool SlurmSubmitter::wait(int ms)
{
    return !thread_ || thread_->wait(QDeadlineTimer(ms));
}

QString SlurmSubmitter::describeJobs(const std::vector<SlurmJob> &jobs)
{
    QStringList parts;
    for (const SlurmJob &j : jobs) {
        QStringList after;
        for (const std::string &id : j.after)
            after << QString::fromStdString(id);
        const int n = int(j.points.size());
        QString text = tr("%1 job %2 (%3").arg(QString::fromStdString(j.name), QString::fromStdString(j.id),
                                               n == 1 ? tr("1 point") : tr("%1 points").arg(n));
        if (!after.isEmpty())
            text += tr(", after %1").arg(after.join(QStringLiteral(", ")));
        parts << text + QLatin1Char(')');
    }
    return parts.join(QStringLiteral("; "));
}
