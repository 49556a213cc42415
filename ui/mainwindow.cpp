#include "mainwindow.h"

#include "exportdialog.h"

#include "experimentpanel.h"
#include "liveview.h"
#include "runspanel.h"
#include "runstatusview.h"
#include "trainingcontroller.h"

#include "distillery/runs.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStyle>
#include <QToolBar>

using namespace distillery;

namespace {

QString defaultWorkspace()
{
    return QDir::homePath() + QStringLiteral("/Distillery");
}

QString defaultExperiment()
{
#ifdef DISTILLERY_RESOURCES_DIR
    const QString dev = QStringLiteral(DISTILLERY_RESOURCES_DIR "/experiments/fashion-mnist-quick.json");
    if (QFileInfo::exists(dev))
        return dev;
#endif
    return QStandardPaths::locate(QStandardPaths::GenericDataLocation,
                                  QStringLiteral("distillery/experiments/fashion-mnist-quick.json"));
}

} // namespace

MainWindow::MainWindow(const QString &workspace, const QString &experimentFile, QWidget *parent)
    : QMainWindow(parent), controller_(new TrainingController(this)), panel_(new ExperimentPanel),
      runs_(new RunsPanel), liveView_(new LiveView(this))
{
    setWindowTitle(tr("Distillery"));
    setWindowIcon(QIcon(QStringLiteral(":/distillery.svg")));
    setCentralWidget(liveView_);

    createDocks();
    createActions();
    status_ = new RunStatusView(statusBar());

    // Queued (automatic across threads): the engine reports on its worker thread.
    connect(controller_, &TrainingController::runStarted, this, &MainWindow::onRunStarted);
    connect(controller_, &TrainingController::stageStarted, this, &MainWindow::onStageStarted);
    connect(controller_, &TrainingController::stepReported, this, &MainWindow::onStep);
    connect(controller_, &TrainingController::epochFinished, this, &MainWindow::onEpoch);
    connect(controller_, &TrainingController::stageFinished, this, &MainWindow::onStageFinished);
    connect(controller_, &TrainingController::runFinished, this, &MainWindow::onRunFinished);
    connect(controller_, &TrainingController::errorOccurred, this, &MainWindow::onError);
    connect(controller_, &TrainingController::pausedChanged, this, [this](bool paused) {
        pauseAction_->setText(paused ? tr("&Resume") : tr("&Pause"));
        status_->setPaused(paused);
    });
    // Direct (same thread): the controller lives on the GUI thread.
    connect(controller_, &TrainingController::runningChanged, this, [this](bool running) {
        updateActions();
        if (!running) {
            runs_->refresh();
            if (closing_)
                close();
        }
    });
    connect(panel_, &ExperimentPanel::changed, this, &MainWindow::updateActions);
    connect(runs_, &RunsPanel::selectionChanged, this, &MainWindow::showComparison);
    connect(runs_, &RunsPanel::selectionChanged, this, &MainWindow::updateActions);

    restoreSettings(workspace, experimentFile);
    updateActions();
}

MainWindow::~MainWindow() = default;

LivePlot *MainWindow::lossPlot() const
{
    return liveView_->lossPlot();
}

LivePlot *MainWindow::accuracyPlot() const
{
    return liveView_->accuracyPlot();
}

QProgressBar *MainWindow::progressBar() const
{
    return status_->progressBar();
}

void MainWindow::createDocks()
{
    auto *setup = new QDockWidget(tr("Experiment"), this);
    setup->setObjectName(QStringLiteral("experimentDock"));
    setup->setWidget(panel_);
    addDockWidget(Qt::LeftDockWidgetArea, setup);
    auto *runs = new QDockWidget(tr("Runs"), this);
    runs->setObjectName(QStringLiteral("runsDock"));
    runs->setWidget(runs_);
    addDockWidget(Qt::BottomDockWidgetArea, runs);
    resizeDocks({setup}, {480}, Qt::Horizontal);
    resizeDocks({runs}, {220}, Qt::Vertical);
}

