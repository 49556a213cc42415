// The runs in the workspace (made here or by distillery-run), with their key
// numbers; selecting several compares them side by side and in the plots,
// each with its colour beside its name. An empty workspace, or no selection,
// says what to do instead of showing an empty table.
#pragma once

#include "distillery/runs.h"

#include <QColor>
#include <QMap>
#include <QWidget>

class QFileSystemWatcher;
class QLabel;
class QLineEdit;
class QStackedWidget;
class QAbstractButton;
class QHBoxLayout;
class QTableView;
class QTableWidget;
class RunsModel;
class QTimer;
class RunsScatter;

class RunsPanel : public QWidget {
    Q_OBJECT
public:
    explicit RunsPanel(QWidget *parent = nullptr);

    void setWorkspace(const QString &workspace);
    QString workspace() const { return workspace_; }
    QStringList selectedRuns() const;
    void selectRuns(const QStringList &dirs);
    int runCount() const;
    // The list of runs; its model's rows, columns and roles are RunsModel's.
    QTableView *table() const { return table_; }
    RunsModel *model() const { return model_; }
    // The filter over the run index (docs/RUNS.md), e.g. `alpha >= 0.5 and
    // status = finished`; applied on Return, cleared to list every run.
    QLineEdit *filterEdit() const { return filter_; }
    // Why the filter could not be applied (naming the key or position), or empty.
    QString filterError() const { return filterError_; }
    QTableWidget *comparison() const { return compare_; }
    // Beside the comparison table: the selected runs' models, test accuracy
    // against size or latency, with the Pareto front.
    RunsScatter *scatter() const { return scatter_; }
    void showScatter();
    bool showsScatter() const;
    // Makes `dir` the list's current row, scrolled into view, keeping the
    // selection.
    void markRun(const QString &dir);
    // The colour each compared run is drawn in, by folder.
    void setRunColors(const QMap<QString, QColor> &colors);
    // The comparison table as CSV (a column per selected run). False with a
    // reason on failure.
    bool saveComparison(const QString &path, QString *error = nullptr) const;
    // Whether the list and the comparison are shown, or the lines that say
    // what to do while there is nothing to show.
    bool showsRunList() const;
    bool showsComparison() const;

public Q_SLOTS:
    void refresh();

Q_SIGNALS:
    void selectionChanged(const QStringList &runDirs);
    // A point of the scatter was clicked: open that run.
    void runOpened(const QString &runDir);
    // The scatter was brought to the front (it wants more room than the table).
    void scatterShown();

private:
    void updateComparison();
    void updateKey();
    void addViewButtons(QHBoxLayout *bar);

    QString workspace_;
    // The runs the filter keeps, or every run without one, from the
    // workspace's run index; the folders themselves where no index can be kept.
    void loadRuns();
    void setUpList();
    // Selects exactly `dirs` (those listed) without saying so.
    void restoreSelection(const QStringList &dirs);

    QLabel *header_;
    QLineEdit *filter_;
    QString filterError_;
    QString indexNote_;
    int all_ = 0;
    RunsModel *model_;
    QTableView *table_;
    QTableWidget *compare_;
    QStackedWidget *listStack_;
    QStackedWidget *compareStack_;
    RunsScatter *scatter_;
    QStackedWidget *views_;
    QAbstractButton *scatterButton_ = nullptr;
    QLabel *noRuns_;
    QMap<QString, QColor> colors_;
    QFileSystemWatcher *watcher_;
    QTimer *refreshTimer_;
    bool selecting_ = false;
};
