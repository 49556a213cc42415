#include "mainwindow.h"

#include "distillery/fork.h"

#include "exportdialog.h"

#include "experimentpanel.h"
#include "insightview.h"
#include "liveview.h"
#include "runspanel.h"
#include "runstatusview.h"
#include "sweepview.h"
#include "trainingcontroller.h"

#include "distillery/runs.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QScreen>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
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
    const QString dev = QStringLiteral(DISTILLERY_RESOURCES_DIR "/experiments/fashion-mnist-few-labels.json");
    if (QFileInfo::exists(dev))
        return dev;
#endif
    return QStandardPaths::locate(QStandardPaths::GenericDataLocation,
                                  QStringLiteral("distillery/experiments/fashion-mnist-few-labels.json"));
}

} // namespace

MainWindow::MainWindow(const QString &workspace, const QString &experimentFile, QWidget *parent)
    : QMainWindow(parent), controller_(new TrainingController(this)), panel_(new ExperimentPanel),
      runs_(new RunsPanel), liveView_(new LiveView(this)), insight_(new InsightView(this)),
      centralTabs_(new QTabWidget(this))
{
    setWindowTitle(tr("Distillery"));
    setWindowIcon(QIcon(QStringLiteral(":/distillery.svg")));
    centralTabs_->setDocumentMode(true);
    centralTabs_->addTab(liveView_, tr("Training"));
    centralTabs_->addTab(insight_, tr("Insight"));
    centralTabs_->setTabToolTip(0, tr("The run in progress as it trains, and the runs selected for comparison"));
    centralTabs_->setTabToolTip(1, tr("What the models of the selected run do on the test set, and how they relate "
                                      "to the teacher (Ctrl+I)"));
    setCentralWidget(centralTabs_);

    createDocks();
    createSweeps();
    createActions();
    status_ = new RunStatusView(statusBar());

    // Queued (automatic across threads): the engine reports on its worker thread.
    connect(controller_, &TrainingController::dataProgress, status_, &RunStatusView::dataProgress);
    connect(controller_, &TrainingController::runStarted, this, &MainWindow::onRunStarted);
    connect(controller_, &TrainingController::stageStarted, this, &MainWindow::onStageStarted);
    connect(controller_, &TrainingController::stepReported, this, &MainWindow::onStep);
    connect(controller_, &TrainingController::epochFinished, this, &MainWindow::onEpoch);
    connect(controller_, &TrainingController::stageFinished, this, &MainWindow::onStageFinished);
    connect(controller_, &TrainingController::runFinished, this, &MainWindow::onRunFinished);
    connect(controller_, &TrainingController::errorOccurred, this, &MainWindow::onError);
    connect(controller_, &TrainingController::settingChanged, this, &MainWindow::onSettingChanged);
    connect(controller_, &TrainingController::pausedChanged, this, [this](bool paused) {
        pauseAction_->setText(paused ? tr("&Resume") : tr("&Pause"));
        pauseAction_->setIcon(style()->standardIcon(paused ? QStyle::SP_MediaPlay : QStyle::SP_MediaPause));
        status_->setPaused(paused);
        statusBar()->showMessage(paused ? tr("Paused: training waits at the current step; Ctrl+P resumes")
                                        : tr("Resumed"), 8000);
    });
    // Direct (same thread): the controller lives on the GUI thread.
    connect(controller_, &TrainingController::runningChanged, this, [this](bool running) {
        updateActions();
        if (!running) {
            runs_->refresh();
            // A run selected while its worker was still ending was left to the
            // live curves (showComparison): now it is compared from its folder.
            if (runs_->selectedRuns().contains(liveRunDir_))
                showComparison(runs_->selectedRuns());
            updateInsight();
            if (closing_)
                close();
        }
    });
    connect(panel_, &ExperimentPanel::changed, this, &MainWindow::updateActions);
    connect(panel_, &ExperimentPanel::changed, this, &MainWindow::updateTitle);
    connect(runs_, &RunsPanel::selectionChanged, this, &MainWindow::showComparison);
    connect(runs_, &RunsPanel::selectionChanged, this, &MainWindow::updateActions);
    connect(runs_, &RunsPanel::selectionChanged, this, &MainWindow::updateInsight);
    connect(runs_, &RunsPanel::runOpened, this, &MainWindow::openRun);

    restoreSettings(workspace, experimentFile);
    updateActions();
}

