#include "trainingcontroller.h"

#include <QCoreApplication>

#include <QThread>

// Called on the worker thread. Each emit crosses to the GUI thread as a queued
// call (the controller lives there), so the engine never waits on the UI.
class TrainingController::Observer : public distillery::RunObserver {
public:
    explicit Observer(TrainingController *c) : c_(c) {}
    void dataProgress(std::int64_t done, std::int64_t total) override { Q_EMIT c_->dataProgress(done, total); }
    void runStarted(const distillery::RunStartInfo &e) override { Q_EMIT c_->runStarted(e); }
    void stageStarted(const distillery::StageInfo &e) override { Q_EMIT c_->stageStarted(e); }
    void stepReported(const distillery::StepMetrics &e) override { Q_EMIT c_->stepReported(e); }
    void epochFinished(const distillery::EpochMetrics &e) override { Q_EMIT c_->epochFinished(e); }
    void stageFinished(const distillery::StageResult &e) override { Q_EMIT c_->stageFinished(e); }
    void pausedChanged(bool p) override { Q_EMIT c_->pausedChanged(p); }
    void settingChanged(const distillery::SettingChange &e) override { Q_EMIT c_->settingChanged(e); }
    void errorOccurred(const std::string &m) override { Q_EMIT c_->errorOccurred(QString::fromStdString(m)); }
    void runFinished(const distillery::RunResult &e) override { Q_EMIT c_->runFinished(e); }

private:
    TrainingController *c_;
};

TrainingController::TrainingController(QObject *parent)
    : QObject(parent), runner_(QCoreApplication::applicationDirPath() + QStringLiteral("/distillery-run"))
{
    qRegisterMetaType<distillery::RunStartInfo>();
    qRegisterMetaType<distillery::StageInfo>();
    qRegisterMetaType<distillery::StepMetrics>();
    qRegisterMetaType<distillery::EpochMetrics>();
    qRegisterMetaType<distillery::StageResult>();
    qRegisterMetaType<distillery::RunResult>();
    qRegisterMetaType<distillery::SettingChange>();
    // Queued: pausedChanged is emitted on the worker; the controller's own state
    // is updated on the GUI thread.
    connect(this, &TrainingController::pausedChanged, this, [this](bool p) { paused_ = p; }, Qt::QueuedConnection);
}

TrainingController::~TrainingController()
{
    stopAndWait(-1);
}

void TrainingController::startRun(const distillery::Experiment &experiment, const QString &workspace)
{
    start(experiment, distillery::EngineOptions{workspace.toStdString(), {}});
}

void TrainingController::resumeInterruptedRun(const QString &runDir)
{
    distillery::EngineOptions options;
    options.resumeRunDir = runDir.toStdString();
    start(distillery::Experiment{}, options); // the run's own config.json is used
}

void TrainingController::start(const distillery::Experiment &experiment, const distillery::EngineOptions &options)
{
    if (engine_)
        return;
    distillery::EngineOptions o = options;
    // A run over several processes starts the others with the runner; this
    // process is rank 0 and reports.
    o.runner = runner_.toStdString();
    engine_ = std::make_unique<distillery::Engine>(experiment, o);
    observer_ = std::make_unique<Observer>(this);
    paused_ = false;
    distillery::Engine *engine = engine_.get();
    Observer *observer = observer_.get();
    // Engine::run never throws: errors arrive through the observer.
    thread_ = QThread::create([engine, observer] { engine->run(*observer); });
    thread_->setObjectName(QStringLiteral("distillery-engine"));
    // Queued: `finished` is emitted on the worker; clean-up happens on the GUI
    // thread after every queued report from the run has been delivered.
    connect(thread_, &QThread::finished, this, &TrainingController::workerFinished, Qt::QueuedConnection);
    thread_->start();
    Q_EMIT runningChanged(true);
}

void TrainingController::pauseRun()
{
    if (engine_)
        engine_->requestPause();
}

void TrainingController::resumeRun()
{
    if (engine_)
        engine_->requestResume();
}

QString TrainingController::requestSettingChange(const QString &key, double value)
{
    return engine_ ? QString::fromStdString(engine_->requestSettingChange(key.toStdString(), value)) : QString();
}

void TrainingController::stopRun()
{
    if (engine_)
        engine_->requestStop();
}

bool TrainingController::stopAndWait(int ms)
{
    if (!thread_)
        return true;
    engine_->requestStop();
    const bool done = ms < 0 ? thread_->wait() : thread_->wait(QDeadlineTimer(ms));
    if (done)
        workerFinished();
    return done;
}

void TrainingController::workerFinished()
{
    if (!thread_ || !thread_->isFinished())
        return;
    delete thread_;
    thread_ = nullptr;
    engine_.reset();
    observer_.reset();
    paused_ = false;
    Q_EMIT runningChanged(false);
}
