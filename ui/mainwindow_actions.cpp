// The main window's menus, toolbar and shortcuts: every command is in a menu,
// with its shortcut beside it.
#include "mainwindow.h"

#include "experimentpanel.h"
#include "liveplot.h"
#include "insightview.h"
#include "liveview.h"
#include "runspanel.h"
#include "forkdialog.h"
#include "settingsdialog.h"

#include "distillery/fork.h"
#include "distillery/methods.h"
#include "trainingcontroller.h"

#include <QAction>
#include <QApplication>
#include <QDesktopServices>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QStatusBar>
#include <QStyle>
#include <QTabBar>
#include <QTabWidget>
#include <QTableWidget>
#include <QToolBar>
#include <QUrl>

using namespace distillery;

void MainWindow::createActions()
{
    createFileMenu();
    createRunMenu();
    createViewMenu();
    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About Distillery"), this, [this] {
        QMessageBox::about(this, tr("About Distillery"),
                           tr("<p><b>Distillery</b> %1</p><p>A workbench for knowledge-distillation experiments: "
                              "a teacher, a baseline student and a distilled student trained side by side, every "
                              "run kept on disk for comparison.</p>")
                               .arg(QApplication::applicationVersion()));
    });
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);

    QToolBar *bar = addToolBar(tr("Main"));
    bar->setObjectName(QStringLiteral("mainToolbar"));
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    bar->addAction(openAction_);
    bar->addAction(saveAction_);
    bar->addSeparator();
    bar->addAction(startAction_);
    bar->addAction(pauseAction_);
    bar->addAction(stopAction_);
    for (QAction *a : {openAction_, saveAction_, startAction_, pauseAction_, stopAction_})
        a->setToolTip(QStringLiteral("%1 (%2)").arg(a->text().remove(QLatin1Char('&')), a->shortcut().toString(QKeySequence::NativeText)));
}

void MainWindow::createFileMenu()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *newAction = file->addAction(tr("&New experiment"), this, [this] {
        if (confirmDiscard()) {
            panel_->setExperiment(Experiment{});
            experimentPath_.clear();
            markSaved();
            statusBar()->showMessage(tr("New experiment with the default settings"), 4000);
        }
    });
    newAction->setShortcut(QKeySequence::New);
    openAction_ = file->addAction(style()->standardIcon(QStyle::SP_DialogOpenButton), tr("&Open…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open experiment"), QFileInfo(experimentPath_).path(),
                                                          tr("Experiments (*.json)"));
        if (!path.isEmpty())
            openExperiment(path);
    });
    openAction_->setShortcut(QKeySequence::Open);
    recentMenu_ = file->addMenu(tr("Open &Recent"));
    saveAction_ = file->addAction(style()->standardIcon(QStyle::SP_DialogSaveButton), tr("&Save"), this, [this] {
        QString path = experimentPath_;
        // The shipped examples are not overwritten: Save asks where.
        if (path.isEmpty() || !QFileInfo(path).isWritable() || path.startsWith(QStringLiteral(DISTILLERY_RESOURCES_DIR)))
            path = QFileDialog::getSaveFileName(this, tr("Save experiment"),
                                                workspace_ + QLatin1Char('/') + QString::fromStdString(panel_->experiment().name) + QStringLiteral(".json"),
                                                tr("Experiments (*.json)"));
        if (!path.isEmpty())
            saveExperiment(path);
    });
    saveAction_->setShortcut(QKeySequence::Save);
    QAction *saveAs = file->addAction(tr("Save &As…"), this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save experiment"), experimentPath_, tr("Experiments (*.json)"));
        if (!path.isEmpty())
            saveExperiment(path);
    });
    saveAs->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S));
    file->addAction(tr("Choose &workspace…"), this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Workspace"), workspace_);
        if (!dir.isEmpty())
            setWorkspace(dir);
    });
    file->addSeparator();
    exportAction_ = file->addAction(tr("&Export model…"), this, &MainWindow::openExportDialog);
    exportAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    exportAction_->setStatusTip(tr("Write the selected run's student as TorchScript, ONNX, safetensors and a model card"));
    saveComparisonAction_ = file->addAction(tr("Save &comparison as CSV…"), this, &MainWindow::saveComparison);
    saveComparisonAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    saveComparisonAction_->setStatusTip(tr("The comparison table of the selected runs, a column per run"));
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));
}