MainWindow::~MainWindow()
{
    // The controller, a child, stops and waits for a run still going when it
    // is destroyed, after this window's own members: its last signals
    // (runningChanged) must not reach them.
    disconnect(controller_, nullptr, this, nullptr);
}

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
    // The set-up runs the window's full height, so on a laptop screen it shows
    // data, teacher, student and distillation without scrolling; the runs sit
    // under the plots they feed.
    setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);
    resizeDocks({setup}, {480}, Qt::Horizontal);
    resizeDocks({runs}, {200}, Qt::Vertical);
}

void MainWindow::restoreSettings(const QString &workspace, const QString &experimentFile)
{
    QSettings s;
    restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray());
    restoreState(s.value(QStringLiteral("window/state")).toByteArray());
    if (!s.contains(QStringLiteral("window/geometry"))) {
        // 1500×950 where the screen has room, else all of it (a 1366×768 laptop).
        const QSize room = screen() ? screen()->availableSize() : QSize(1500, 950);
        resize(QSize(1500, 950).boundedTo(room));
    }
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
    panel_->setWorkspace(workspace_); // the data preview caches image folders where the runs find them
    sweepView_->setWorkspace(workspace_);
    QSettings().setValue(QStringLiteral("workspace"), workspace_);
    statusBar()->showMessage(tr("Workspace %1: %n run(s)", nullptr, runs_->runCount()).arg(QDir::toNativeSeparators(workspace_)), 4000);
}

bool MainWindow::openExperiment(const QString &path)
{
    try {
        panel_->setExperiment(loadExperiment(path.toStdString()));
    } catch (const ConfigError &e) {
        statusBar()->showMessage(tr("Could not open %1").arg(QFileInfo(path).fileName()), 8000);
        QMessageBox box(QMessageBox::Warning, tr("Cannot open experiment"),
                        tr("<p>%1 cannot be opened:</p><p><b>%2</b></p><p>The experiment shown is unchanged. Fix the "
                           "file in an editor (docs/EXPERIMENT.md describes every field) and open it again.</p>")
                            .arg(QFileInfo(path).fileName().toHtmlEscaped(), QString::fromUtf8(e.what()).toHtmlEscaped()),
                        QMessageBox::Ok, this);
        box.setDetailedText(path);
        box.exec();
        return false;
    }
    setExperimentPath(path);
    markSaved();
    statusBar()->showMessage(tr("Opened %1").arg(QDir::toNativeSeparators(path)), 4000);
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
    markSaved();
    statusBar()->showMessage(tr("Saved %1").arg(QDir::toNativeSeparators(path)), 4000);
    return true;
}

void MainWindow::setExperimentPath(const QString &path)
{
    experimentPath_ = path;
    setWindowFilePath(path);
    addRecent(path);
    QSettings().setValue(QStringLiteral("lastExperiment"), path);
}

void MainWindow::markSaved()
{
    savedExperiment_ = experimentToJson(panel_->experiment());
    updateTitle();
}

