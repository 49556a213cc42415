// The Runs panel's list as a model: one row per run of the workspace's run
// index, cells made when the view paints them (10,000 runs cost no widgets).
// Unsorted, a sweep's points sit together in point order and forks under
// their origin (runorder.h); sorted, by one column alone.
#pragma once

#include "distillery/runs.h"

#include <QAbstractTableModel>
#include <QColor>
#include <QHash>
#include <QMap>

#include <vector>

class RunsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Name, Status, Teacher, Baseline, Student, Gain, Temperature, Alpha, Compression, Duration, ColumnCount };
    // The run folder of a row, on any column.
    static constexpr int DirRole = Qt::UserRole;
    // What a cell sorts by: a number, or text for the name and status.
    static constexpr int SortRole = Qt::UserRole + 1;

    explicit RunsModel(QObject *parent = nullptr);

    // The runs as the index lists them; kept in the current order (sorted, or grouped).
    void setRuns(std::vector<distillery::RunInfo> runs);
    const distillery::RunInfo &run(int row) const { return rows_[std::size_t(row)].run; }
    // The row of a run folder, or -1.
    int rowOf(const QString &dir) const { return rowOfDir_.value(dir, -1); }
    // The colour each compared run is drawn in: a swatch beside its name.
    void setColors(const QMap<QString, QColor> &colors);
    // column < 0: grouped again (sweeps together, forks under their origin).
    void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;
    int sortColumn() const { return sortColumn_; }

    // α as the list shows it: a dash for methods that weigh their terms otherwise.
    static QString alphaText(const distillery::RunInfo &run);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Row {
        distillery::RunInfo run;
        QString dir;
        int depth = 0; // how deep a fork, when grouped
        int tint = 0;  // 0: none; 1 or 2: the sweep's tint, alternating between sweeps
    };
    QVariant display(const Row &row, int column) const;
    QVariant sortKey(const Row &row, int column) const;
    QString toolTip(const Row &row, int column) const;
    void arrange();

    std::vector<distillery::RunInfo> runs_; // as set, newest first
    std::vector<Row> rows_;
    QHash<QString, int> rowOfDir_;
    QMap<QString, QColor> colors_;
    int sortColumn_ = -1;
    Qt::SortOrder sortOrder_ = Qt::AscendingOrder;
};