void MainWindow::createRunMenu()
{
    QMenu *run = menuBar()->addMenu(tr("&Run"));
    startAction_ = run->addAction(style()->standardIcon(QStyle::SP_MediaPlay), tr("&Start"), this, &MainWindow::startRun);
    startAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    pauseAction_ = run->addAction(style()->standardIcon(QStyle::SP_MediaPause), tr("&Pause"), this, &MainWindow::togglePause);
    pauseAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
    stopAction_ = run->addAction(style()->standardIcon(QStyle::SP_MediaStop), tr("S&top"), this, &MainWindow::stopRun);
    stopAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
    addSweepActions(run);
    changeSettingsAction_ = run->addAction(tr("Change &settings…"), this, &MainWindow::changeSettings);
    changeSettingsAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_T));
    changeSettingsAction_->setStatusTip(tr("Change T, α or the method's weights while the run trains"));
    run->addSeparator();
    resumeRunAction_ = run->addAction(tr("&Resume selected run"), this, &MainWindow::resumeSelectedRun);
    resumeRunAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
    resumeRunAction_->setStatusTip(tr("Continue a stopped, failed or interrupted run from its last checkpoint"));
    forkRunAction_ = run->addAction(tr("&Fork selected run from epoch…"), this, &MainWindow::forkSelectedRun);
    forkRunAction_->setStatusTip(tr("Continue the selected run's distilled student from one of its epochs, with "
                                    "other settings, as a new run"));
    openRunFolderAction_ = run->addAction(style()->standardIcon(QStyle::SP_DirOpenIcon), tr("Open run &folder"), this,
                                          &MainWindow::openRunFolder);
    openRunFolderAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    openRunFolderAction_->setStatusTip(tr("Show the selected run's files (config, metrics, checkpoints, exports)"));
}

void MainWindow::forkSelectedRun()
{
    const QStringList selected = runs_->selectedRuns();
    if (selected.size() != 1 || controller_->isRunning())
        return;
    ForkDialog dialog(selected.first(), this);
    if (dialog.exec() == QDialog::Accepted)
        startFork(selected.first(), dialog.epoch(), dialog.overrides());
}

bool MainWindow::startFork(const QString &runDir, int epoch, const std::vector<std::string> &overrides)
{
    if (controller_->isRunning())
        return false;
    QString dir;
    try {
        dir = QString::fromStdString(prepareFork({runDir.toStdString(), epoch, overrides, runs_->workspace().toStdString()}));
    } catch (const ConfigError &e) {
        QMessageBox::warning(this, tr("Fork"), QString::fromUtf8(e.what()));
        return false;
    }
    runs_->refresh();
    clearLiveView(tr("Forked %1 after epoch %2: training %3…")
                      .arg(QFileInfo(runDir).fileName())
                      .arg(epoch)
                      .arg(QFileInfo(dir).fileName()));
    controller_->resumeInterruptedRun(dir);
    return true;
}

void MainWindow::changeSettings()
{
    SettingsDialog dialog(liveSettings_, this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    for (const auto &[key, value] : dialog.changes())
        if (const QString problem = controller_->requestSettingChange(key, value); !problem.isEmpty())
            QMessageBox::warning(this, tr("Setting not changed"), problem);
}

void MainWindow::onSettingChanged(const SettingChange &c)
{
    setDistillSetting(liveSettings_, c.key, c.value);
    liveView_->addSettingChange(c);
    statusBar()->showMessage(tr("%1 set to %2 after step %3").arg(QString::fromStdString(c.key)).arg(c.value).arg(c.step),
                             8000);
}

void MainWindow::createViewMenu()
{
    QMenu *view = menuBar()->addMenu(tr("&View"));
    QAction *toExperiment = view->addAction(tr("Go to the &experiment"), this, [this] {
        panel_->parentWidget()->show();
        panel_->nameEdit()->setFocus(Qt::ShortcutFocusReason);
    });
    toExperiment->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_1));
    QAction *toRuns = view->addAction(tr("Go to the &runs"), this, [this] {
        runs_->parentWidget()->show();
        runs_->table()->setFocus(Qt::ShortcutFocusReason);
    });
    toRuns->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_2));
    QAction *fit = view->addAction(tr("&Fit plots to their data"), this, [this] {
        for (LivePlot *p : liveView_->plots())
            p->resetView();
    });
    fit->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_0));
    QAction *insight = view->addAction(tr("&Insight of the selected run"), this, &MainWindow::showInsight);
    insight->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
    insight->setToolTip(tr("Accuracy per class, confusion, soft targets, calibration and fidelity of the run "
                           "selected in the Runs panel"));
    view->addAction(tr("&Training plots"), this, [this] { centralTabs_->setCurrentWidget(liveView_); });
    view->addAction(tr("S&weeps: the heatmap of a sweep"), this, &MainWindow::showSweeps)
        ->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_4));
    QAction *scatter = view->addAction(tr("Accuracy against &size of the selected runs"), this, [this] {
        runs_->parentWidget()->show();
        runs_->showScatter();
    });
    scatter->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_3));
    // The scatter needs more height than the table: the docked panel grows
    // to some 45% of the window when the scatter comes to the front.
    connect(runs_, &RunsPanel::scatterShown, this, [this] {
        auto *dock = qobject_cast<QDockWidget *>(runs_->parentWidget());
        if (dock && !dock->isFloating() && dock->height() < height() * 2 / 5)
            resizeDocks({dock}, {height() * 9 / 20}, Qt::Vertical);
    });
    scatter->setToolTip(tr("The Runs panel's scatter: test accuracy against parameters, multiply-adds or latency, "
                           "with the Pareto front"));
    QAction *refresh = view->addAction(tr("Re&fresh runs"), runs_, &RunsPanel::refresh);
    refresh->setShortcut(QKeySequence::Refresh);
    view->addSeparator();
    for (auto *dock : findChildren<QDockWidget *>())
        view->addAction(dock->toggleViewAction());
}

