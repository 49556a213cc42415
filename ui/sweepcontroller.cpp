#include "sweepcontroller.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QPointer>
#include <QThread>

using namespace distillery;

SweepController::SweepController(QObject *parent)
    : QObject(parent), runner_(QCoreApplication::applicationDirPath() + QStringLiteral("/distillery-run"))
{
}

SweepController::~SweepController()
{
    if (!thread_)
        return;
    stop_ = true;
    thread_->wait();
    delete thread_;
}

bool SweepController::start(const Experiment &experiment, const QString &workspace, int jobs, bool allowLarge,
                            QString *error)
{
    return begin(
        [&] {
            // As sweep.json will hold it, so the plan read back from the folder
            // (its keys in the file's order) numbers the points as this one does.
            const Experiment e = parseExperiment(experimentToJson(experiment));
            const SweepPlan plan = planSweep(e, {}, allowLarge);
            QDir().mkpath(workspace);
            return createSweepFolder(workspace.toStdString(), e, plan);
        },
        jobs, error);
}

bool SweepController::resume(const QString &sweepDir, int jobs, QString *error)
{
    return begin([&] { return openSweepFolder(sweepDir.toStdString()); }, jobs, error);
}

bool SweepController::begin(const std::function<SweepFolder()> &folder, int jobs, QString *error)
{
    if (thread_) {
        if (error)
            *error = tr("A sweep is already running");
        return false;
    }
    if (!runnerThere(error))
        return false;
    try {
        launch(folder(), jobs);
    } catch (const std::exception &e) {
        if (error)
            *error = QString::fromUtf8(e.what());
        return false;
    }
    return true;
}

bool SweepController::runnerThere(QString *error) const
{
    if (QFileInfo(runner_).isExecutable())
        return true;
    if (error)
        *error = tr("The sweep's runs are distillery-run processes, and %1 is not there (or cannot be run)")
                     .arg(QDir::toNativeSeparators(runner_));
    return false;
}

void SweepController::launch(const SweepFolder &sweep, int jobs)
{
    sweepDir_ = QString::fromStdString(sweep.dir);
    stop_ = false;
    LocalSweepOptions o;
    o.runner = runner_.toStdString();
    o.jobs = jobs;
    o.stop = &stop_;
    // Called on the worker: each state crosses to the GUI thread queued.
    QPointer<SweepController> self(this);
    o.progress = [self](const SweepProgress &p) {
        const int point = p.point, state = int(p.state);
        const QString message = QString::fromStdString(p.message);
        QMetaObject::invokeMethod(
            self.data(), [self, point, state, message] {
                if (self)
                    Q_EMIT self->pointChanged(point, state, message);
            },
            Qt::QueuedConnection);
    };
    thread_ = QThread::create([this, sweep, o] { outcome_ = runSweepLocally(sweep, o); });
    connect(thread_, &QThread::finished, this, &SweepController::workerFinished, Qt::QueuedConnection);
    thread_->start();
    Q_EMIT started(sweepDir_, int(sweep.plan.points.size()));
    Q_EMIT runningChanged(true);
}

void SweepController::workerFinished()
{
    if (!thread_)
        return;
    thread_->wait();
    delete thread_;
    thread_ = nullptr;
    Q_EMIT finished(outcome_.finished, outcome_.failed, outcome_.skipped, outcome_.stopped);
    Q_EMIT runningChanged(false);
}

void SweepController::stop()
{
    stop_ = true;
}

bool SweepController::wait(int ms)
{
    return !thread_ || thread_->wait(QDeadlineTimer(ms));
}
