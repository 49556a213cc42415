#include "mainwindow.h"

#include "exportdialog.h"
#include "stagestyle.h"

#include "experimentpanel.h"
#include "format.h"
#include "liveplot.h"
#include "runspanel.h"
#include "trainingcontroller.h"

#include "distillery/runs.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStyle>
#include <QTimer>
#include <QToolBar>

using namespace distillery;

// The live series of one stage in each plot.
struct MainWindow::StageSeries {
    int loss = -1, soft = -1, hard = -1;
    int trainAcc = -1, valAcc = -1;
    int lr = -1, speed = -1;
};

namespace {

const QColor overlayColors[] = {QColor(0, 137, 123), QColor(194, 24, 91), QColor(109, 76, 65), QColor(85, 139, 47),
                                QColor(69, 90, 100), QColor(251, 140, 0)};

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
      runs_(new RunsPanel), lossPlot_(new LivePlot(tr("Loss"), tr("loss"))),
      accuracyPlot_(new LivePlot(tr("Accuracy"), tr("accuracy (%)"))),
      lrPlot_(new LivePlot(tr("Learning rate"), tr("learning rate"))),
      speedPlot_(new LivePlot(tr("Throughput"), tr("samples/s"))), stageLabel_(new QLabel(this)),
      reasonLabel_(new QLabel(this)), progress_(new QProgressBar(this)), statusTimer_(new QTimer(this))
{
    setWindowTitle(tr("Distillery"));
    setWindowIcon(QIcon(QStringLiteral(":/distillery.svg")));
    auto *plots = new QWidget(this);
    auto *grid = new QGridLayout(plots);
    grid->setContentsMargins(2, 2, 2, 2);
    grid->addWidget(lossPlot_, 0, 0);
    grid->addWidget(accuracyPlot_, 0, 1);
    grid->addWidget(lrPlot_, 1, 0);
    grid->addWidget(speedPlot_, 1, 1);
    grid->setRowStretch(0, 3);
    grid->setRowStretch(1, 2);
    setCentralWidget(plots);
    accuracyPlot_->setXAxis(LivePlot::XAxis::Epoch);
    accuracyPlot_->setLegendCorner(Qt::AlignRight | Qt::AlignBottom); // accuracy rises towards the top right

    createDocks();
    createActions();

    statusTimer_->setSingleShot(true);
    statusTimer_->setInterval(kStatusIntervalMs);
    connect(statusTimer_, &QTimer::timeout, this, &MainWindow::showStepStatus);
    progress_->setMaximumWidth(260);
    progress_->setTextVisible(true);
    progress_->setFormat(QString());
    reasonLabel_->setStyleSheet(QStringLiteral("color: #c62828;"));
    statusBar()->addWidget(stageLabel_, 1);
    statusBar()->addWidget(reasonLabel_);
    statusBar()->addPermanentWidget(progress_);

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
        stageLabel_->setText(paused ? tr("Paused: %1").arg(stageLabel_->text()) : stageLabel_->text().remove(tr("Paused: ")));
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

MainWindow::~MainWindow()
{
    qDeleteAll(stages_);
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
    reasonLabel_->setText(reason.isEmpty() ? QString() : tr("Cannot start: %1").arg(reason));
    reasonLabel_->setToolTip(reason);
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
    for (LivePlot *p : {lossPlot_, accuracyPlot_, lrPlot_, speedPlot_})
        p->clear();
    qDeleteAll(stages_);
    stages_.clear();
    runs_->selectRuns({});
    liveRunDir_.clear();
    progress_->setValue(0);
    stageLabel_->setText(status);
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
    stageLabel_->setText(tr("Stopping at the next step…"));
}

MainWindow::StageSeries &MainWindow::seriesFor(StageKind kind)
{
    const int key = int(kind);
    if (!stages_.contains(key)) {
        auto *s = new StageSeries;
        const QColor c = stageColor(kind);
        const QString n = stageTitle(kind);
        s->loss = lossPlot_->addSeries(kind == StageKind::Distillation ? tr("%1 total").arg(n) : n, c);
        if (kind == StageKind::Distillation) {
            s->soft = lossPlot_->addSeries(tr("%1 soft (KD)").arg(n), c.lighter(140), Qt::DashLine);
            s->hard = lossPlot_->addSeries(tr("%1 hard (CE)").arg(n), c.darker(130), Qt::DotLine);
        }
        s->trainAcc = accuracyPlot_->addSeries(tr("%1 train").arg(n), c.lighter(150), Qt::DashLine);
        s->valAcc = accuracyPlot_->addSeries(tr("%1 validation").arg(n), c);
        s->lr = lrPlot_->addSeries(n, c);
        s->speed = speedPlot_->addSeries(n, c);
        stages_.insert(key, s);
    }
    return *stages_[key];
}

void MainWindow::onRunStarted(const RunStartInfo &info)
{
    liveRunDir_ = QString::fromStdString(info.runDir);
    runs_->refresh();
    statusBar()->showMessage(tr("Run folder: %1 · %2 · %3 threads").arg(liveRunDir_, QString::fromStdString(info.device)).arg(info.threads), 8000);
}

void MainWindow::onStageStarted(const StageInfo &info)
{
    stage_ = info;
    stageClock_.start();
    stepPending_ = false; // the previous stage's last report is not this stage's status
    seriesFor(info.kind);
    progress_->setValue(0);
    stageLabel_->setText(tr("Stage %1/%2: %3 (%4)").arg(info.index + 1).arg(info.stageCount).arg(stageTitle(info.kind), QString::fromStdString(info.model)));
}

void MainWindow::onStep(const StepMetrics &m)
{
    StageSeries &s = seriesFor(m.stage);
    const double steps = double(stage_.stepsPerEpoch ? stage_.stepsPerEpoch : 1);
    const double epochPos = double(m.step) / steps;
    lossPlot_->addPoint(s.loss, double(m.step), epochPos, m.loss);
    for (const auto &[name, value] : m.parts) {
        if (name == "soft" && s.soft >= 0)
            lossPlot_->addPoint(s.soft, double(m.step), epochPos, value);
        else if (name == "hard" && s.hard >= 0)
            lossPlot_->addPoint(s.hard, double(m.step), epochPos, value);
    }
    lrPlot_->addPoint(s.lr, double(m.step), epochPos, m.learningRate);
    speedPlot_->addPoint(s.speed, double(m.step), epochPos, m.samplesPerSecond);

    lastStep_ = m;
    stepPending_ = true;
    if (!statusTimer_->isActive())
        statusTimer_->start();
}

void MainWindow::showStepStatus()
{
    if (!stepPending_)
        return;
    stepPending_ = false;
    const StepMetrics &m = lastStep_;
    const double fraction = m.totalSteps ? double(m.step) / double(m.totalSteps) : 0.0;
    const double elapsed = stageClock_.elapsed() / 1000.0;
    const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0.0;
    progress_->setValue(int(fraction * 100));
    progress_->setFormat(tr("%p% · ETA %1").arg(fmt::duration(eta)));
    stageLabel_->setText(tr("Stage %1/%2: %3 · epoch %4/%5 · step %6/%7 · %8 samples/s")
                             .arg(stage_.index + 1)
                             .arg(stage_.stageCount)
                             .arg(stageTitle(m.stage))
                             .arg(m.epoch)
                             .arg(stage_.epochs)
                             .arg(m.step)
                             .arg(m.totalSteps)
                             .arg(QLocale().toString(m.samplesPerSecond, 'f', 0)));
}

void MainWindow::onEpoch(const EpochMetrics &m)
{
    StageSeries &s = seriesFor(m.stage);
    accuracyPlot_->addPoint(s.trainAcc, double(m.step), m.epoch, 100 * m.trainAccuracy);
    if (std::isfinite(m.valAccuracy))
        accuracyPlot_->addPoint(s.valAcc, double(m.step), m.epoch, 100 * m.valAccuracy);
}

void MainWindow::onStageFinished(const StageResult &r)
{
    showStepStatus(); // the stage's last step, not one from up to kStatusIntervalMs before
    if (r.kind == StageKind::Teacher && r.testAccuracy > 0)
        accuracyPlot_->setReferenceLine(tr("teacher test %1").arg(fmt::percent(r.testAccuracy)), 100 * r.testAccuracy);
    runs_->refresh();
}

void MainWindow::onRunFinished(const RunResult &r)
{
    progress_->setFormat(QString::fromStdString(statusName(r.status)));
    const StageResult *b = r.stage(StageKind::Baseline);
    const StageResult *st = r.stage(StageKind::Distillation);
    QString text = tr("Run %1").arg(QString::fromStdString(statusName(r.status)));
    if (st && st->epochsDone > 0) {
        text += tr(" · student %1").arg(fmt::percent(st->testAccuracy));
        if (b && b->epochsDone > 0)
            text += tr(" vs baseline %1 (%2 points)").arg(fmt::percent(b->testAccuracy))
                        .arg(QString::asprintf("%+.2f", 100 * (st->testAccuracy - b->testAccuracy)));
    }
    stageLabel_->setText(text + tr(" · %1").arg(fmt::duration(r.seconds)));
}

void MainWindow::onError(const QString &message)
{
    stageLabel_->setText(tr("Failed"));
    if (!closing_)
        QMessageBox::critical(this, tr("Training stopped"), message);
}

void MainWindow::showComparison(const QStringList &runDirs)
{
    for (LivePlot *p : {lossPlot_, accuracyPlot_, lrPlot_, speedPlot_})
        p->removeOverlays();
    int colour = 0;
    for (const QString &dir : runDirs) {
        if (dir == liveRunDir_ && controller_->isRunning())
            continue; // already drawn live
        const RunMetrics metrics = readRunMetrics(dir.toStdString());
        const QString name = QString::fromStdString(readRunInfo(dir.toStdString()).name) + QLatin1Char(' ') +
                             QFileInfo(dir).fileName().left(15);
        const QColor c = overlayColors[colour++ % std::size(overlayColors)];
        const Qt::PenStyle styleFor[] = {Qt::DotLine, Qt::DashLine, Qt::SolidLine};
        for (StageKind kind : {StageKind::Teacher, StageKind::Baseline, StageKind::Distillation}) {
            QVector<double> step, epoch, loss, lr, speed, aStep, aEpoch, acc;
            std::int64_t maxStep = 1;
            int maxEpoch = 1;
            for (const auto &e : metrics.epochs)
                if (e.stage == kind) {
                    maxStep = std::max(maxStep, e.step);
                    maxEpoch = std::max(maxEpoch, e.epoch);
                    if (std::isfinite(e.valAccuracy)) {
                        aStep << double(e.step);
                        aEpoch << e.epoch;
                        acc << 100 * e.valAccuracy;
                    }
                }
            const double stepsPerEpoch = double(maxStep) / maxEpoch;
            for (const auto &m : metrics.steps)
                if (m.stage == kind) {
                    step << double(m.step);
                    epoch << double(m.step) / stepsPerEpoch;
                    loss << m.loss;
                    lr << m.learningRate;
                    speed << m.samplesPerSecond;
                }
            if (step.isEmpty() && acc.isEmpty())
                continue;
            const QString label = QStringLiteral("%1: %2").arg(name, stageTitle(kind));
            const Qt::PenStyle ps = styleFor[int(kind)];
            lossPlot_->addPoints(lossPlot_->addSeries(label, c, ps, true), step, epoch, loss);
            accuracyPlot_->addPoints(accuracyPlot_->addSeries(label + tr(" validation"), c, ps, true), aStep, aEpoch, acc);
            lrPlot_->addPoints(lrPlot_->addSeries(label, c, ps, true), step, epoch, lr);
            speedPlot_->addPoints(speedPlot_->addSeries(label, c, ps, true), step, epoch, speed);
        }
    }
    for (LivePlot *p : {lossPlot_, accuracyPlot_, lrPlot_, speedPlot_})
        p->resetView();
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
    stageLabel_->setText(tr("Stopping…"));
    controller_->stopRun();
    event->ignore();
}
