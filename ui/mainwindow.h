// The workbench window: experiment set-up on the left, live plots in the
// middle (with the Insight of the run selected in a tab beside them), runs
// below; a toolbar to start, pause and stop.
#pragma once

#include "distillery/events.h"
#include "distillery/experiment.h"

#include <QMainWindow>
#include <QPointer>

class ExperimentPanel;
class ExportDialog;
class InsightView;
class LivePlot;
class LiveView;
class QAction;
class QMenu;
class QProgressBar;
class QTabWidget;
class RunStatusView;
class RunsPanel;
class SlurmSubmitter;
class SweepController;
class SweepView;
class TrainingController;
namespace distillery {
struct SlurmOptions;
}

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // `workspace` and `experimentFile` override what the settings remember.
    explicit MainWindow(const QString &workspace = {}, const QString &experimentFile = {}, QWidget *parent = nullptr);
    ~MainWindow() override;

    bool openExperiment(const QString &path);
    bool saveExperiment(const QString &path);
    QString experimentPath() const { return experimentPath_; }
    QString workspace() const { return workspace_; }
    // When set, closing during a run stops it without asking (tests, scripts).
    void setConfirmClose(bool on) { confirmClose_ = on; }

    // For tests and the screenshot.
    ExperimentPanel *experimentPanel() const { return panel_; }
    RunsPanel *runsPanel() const { return runs_; }
    TrainingController *controller() const { return controller_; }
    LivePlot *lossPlot() const;
    LivePlot *accuracyPlot() const;
    LiveView *liveView() const { return liveView_; }
    // The Insight tab beside the plots: the run selected in the Runs panel
    // (one), else this window's last run once it has finished.
    InsightView *insightView() const { return insight_; }
    QTabWidget *centralTabs() const { return centralTabs_; }
    // Shows the Insight tab.
    void showInsight();
    QAction *startAction() const { return startAction_; }
    QAction *pauseAction() const { return pauseAction_; }
    QAction *stopAction() const { return stopAction_; }
    QAction *exportAction() const { return exportAction_; }
    QAction *resumeRunAction() const { return resumeRunAction_; }
    QAction *forkRunAction() const { return forkRunAction_; }
    QAction *openRunFolderAction() const { return openRunFolderAction_; }
    QAction *saveComparisonAction() const { return saveComparisonAction_; }
    // Changes T, α or the method's weights of the run in progress.
    QAction *changeSettingsAction() const { return changeSettingsAction_; }
    // The distillation settings of the run in progress, with its changes so far.
    const distillery::DistillConfig &liveSettings() const { return liveSettings_; }
    // The run Run ▸ Resume acts on: the selected run when it can be resumed.
    QString resumableRun() const;
    // The run File ▸ Export acts on: the one selected in the runs panel, else
    // the last run of this window; empty when it has no finished student.
    QString exportableRun() const;
    ExportDialog *exportDialog() const;
    // Sweeps (mainwindow_sweeps.cpp): the Sweeps tab, the controller that
    // runs a sweep's points, Run ▸ Sweep… and Run ▸ Stop sweep.
    SweepView *sweepView() const { return sweepView_; }
    SweepController *sweepController() const { return sweeps_; }
    // Submits sweeps to Slurm (the sweep dialog's Run on: Slurm cluster).
    SlurmSubmitter *slurmSubmitter() const { return slurm_; }
    QAction *sweepAction() const { return sweepAction_; }
    QAction *stopSweepAction() const { return stopSweepAction_; }
    void showSweeps();

public Q_SLOTS:
    ExportDialog *openExportDialog();
    void resumeSelectedRun();
    // Run ▸ Fork selected run: the fork dialog, then startFork.
    void forkSelectedRun();
    // Makes the fork of `runDir` after `epoch` with `overrides` and trains
    // it; false (the message shown) when the fork is refused.
    bool startFork(const QString &runDir, int epoch, const std::vector<std::string> &overrides);
    // Shows the selected run's folder (else this window's last run) in the
    // desktop's file manager.
    void openRunFolder();
    void saveComparison();
    // Opens one run (a point clicked in the Runs panel's scatter): its row in
    // the list made current, keeping the selection, and its Insight shown.
    void openRun(const QString &runDir);
    // Run ▸ Sweep…: the sweep dialog on the current experiment, then startSweep.
    void openSweepDialog();
    // Starts the experiment's sweep in the workspace and shows it in the
    // Sweeps tab. False (with a message box) when it cannot start.
    bool startSweep(const distillery::Experiment &experiment, int jobs = 0, bool allowLarge = false);
    // Makes the sweep's folder and submits its points to Slurm in the
    // background (the runner: the sweep controller's); the job ids go to the
    // status bar, a failure to a message box. False (with a message box) when
    // it cannot start.
    bool submitSweep(const distillery::Experiment &experiment, const distillery::SlurmOptions &options,
                     bool allowLarge = false);
    void stopSweep();

