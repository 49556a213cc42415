// The runs in the workspace (made here or by distillery-run), with their key
// numbers; selecting several compares them side by side and in the plots.
#pragma once

#include "distillery/runs.h"

#include <QWidget>

class QFileSystemWatcher;
class QLabel;
class QTableWidget;
class QTimer;

class RunsPanel : public QWidget {
    Q_OBJECT
public:
    explicit RunsPanel(QWidget *parent = nullptr);

    void setWorkspace(const QString &workspace);
    QString workspace() const { return workspace_; }
    QStringList selectedRuns() const;
    void selectRuns(const QStringList &dirs);
    int runCount() const;
    QTableWidget *table() const { return table_; }
    QTableWidget *comparison() const { return compare_; }

public Q_SLOTS:
    void refresh();

Q_SIGNALS:
    void selectionChanged(const QStringList &runDirs);

private:
    void updateComparison();

    QString workspace_;
    QLabel *header_;
    QTableWidget *table_;
    QTableWidget *compare_;
    QFileSystemWatcher *watcher_;
    QTimer *refreshTimer_;
    std::vector<distillery::RunInfo> runs_;
};