void MainWindow::updateTitle()
{
    const QString name = QString::fromStdString(panel_->experiment().name);
    setWindowTitle(tr("%1[*] – Distillery").arg(name.isEmpty() ? tr("Untitled") : name));
    setWindowModified(!savedExperiment_.empty() && experimentToJson(panel_->experiment()) != savedExperiment_);
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
    const QStringList picked = runs_->selectedRuns();
    forkRunAction_->setEnabled(!running && picked.size() == 1 && !forkableEpochs(picked.first().toStdString()).empty());
    const QString exportable = exportableRun();
    exportAction_->setEnabled(!exportable.isEmpty());
    exportAction_->setToolTip(exportable.isEmpty() ? tr("Select a finished run in the Runs panel to export its model")
                                                   : tr("Export the model of %1").arg(QFileInfo(exportable).fileName()));
    pauseAction_->setEnabled(running);
    stopAction_->setEnabled(running);
    changeSettingsAction_->setEnabled(running);
    if (!running) {
        pauseAction_->setText(tr("&Pause"));
        pauseAction_->setIcon(style()->standardIcon(QStyle::SP_MediaPause));
    }
    status_->setBlockedReason(reason);
    openRunFolderAction_->setEnabled(runs_->selectedRuns().size() == 1 || !liveRunDir_.isEmpty());
    saveComparisonAction_->setEnabled(!runs_->selectedRuns().isEmpty());
    panel_->setRunning(running);
    updateSweepActions();
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
    connect(dialog, &ExportDialog::exportFinished, this, [this, dialog](bool ok) {
        statusBar()->showMessage(ok ? tr("Exported to %1").arg(QDir::toNativeSeparators(dialog->outputFolder()))
                                    : tr("Export failed; the dialog says why"), 6000);
    });
    dialog->show();
    exportDialog_ = dialog;
    return dialog;
}

void MainWindow::startRun()
{
    if (!startAction_->isEnabled())
        return;
    clearLiveView(tr("Loading the data and preparing the run…"));
    controller_->startRun(panel_->experiment(), workspace_);
}

void MainWindow::clearLiveView(const QString &status)
{
    liveView_->clear(tr("<p style='font-size:large'>%1</p><p>The plots appear when the first stage starts.</p>")
                         .arg(status.toHtmlEscaped()));
    runs_->selectRuns({});
    liveRunDir_.clear();
    stagesSeen_ = 0;
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
    if (!controller_->isRunning())
        return;
    controller_->stopRun();
    status_->showText(tr("Stopping at the next step…"));
}

void MainWindow::onRunStarted(const RunStartInfo &info)
{
    liveRunDir_ = QString::fromStdString(info.runDir);
    try { // the run's own settings (a resumed run's too), changed later by onSettingChanged
        liveSettings_ = loadExperiment((liveRunDir_ + QStringLiteral("/config.json")).toStdString()).distillation;
    } catch (const ConfigError &) {
        liveSettings_ = panel_->experiment().distillation;
    }
    liveView_->setLiveRun(QString::fromStdString(panel_->experiment().name), QFileInfo(liveRunDir_).fileName());
    runs_->refresh();
    updateActions();
    statusBar()->showMessage(tr("Started: run folder %1 · %2 · %3 threads").arg(QDir::toNativeSeparators(liveRunDir_), QString::fromStdString(info.device)).arg(info.threads), 8000);
}

void MainWindow::onStageStarted(const StageInfo &info)
{
    ++stagesSeen_;
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
    insight_->addLiveEpoch(liveRunDir_, m); // the fidelity curves, live
}

void MainWindow::onStageFinished(const StageResult &r)
{
    status_->showLatestStep(); // the stage's last step, not one from up to RunStatusView::kIntervalMs before
    liveView_->stageFinished(r);
    runs_->refresh();
    if (!liveRunDir_.isEmpty() && insight_->runDir() == liveRunDir_)
        insight_->showRun(liveRunDir_); // the stage's analysis is on disk
}

void MainWindow::onRunFinished(const RunResult &r)
{
    statusBar()->clearMessage(); // a passing message ("Resumed") would hide the run's outcome
    status_->runFinished(r);
    if (stagesSeen_ == 0 && r.status != RunStatus::Finished)
        liveView_->setEmptyText(tr("<p style='font-size:large'>The run ended before training began.</p>"
                                   "<p>Press <b>Start</b> (Ctrl+R) to try again, or select a run below.</p>"));
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
    liveView_->showRuns(compared, controller_->isRunning());
    runs_->setRunColors(liveView_->runColors());
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    QSettings s;
    s.setValue(QStringLiteral("window/geometry"), saveGeometry());
    s.setValue(QStringLiteral("window/state"), saveState());
    if (!closeSweep()) {
        event->ignore();
        return;
    }
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