public:
    QProgressBar *progressBar() const;
    QString startBlockedReason() const;

public Q_SLOTS:
    void startRun();
    void togglePause();
    void stopRun();

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void createActions();
    void createFileMenu();
    void createRunMenu();
    void createViewMenu();
    void createDocks();
    void createSweeps();
    void addSweepActions(QMenu *run);
    void updateSweepActions();
    // Whether the window may close: a sweep running is stopped first, when the user agrees.
    bool closeSweep();
    void onSweepPoint(int point, int state, const QString &message);
    void onSweepFinished(int finished, int failed, int skipped, bool stopped);
    void onSlurmSubmitted(const QString &sweepDir, const QStringList &jobIds, const QString &description);
    void onSlurmFailed(const QString &sweepDir, const QString &error);
    // A cell of the Sweeps tab was clicked: its runs selected in the Runs panel.
    void selectSweepRuns(const QStringList &runDirs);
    void openSweepExperiment(const distillery::Experiment &experiment);
    void restoreSettings(const QString &workspace, const QString &experimentFile);
    void setWorkspace(const QString &dir);
    void updateActions();
    // Empties the plots and the progress for a run about to start.
    void clearLiveView(const QString &status);
    void updateRecentMenu();
    void addRecent(const QString &path);
    // The file the experiment was last opened from or saved to.
    void setExperimentPath(const QString &path);
    // The experiment as last opened or saved: the title's modified marker
    // compares with it.
    void markSaved();
    void updateTitle();
    bool confirmDiscard();

    void onRunStarted(const distillery::RunStartInfo &info);
    void onStageStarted(const distillery::StageInfo &info);
    void onStep(const distillery::StepMetrics &m);
    void onEpoch(const distillery::EpochMetrics &m);
    void onStageFinished(const distillery::StageResult &r);
    void onRunFinished(const distillery::RunResult &r);
    void onError(const QString &message);
    void showComparison(const QStringList &runDirs);
    // The run the Insight tab shows: the one selected, else the last one run.
    void updateInsight();
    void changeSettings();
    void onSettingChanged(const distillery::SettingChange &c);

    TrainingController *controller_;
    ExperimentPanel *panel_;
    RunsPanel *runs_;
    LiveView *liveView_;
    InsightView *insight_;
    QTabWidget *centralTabs_;
    RunStatusView *status_ = nullptr;

    QAction *startAction_ = nullptr;
    QAction *pauseAction_ = nullptr;
    QAction *stopAction_ = nullptr;
    QAction *exportAction_ = nullptr;
    QAction *resumeRunAction_ = nullptr;
    QAction *forkRunAction_ = nullptr;
    QAction *openRunFolderAction_ = nullptr;
    QAction *saveComparisonAction_ = nullptr;
    QAction *changeSettingsAction_ = nullptr;
    QAction *openAction_ = nullptr;
    QAction *sweepAction_ = nullptr;
    QAction *stopSweepAction_ = nullptr;
    SweepController *sweeps_ = nullptr;
    SlurmSubmitter *slurm_ = nullptr;
    SweepView *sweepView_ = nullptr;
    QAction *saveAction_ = nullptr;
    QPointer<ExportDialog> exportDialog_;
    QMenu *recentMenu_ = nullptr;

    QString workspace_;
    QString experimentPath_;
    QString liveRunDir_;
    std::string savedExperiment_; // as JSON
    bool confirmClose_ = true;
    bool closing_ = false;
    distillery::DistillConfig liveSettings_;
    int stagesSeen_ = 0; // of the run in progress
};