void MainWindow::openRunFolder()
{
    const QStringList selected = runs_->selectedRuns();
    const QString dir = selected.size() == 1 ? selected.first() : liveRunDir_;
    if (dir.isEmpty())
        return;
    if (QDesktopServices::openUrl(QUrl::fromLocalFile(dir)))
        statusBar()->showMessage(tr("Opened %1").arg(QDir::toNativeSeparators(dir)), 4000);
    else
        statusBar()->showMessage(tr("No file manager could open %1").arg(QDir::toNativeSeparators(dir)), 8000);
}

void MainWindow::saveComparison()
{
    if (runs_->selectedRuns().isEmpty())
        return;
    const QString path = QFileDialog::getSaveFileName(this, tr("Save comparison"), workspace_ + QStringLiteral("/comparison.csv"),
                                                      tr("CSV (*.csv)"));
    if (path.isEmpty())
        return;
    QString error;
    if (runs_->saveComparison(path, &error))
        statusBar()->showMessage(tr("Saved the comparison of %n run(s) to %1", nullptr, int(runs_->selectedRuns().size()))
                                     .arg(QDir::toNativeSeparators(path)), 6000);
    else
        QMessageBox::warning(this, tr("Save comparison"), error);
}

void MainWindow::showInsight()
{
    centralTabs_->setCurrentWidget(insight_);
    insight_->load();
    // The keyboard goes on from there: arrows move between the Insight's tabs.
    if (insight_->showsFigures())
        insight_->tabs()->tabBar()->setFocus(Qt::ShortcutFocusReason);
}

void MainWindow::openRun(const QString &runDir)
{
    runs_->markRun(runDir);
    insight_->showRun(runDir);
    showInsight();
    statusBar()->showMessage(tr("Insight of %1").arg(QDir::toNativeSeparators(runDir)), 4000);
}

void MainWindow::updateInsight()
{
    const QStringList selected = runs_->selectedRuns();
    if (selected.size() == 1) {
        insight_->showRun(selected.first());
    } else if (selected.size() > 1) {
        insight_->showMessage(tr("<p style='font-size:large'>%n runs selected</p><p>Select a single run to see its "
                                 "analysis; the Training tab compares the selected runs' curves.</p>",
                                 nullptr, int(selected.size())));
    } else if (!liveRunDir_.isEmpty() && !controller_->isRunning()) {
        insight_->showRun(liveRunDir_);
    } else {
        insight_->showMessage(controller_->isRunning()
                                  ? tr("<p style='font-size:large'>The run is in progress</p><p>Its analysis "
                                       "appears here when it has finished; select it, or another run, in the Runs "
                                       "panel to see the stages analysed so far.</p>")
                                  : tr("<p style='font-size:large'>Select a run in the Runs panel</p><p>Its "
                                       "analysis appears here: accuracy per class, confusion matrices, soft targets "
                                       "at any temperature, calibration and fidelity to the teacher.</p>"));
    }
}
