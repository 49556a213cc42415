// The main window's sweeps: the Sweeps tab beside Training and Insight, Run ▸
// Sweep… and Stop sweep, what the window does as a sweep's points finish, and
// sweeps submitted to Slurm (their job ids, or the reason they were not).
#include "mainwindow.h"

#include "experimentpanel.h"
#include "runspanel.h"
#include "slurmoptionsbox.h"
#include "slurmsubmitter.h"
#include "sweepcontroller.h"
#include "sweepdialog.h"
#include "sweepview.h"

#include "distillery/sweep.h"

#include <QAction>
#include <QDir>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>

using namespace distillery;

namespace {
constexpr int kStopWaitMs = 30000; // a closing window waits this long for the points to reach a checkpoint
}

void MainWindow::createSweeps()
{
    sweeps_ = new SweepController(this);
    sweepView_ = new SweepView(this);
    centralTabs_->addTab(sweepView_, tr("Sweeps"));
    centralTabs_->setTabToolTip(centralTabs_->indexOf(sweepView_),
                                tr("A sweep's results as a heatmap over two of its settings (Run ▸ Sweep… starts one)"));
    connect(sweeps_, &SweepController::started, this, [this](const QString &dir, int points) {
        sweepView_->reloadSweeps(dir);
        sweepView_->setLive(true);
        showSweeps();
        statusBar()->showMessage(tr("Sweep started: %1 runs in %2").arg(points).arg(QDir::toNativeSeparators(dir)), 8000);
    });
    connect(sweeps_, &SweepController::pointChanged, this, &MainWindow::onSweepPoint);
    connect(sweeps_, &SweepController::finished, this, &MainWindow::onSweepFinished);
    connect(sweeps_, &SweepController::runningChanged, this, &MainWindow::updateActions);
    slurm_ = new SlurmSubmitter(this);
    connect(slurm_, &SlurmSubmitter::submitting, this, [this](const QString &dir, int points) {
        statusBar()->showMessage(tr("Submitting the sweep's %1 runs to Slurm (%2)…")
                                     .arg(points)
                                     .arg(QDir::toNativeSeparators(dir)));
    });
    connect(slurm_, &SlurmSubmitter::submitted, this, &MainWindow::onSlurmSubmitted);
    connect(slurm_, &SlurmSubmitter::failed, this, &MainWindow::onSlurmFailed);
    connect(slurm_, &SlurmSubmitter::busyChanged, this, &MainWindow::updateActions);
    connect(sweepView_, &SweepView::runsSelected, this, &MainWindow::selectSweepRuns);
    connect(sweepView_, &SweepView::experimentOpened, this, &MainWindow::openSweepExperiment);
    connect(sweepView_, &SweepView::resumeRequested, this, [this](const QString &dir) {
        const QStringList jobs = sweepView_->slurmJobs();
        if (!jobs.isEmpty() &&
            QMessageBox::question(this, tr("Resume on this machine?"),
                                  tr("This sweep was submitted to Slurm (jobs %1). If they are still queued (squeue -j "
                                     "%2) they run the same points. Run its unfinished points here anyway?")
                                      .arg(jobs.join(QStringLiteral(", ")), jobs.join(QLatin1Char(','))),
                                  QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel) != QMessageBox::Yes)
            return;
        QString error;
        if (!sweeps_->resume(dir, 0, &error))
            QMessageBox::warning(this, tr("Cannot resume the sweep"), error);
    });
}

void MainWindow::addSweepActions(QMenu *run)
{
    sweepAction_ = run->addAction(tr("S&weep…"), this, &MainWindow::openSweepDialog);
    sweepAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_W));
    sweepAction_->setStatusTip(tr("Run the experiment over a grid of settings and seeds, and see the results as a heatmap"));
    stopSweepAction_ = run->addAction(tr("Stop sw&eep"), this, &MainWindow::stopSweep);
    stopSweepAction_->setStatusTip(tr("Stop the sweep's runs at a checkpoint; distillery-run --resume-sweep continues it"));
}

void MainWindow::updateSweepActions()
{
    const QString problem = panel_->problem();
    sweepAction_->setEnabled(!sweeps_->isRunning() && !slurm_->isSubmitting() && problem.isEmpty());
    sweepAction_->setToolTip(sweeps_->isRunning()       ? tr("A sweep is running")
                             : slurm_->isSubmitting() ? tr("A sweep is being submitted to Slurm")
                                                      : problem);
    stopSweepAction_->setEnabled(sweeps_->isRunning());
}

void MainWindow::showSweeps()
{
    centralTabs_->setCurrentWidget(sweepView_);
}

