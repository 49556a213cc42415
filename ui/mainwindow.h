// The workbench window: experiment set-up on the left, live plots in the
// middle, runs below; a toolbar to start, pause and stop.
#pragma once

#include "distillery/events.h"
#include "distillery/experiment.h"

#include <QMainWindow>
#include <QPointer>

class ExperimentPanel;
class ExportDialog;
class LivePlot;
class LiveView;
class QAction;
class QMenu;
class QProgressBar;
class RunStatusView;
class RunsPanel;
class TrainingController;

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
    QAction *startAction() const { return startAction_; }
    QAction *pauseAction() const { return pauseAction_; }
    QAction *stopAction() const { return stopAction_; }
    QAction *exportAction() const { return exportAction_; }
    QAction *resumeRunAction() const { return resumeRunAction_; }
    QAction *openRunFolderAction() const { return openRunFolderAction_; }
    QAction *saveComparisonAction() const { return saveComparisonAction_; }
    // The run Run ▸ Resume acts on: the selected run when it can be resumed.
    QString resumableRun() const;
    // The run File ▸ Export acts on: the one selected in the runs panel, else
    // the last run of this window; empty when it has no finished student.
    QString exportableRun() const;
    ExportDialog *exportDialog() const;

public Q_SLOTS:
    ExportDialog *openExportDialog();
    void resumeSelectedRun();
    // Shows the selected run's folder (else this window's last run) in the
    // desktop's file manager.
    void openRunFolder();
    void saveComparison();

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

    TrainingController *controller_;
    ExperimentPanel *panel_;
    RunsPanel *runs_;
    LiveView *liveView_;
    RunStatusView *status_ = nullptr;

    QAction *startAction_ = nullptr;
    QAction *pauseAction_ = nullptr;
    QAction *stopAction_ = nullptr;
    QAction *exportAction_ = nullptr;
    QAction *resumeRunAction_ = nullptr;
    QAction *openRunFolderAction_ = nullptr;
    QAction *saveComparisonAction_ = nullptr;
    QAction *openAction_ = nullptr;
    QAction *saveAction_ = nullptr;
    QPointer<ExportDialog> exportDialog_;
    QMenu *recentMenu_ = nullptr;

    QString workspace_;
    QString experimentPath_;
    QString liveRunDir_;
    std::string savedExperiment_; // as JSON
    bool confirmClose_ = true;
    bool closing_ = false;
    double pausedSeconds_ = 0.0;
    int stagesSeen_ = 0; // of the run in progress
};