void MainWindow::createActions()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *newAction = file->addAction(tr("&New experiment"), this, [this] {
        if (confirmDiscard()) {
            panel_->setExperiment(Experiment{});
            experimentPath_.clear();
        }
    });
    newAction->setShortcut(QKeySequence::New);
    QAction *open = file->addAction(style()->standardIcon(QStyle::SP_DialogOpenButton), tr("&Open…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open experiment"), QFileInfo(experimentPath_).path(),
                                                          tr("Experiments (*.json)"));
        if (!path.isEmpty())
            openExperiment(path);
    });
    open->setShortcut(QKeySequence::Open);
    recentMenu_ = file->addMenu(tr("Open &Recent"));
    QAction *save = file->addAction(style()->standardIcon(QStyle::SP_DialogSaveButton), tr("&Save"), this, [this] {
        QString path = experimentPath_;
        // The shipped examples are not overwritten: Save asks where.
        if (path.isEmpty() || !QFileInfo(path).isWritable() || path.startsWith(QStringLiteral(DISTILLERY_RESOURCES_DIR)))
            path = QFileDialog::getSaveFileName(this, tr("Save experiment"),
                                                workspace_ + QLatin1Char('/') + QString::fromStdString(panel_->experiment().name) + QStringLiteral(".json"),
                                                tr("Experiments (*.json)"));
        if (!path.isEmpty())
            saveExperiment(path);
    });
    save->setShortcut(QKeySequence::Save);
    QAction *saveAs = file->addAction(tr("Save &As…"), this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save experiment"), experimentPath_, tr("Experiments (*.json)"));
        if (!path.isEmpty())
            saveExperiment(path);
    });
    saveAs->setShortcut(QKeySequence::SaveAs);
    file->addAction(tr("Choose &workspace…"), this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Workspace"), workspace_);
        if (!dir.isEmpty())
            setWorkspace(dir);
    });
    file->addSeparator();
    exportAction_ = file->addAction(tr("&Export model…"), this, &MainWindow::openExportDialog);
    exportAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    exportAction_->setStatusTip(tr("Write the selected run's student as TorchScript, ONNX, safetensors and a model card"));
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu *run = menuBar()->addMenu(tr("&Run"));
    startAction_ = run->addAction(style()->standardIcon(QStyle::SP_MediaPlay), tr("&Start"), this, &MainWindow::startRun);
    startAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    pauseAction_ = run->addAction(style()->standardIcon(QStyle::SP_MediaPause), tr("&Pause"), this, &MainWindow::togglePause);
    pauseAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
    stopAction_ = run->addAction(style()->standardIcon(QStyle::SP_MediaStop), tr("S&top"), this, &MainWindow::stopRun);
    stopAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
    run->addSeparator();
    resumeRunAction_ = run->addAction(tr("&Resume selected run"), this, &MainWindow::resumeSelectedRun);
    resumeRunAction_->setStatusTip(tr("Continue a stopped, failed or interrupted run from its last checkpoint"));

    QMenu *view = menuBar()->addMenu(tr("&View"));
    for (auto *dock : findChildren<QDockWidget *>())
        view->addAction(dock->toggleViewAction());

    QToolBar *bar = addToolBar(tr("Main"));
    bar->setObjectName(QStringLiteral("mainToolbar"));
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    bar->addAction(open);
    bar->addAction(save);
    bar->addSeparator();
    bar->addAction(startAction_);
    bar->addAction(pauseAction_);
    bar->addAction(stopAction_);
    for (QAction *a : {open, save, startAction_, pauseAction_, stopAction_})
        a->setToolTip(QStringLiteral("%1 (%2)").arg(a->text().remove(QLatin1Char('&')), a->shortcut().toString(QKeySequence::NativeText)));
}

void MainWindow::restoreSettings(const QString &workspace, const QString &experimentFile)
{
    QSettings s;
    restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray());
    restoreState(s.value(QStringLiteral("window/state")).toByteArray());
    if (!s.contains(QStringLiteral("window/geometry")))
        resize(1500, 950);
    setWorkspace(!workspace.isEmpty() ? workspace : s.value(QStringLiteral("workspace"), defaultWorkspace()).toString());
    updateRecentMenu();
    QString path = experimentFile;
    if (path.isEmpty())
        path = s.value(QStringLiteral("lastExperiment")).toString();
    if (path.isEmpty() || !QFileInfo::exists(path))
        path = defaultExperiment();
    if (!path.isEmpty())
        openExperiment(path);
}