void MainWindow::openSweepDialog()
{
    if (!sweepAction_->isEnabled())
        return;
    SweepDialog dialog(panel_->experiment(), workspace_, this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    if (dialog.slurmBox()->onSlurm())
        submitSweep(dialog.experiment(), dialog.slurmBox()->options(), dialog.allowLarge());
    else
        startSweep(dialog.experiment(), dialog.jobs(), dialog.allowLarge());
}

bool MainWindow::startSweep(const Experiment &experiment, int jobs, bool allowLarge)
{
    QString error;
    if (sweeps_->start(experiment, workspace_, jobs, allowLarge, &error))
        return true;
    QMessageBox::warning(this, tr("Cannot start the sweep"), error);
    return false;
}

bool MainWindow::submitSweep(const Experiment &experiment, const SlurmOptions &options, bool allowLarge)
{
    SlurmOptions o = options;
    o.runner = sweeps_->runner().toStdString(); // the nodes run it by this path
    QString error;
    if (slurm_->submit(experiment, workspace_, allowLarge, o, &error))
        return true;
    QMessageBox::warning(this, tr("Cannot submit the sweep to Slurm"), error);
    return false;
}

void MainWindow::onSlurmSubmitted(const QString &dir, const QStringList &jobIds, const QString &description)
{
    // The tab follows the points as the jobs write their run folders.
    sweepView_->reloadSweeps(dir);
    showSweeps();
    if (jobIds.isEmpty()) {
        statusBar()->showMessage(tr("Every point of the sweep has finished: nothing submitted"), 8000);
        return;
    }
    statusBar()->showMessage(tr("Sweep submitted to Slurm: %1. Follow it with squeue -j %2 (the ids are in %3)")
                                 .arg(description, jobIds.join(QLatin1Char(',')),
                                      QDir::toNativeSeparators(dir + QStringLiteral("/slurm/jobs.json"))));
}

void MainWindow::onSlurmFailed(const QString &dir, const QString &error)
{
    statusBar()->clearMessage();
    QMessageBox::warning(this, tr("Cannot submit the sweep to Slurm"),
                         tr("%1\n\nThe sweep's folder is kept: distillery-run --resume-sweep %2 --backend slurm "
                            "submits it again, or Resume in the Sweeps tab runs it on this machine.")
                             .arg(error, QDir::toNativeSeparators(dir)));
}

void MainWindow::stopSweep()
{
    if (!sweeps_->isRunning())
        return;
    sweeps_->stop();
    statusBar()->showMessage(tr("Stopping the sweep: its runs stop at a checkpoint…"));
}

bool MainWindow::closeSweep()
{
    slurm_->wait(kStopWaitMs); // a submission in progress ends (sbatch answers or fails) before the window goes
    if (!sweeps_->isRunning())
        return true;
    if (confirmClose_) {
        const auto answer = QMessageBox::question(
            this, tr("Sweep in progress"),
            tr("A sweep is running. Stop it and quit? Its runs stop at a checkpoint; distillery-run --resume-sweep "
               "%1 continues it.").arg(QDir::toNativeSeparators(sweeps_->sweepDir())),
            QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
        if (answer != QMessageBox::Yes)
            return false;
    }
    sweeps_->stop();
    statusBar()->showMessage(tr("Stopping the sweep…"));
    return sweeps_->wait(kStopWaitMs);
}

void MainWindow::onSweepPoint(int point, int state, const QString &message)
{
    const auto s = PointState(state);
    if (s == PointState::Waiting)
        return;
    const QString what = QString::fromLatin1(pointStateName(s));
    statusBar()->showMessage(message.isEmpty() ? tr("Sweep: point %1 %2").arg(point).arg(what)
                                               : tr("Sweep: point %1 %2: %3").arg(point).arg(what, message),
                             6000);
    if (sweepView_->sweepDir() == sweeps_->sweepDir())
        sweepView_->refresh();
    if (s != PointState::Running)
        runs_->refresh();
}

void MainWindow::onSweepFinished(int finished, int failed, int skipped, bool stopped)
{
    sweepView_->setLive(false);
    sweepView_->refresh();
    runs_->refresh();
    QString text = tr("Sweep ended: %1 points finished").arg(finished);
    if (failed || skipped)
        text += tr(", %1 failed, %2 skipped (the logs are in %3)")
                    .arg(failed)
                    .arg(skipped)
                    .arg(QDir::toNativeSeparators(sweeps_->sweepDir() + QStringLiteral("/logs")));
    if (stopped)
        text += tr("; stopped: distillery-run --resume-sweep continues it");
    statusBar()->showMessage(text);
    updateActions();
}

void MainWindow::selectSweepRuns(const QStringList &runDirs)
{
    runs_->selectRuns(runDirs);
    if (runs_->selectedRuns().size() < runDirs.size()) { // made since the list was last read
        runs_->refresh();
        runs_->selectRuns(runDirs);
    }
    statusBar()->showMessage(tr("Selected the cell's %1 runs in the Runs panel").arg(runDirs.size()), 4000);
}

void MainWindow::openSweepExperiment(const Experiment &experiment)
{
    panel_->setExperiment(experiment);
    // Not the file it came from: Save asks where.
    experimentPath_.clear();
    setWindowFilePath(QString());
    updateTitle();
    statusBar()->showMessage(tr("Opened the sweep's best point as the experiment %1; Start runs it")
                                 .arg(QString::fromStdString(experiment.name)), 8000);
}
