#include "runsmodel.h"

#include "format.h"
#include "runorder.h"

#include "distillery/methods.h"

#include <QFileInfo>
#include <QPixmap>

#include <algorithm>

using namespace distillery;

namespace {

// α weighs kd's terms; other methods have their own weights (methods.h).
bool usesAlpha(const RunInfo &run)
{
    const MethodInfo *m = findMethod(run.method);
    return !m || m->usesAlpha;
}

bool hasGain(const RunInfo &run)
{
    return run.baselineTestAccuracy >= 0 && run.studentTestAccuracy >= 0;
}

double gain(const RunInfo &run)
{
    return 100 * (run.studentTestAccuracy - run.baselineTestAccuracy);
}

QString statusText(const RunInfo &run)
{
    return run.interrupted() ? RunsModel::tr("interrupted") : QString::fromStdString(statusName(run.status));
}

} // namespace

RunsModel::RunsModel(QObject *parent) : QAbstractTableModel(parent) {}

QString RunsModel::alphaText(const RunInfo &run)
{
    return usesAlpha(run) ? QString::number(run.alpha) : QStringLiteral("–");
}

void RunsModel::setRuns(std::vector<RunInfo> runs)
{
    runs_ = std::move(runs);
    beginResetModel();
    arrange();
    endResetModel();
}

void RunsModel::sort(int column, Qt::SortOrder order)
{
    sortColumn_ = column >= 0 && column < ColumnCount ? column : -1;
    sortOrder_ = order;
    beginResetModel();
    arrange();
    endResetModel();
}

// The rows in the current order: grouped (runorder.h), or by one column
// (stable, so equal keys keep the index's newest-first order).
void RunsModel::arrange()
{
    std::vector<RunInfo> runs = runs_;
    std::vector<int> depth(runs.size(), 0);
    if (sortColumn_ < 0) {
        runorder::groupSweeps(runs);
        depth = runorder::nestForks(runs);
    }
    rows_.clear();
    rows_.reserve(runs.size());
    bool tint = false;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        Row row;
        row.run = std::move(runs[i]);
        row.dir = QString::fromStdString(row.run.dir);
        row.depth = depth[i];
        if (sortColumn_ < 0 && !row.run.sweep.empty()) {
            if (i == 0 || rows_.back().run.sweep != row.run.sweep)
                tint = !tint;
            row.tint = tint ? 1 : 2;
        }
        rows_.push_back(std::move(row));
    }
    if (sortColumn_ >= 0) {
        const int c = sortColumn_;
        const bool descending = sortOrder_ == Qt::DescendingOrder;
        std::vector<std::pair<QVariant, std::size_t>> keys;
        keys.reserve(rows_.size());
        for (std::size_t i = 0; i < rows_.size(); ++i)
            keys.emplace_back(sortKey(rows_[i], c), i);
        std::stable_sort(keys.begin(), keys.end(), [descending](const auto &a, const auto &b) {
            const bool numbers = a.first.typeId() == QMetaType::Double;
            const int cmp = numbers ? (a.first.toDouble() < b.first.toDouble() ? -1 : a.first.toDouble() > b.first.toDouble())
                                    : QString::localeAwareCompare(a.first.toString(), b.first.toString());
            return descending ? cmp > 0 : cmp < 0;
        });
        std::vector<Row> sorted;
        sorted.reserve(rows_.size());
        for (const auto &k : keys)
            sorted.push_back(std::move(rows_[k.second]));
        rows_.swap(sorted);
    }
    rowOfDir_.clear();
    rowOfDir_.reserve(int(rows_.size()));
    for (int r = 0; r < int(rows_.size()); ++r)
        rowOfDir_.insert(rows_[std::size_t(r)].dir, r);
}

void RunsModel::setColors(const QMap<QString, QColor> &colors)
{
    // Only the rows whose swatch comes or goes change.
    QList<QString> touched = colors_.keys() + colors.keys();
    colors_ = colors;
    for (const QString &dir : touched)
        if (const int r = rowOf(dir); r >= 0)
            Q_EMIT dataChanged(index(r, Name), index(r, Name), {Qt::DecorationRole});
}

int RunsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(rows_.size());
}

int RunsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RunsModel::display(const Row &row, int column) const
{
    const RunInfo &run = row.run;
    switch (column) {
    case Name:
        return QString(2 * std::max(0, row.depth - 1), QLatin1Char(' ')) + (row.depth > 0 ? QStringLiteral("↳ ") : QString()) +
               QString::fromStdString(run.name);
    case Status: return statusText(run);
    case Teacher: return fmt::percent(run.teacherTestAccuracy);
    case Baseline: return fmt::percent(run.baselineTestAccuracy);
    case Student: return fmt::percent(run.studentTestAccuracy);
    case Gain: return hasGain(run) ? QString::asprintf("%+.2f", gain(run)) : QStringLiteral("–");
    case Temperature: return QString::number(run.temperature);
    case Alpha: return alphaText(run);
    case Compression:
        return run.compression() > 0 ? QString::number(run.compression(), 'f', 1) + QLatin1Char('x') : QStringLiteral("–");
    case Duration: return run.seconds > 0 ? fmt::duration(run.seconds) : QStringLiteral("–"); // written when the run ends
    default: return {};
    }
}

QVariant RunsModel::sortKey(const Row &row, int column) const
{
    const RunInfo &run = row.run;
    switch (column) {
    case Name: return QString::fromStdString(run.name);
    case Status: return statusText(run);
    case Teacher: return run.teacherTestAccuracy;
    case Baseline: return run.baselineTestAccuracy;
    case Student: return run.studentTestAccuracy;
    case Gain: return hasGain(run) ? gain(run) : -1e9; // none: below every gain
    case Temperature: return run.temperature;
    case Alpha: return usesAlpha(run) ? run.alpha : -1.0;
    case Compression: return run.compression();
    case Duration: return run.seconds;
    default: return {};
    }
}

QString RunsModel::toolTip(const Row &row, int column) const
{
    const RunInfo &run = row.run;
    if (column == Name) {
        QString tip = run.forkedFrom.empty() ? row.dir
                                             : tr("%1\nforked from %2 after epoch %3")
                                                   .arg(row.dir, QFileInfo(QString::fromStdString(run.forkedFrom)).fileName())
                                                   .arg(run.forkedEpoch);
        if (!run.sweep.empty())
            tip += tr("\npoint %1 of sweep %2").arg(run.sweepPoint).arg(QString::fromStdString(run.sweep));
        return tip;
    }
    if (column == Status && run.resumable())
        return tr("Can continue from its last checkpoint: Run ▸ Resume selected run");
    if (column == Status && run.ownerPid)
        return tr("Being written by process %1").arg(run.ownerPid);
    if (column == Alpha && !usesAlpha(run))
        return tr("%1 weighs its terms with its own parameters, not α").arg(QString::fromStdString(run.method));
    return {};
}

QVariant RunsModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= int(rows_.size()))
        return {};
    const Row &row = rows_[std::size_t(index.row())];
    const int c = index.column();
    switch (role) {
    case Qt::DisplayRole: return display(row, c);
    case DirRole: return row.dir;
    case SortRole: return sortKey(row, c);
    case Qt::ToolTipRole: return toolTip(row, c);
    case Qt::TextAlignmentRole:
        return c == Name || c == Status ? QVariant() : QVariant(int(Qt::AlignRight | Qt::AlignVCenter));
    case Qt::ForegroundRole:
        if (c == Gain && hasGain(row.run))
            return gain(row.run) >= 0 ? QColor(46, 125, 50) : QColor(198, 40, 40);
        return {};
    case Qt::BackgroundRole:
        if (c == Name && row.tint)
            return row.tint == 1 ? QColor(227, 242, 253) : QColor(232, 245, 233);
        return {};
    case Qt::DecorationRole:
        if (c == Name && colors_.contains(row.dir)) {
            QPixmap swatch(12, 12); // the run's colour in the plots
            swatch.fill(colors_.value(row.dir));
            return swatch;
        }
        return {};
    default: return {};
    }
}

QVariant RunsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return QAbstractTableModel::headerData(section, orientation, role);
    static const char *titles[ColumnCount] = {QT_TR_NOOP("Run"), QT_TR_NOOP("Status"), QT_TR_NOOP("Teacher"),
                                              QT_TR_NOOP("Baseline"), QT_TR_NOOP("Student"), QT_TR_NOOP("Δ student"),
                                              QT_TR_NOOP("T"), QT_TR_NOOP("α"), QT_TR_NOOP("Compression"),
                                              QT_TR_NOOP("Duration")};
    if (section < 0 || section >= ColumnCount)
        return {};
    if (role == Qt::DisplayRole)
        return tr(titles[section]);
    if (role == Qt::ToolTipRole && section == Gain)
        return tr("Distilled student minus baseline student, test accuracy");
    if (role == Qt::InitialSortOrderRole && section >= Teacher && section <= Gain)
        return int(Qt::DescendingOrder); // best first on the first click
    return {};
}