void MainWindow::setWorkspace(const QString &dir)
{
    workspace_ = QDir(dir).absolutePath();
    runs_->setWorkspace(workspace_);
    QSettings().setValue(QStringLiteral("workspace"), workspace_);
}

bool MainWindow::openExperiment(const QString &path)
{
    try {
        panel_->setExperiment(loadExperiment(path.toStdString()));
    } catch (const ConfigError &e) {
        QMessageBox::warning(this, tr("Open experiment"), QString::fromUtf8(e.what()));
        return false;
    }
    setExperimentPath(path);
    return true;
}

bool MainWindow::saveExperiment(const QString &path)
{
    try {
        distillery::saveExperiment(panel_->experiment(), path.toStdString());
    } catch (const ConfigError &e) {
        QMessageBox::warning(this, tr("Save experiment"), QString::fromUtf8(e.what()));
        return false;
    }
    setExperimentPath(path);
    statusBar()->showMessage(tr("Saved %1").arg(path), 4000);
    return true;
}

void MainWindow::setExperimentPath(const QString &path)
{
    experimentPath_ = path;
    setWindowTitle(tr("%1 – Distillery").arg(QFileInfo(path).fileName()));
    addRecent(path);
    QSettings().setValue(QStringLiteral("lastExperiment"), path);
}

void MainWindow::addRecent(const QString &path)
{
    QSettings s;
    QStringList recent = s.value(QStringLiteral("recentExperiments")).toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > 8)
        recent.removeLast();
    s.setValue(QStringLiteral("recentExperiments"), recent);
    updateRecentMenu();
}

void MainWindow::updateRecentMenu()
{
    recentMenu_->clear();
    const QStringList recent = QSettings().value(QStringLiteral("recentExperiments")).toStringList();
    for (const QString &path : recent)
        recentMenu_->addAction(QFileInfo(path).fileName(), this, [this, path] { openExperiment(path); })->setToolTip(path);
    recentMenu_->setEnabled(!recent.isEmpty());
}

bool MainWindow::confirmDiscard()
{
    return !controller_->isRunning();
}

QString MainWindow::startBlockedReason() const
{
    if (controller_->isRunning())
        return tr("A run is in progress");
    return panel_->problem();
}

void MainWindow::updateActions()
{
    const bool running = controller_->isRunning();
    const QString reason = running ? QString() : panel_->problem();
    startAction_->setEnabled(!running && reason.isEmpty());
    const QString resumable = resumableRun();
    resumeRunAction_->setEnabled(!resumable.isEmpty());
    resumeRunAction_->setToolTip(resumable.isEmpty()
                                     ? tr("Select a stopped, failed or interrupted run in the Runs panel")
                                     : tr("Continue %1 from its last checkpoint").arg(QFileInfo(resumable).fileName()));
    const QString exportable = exportableRun();
    exportAction_->setEnabled(!exportable.isEmpty());
    exportAction_->setToolTip(exportable.isEmpty() ? tr("Select a finished run in the Runs panel to export its model")
                                                   : tr("Export the model of %1").arg(QFileInfo(exportable).fileName()));
    pauseAction_->setEnabled(running);
    stopAction_->setEnabled(running);
    if (!running)
        pauseAction_->setText(tr("&Pause"));
    status_->setBlockedReason(reason);
    panel_->setEnabled(!running);
}

QString MainWindow::exportableRun() const
{
    const QStringList selected = runs_->selectedRuns();
    QString dir = selected.size() == 1 ? selected.first() : (selected.isEmpty() ? liveRunDir_ : QString());
    if (dir.isEmpty() || (dir == liveRunDir_ && controller_->isRunning()))
        return {};
    return readRunInfo(dir.toStdString()).studentTestAccuracy >= 0 ? dir : QString();
}

ExportDialog *MainWindow::exportDialog() const
{
    return exportDialog_;
}

ExportDialog *MainWindow::openExportDialog()
{
    const QString dir = exportableRun();
    if (dir.isEmpty())
        return nullptr;
    auto *dialog = new ExportDialog(dir, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
    exportDialog_ = dialog;
    return dialog;
}

void MainWindow::startRun()
{
    if (!startAction_->isEnabled())
        return;
    clearLiveView(tr("Loading data…"));
    controller_->startRun(panel_->experiment(), workspace_);
}

void MainWindow::clearLiveView(const QString &status)
{
    liveView_->clear();
    runs_->selectRuns({});
    liveRunDir_.clear();
    status_->clear(status);
}

QString MainWindow::resumableRun() const
{
    const QStringList selected = runs_->selectedRuns();
    if (selected.size() != 1 || controller_->isRunning())
        return {};
    return readRunInfo(selected.first().toStdString()).resumable() ? selected.first() : QString();
}

void MainWindow::resumeSelectedRun()
{
    const QString dir = resumableRun();
    if (dir.isEmpty())
        return;
    clearLiveView(tr("Resuming %1…").arg(QFileInfo(dir).fileName()));
    controller_->resumeInterruptedRun(dir);
}

void MainWindow::togglePause()
{
    if (!controller_->isRunning())
        return;
    if (controller_->isPaused() || pauseAction_->text() == tr("&Resume")) {
        controller_->resumeRun();
        pauseAction_->setText(tr("&Pause"));
    } else {
        controller_->pauseRun();
        pauseAction_->setText(tr("&Resume"));
    }
}

void MainWindow::stopRun()
{
    controller_->stopRun();
    status_->showText(tr("Stopping at the next step…"));
}

void MainWindow::onRunStarted(const RunStartInfo &info)
{
    liveRunDir_ = QString::fromStdString(info.runDir);
    runs_->refresh();
    statusBar()->showMessage(tr("Run folder: %1 · %2 · %3 threads").arg(liveRunDir_, QString::fromStdString(info.device)).arg(info.threads), 8000);
}

void MainWindow::onStageStarted(const StageInfo &info)
{
    status_->stageStarted(info);
    liveView_->stageStarted(info);
}

void MainWindow::onStep(const StepMetrics &m)
{
    liveView_->addStep(m);
    status_->stepReported(m);
}

void MainWindow::onEpoch(const EpochMetrics &m)
{
    liveView_->addEpoch(m);
}

void MainWindow::onStageFinished(const StageResult &r)
{
    status_->showLatestStep(); // the stage's last step, not one from up to RunStatusView::kIntervalMs before
    liveView_->stageFinished(r);
    runs_->refresh();
}

void MainWindow::onRunFinished(const RunResult &r)
{
    status_->runFinished(r);
}

void MainWindow::onError(const QString &message)
{
    status_->showText(tr("Failed"));
    if (!closing_)
        QMessageBox::critical(this, tr("Training stopped"), message);
}

void MainWindow::showComparison(const QStringList &runDirs)
{
    QStringList compared;
    for (const QString &dir : runDirs)
        if (dir != liveRunDir_ || !controller_->isRunning())
            compared << dir; // the run in progress is already drawn live
    liveView_->showRuns(compared);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    QSettings s;
    s.setValue(QStringLiteral("window/geometry"), saveGeometry());
    s.setValue(QStringLiteral("window/state"), saveState());
    if (!controller_->isRunning()) {
        event->accept();
        return;
    }
    if (confirmClose_ && !closing_) {
        const auto answer = QMessageBox::question(
            this, tr("Training in progress"),
            tr("A run is in progress. Stop it and quit? The run folder keeps everything up to the current step, "
               "marked as stopped."),
            QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
        if (answer != QMessageBox::Yes) {
            event->ignore();
            return;
        }
    }
    // Stop at the next step; the window closes when the worker has finished
    // (runningChanged), so the run folder is written out first.
    closing_ = true;
    status_->showText(tr("Stopping…"));
    controller_->stopRun();
    event->ignore();
}
