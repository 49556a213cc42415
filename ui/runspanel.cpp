#include "runspanel.h"

#include "format.h"
#include "runorder.h"
#include "runsscatter.h"

#include "distillery/methods.h"
#include "distillery/runindex.h"

#include <QDir>
#include <QFile>
#include <QIcon>
#include <QPixmap>
#include <QStackedWidget>
#include <QFileSystemWatcher>
#include <QSet>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QSplitter>
#include <QButtonGroup>
#include <QTableWidget>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

using namespace distillery;

namespace {
enum Column { Name, Status, Teacher, Baseline, Student, Gain, Temperature, Alpha, Compression, Duration, ColumnCount };

// α weighs kd's terms; other methods have their own weights (methods.h).
bool usesAlpha(const distillery::RunInfo &run)
{
    const distillery::MethodInfo *m = distillery::findMethod(run.method);
    return !m || m->usesAlpha;
}

QString alphaText(const distillery::RunInfo &run)
{
    return usesAlpha(run) ? QString::number(run.alpha) : QStringLiteral("–");
}

// Where a cell keeps what it sorts by: a number, or text for the name and status.
constexpr int SortRole = Qt::UserRole + 1;

// A cell that sorts by its SortRole (numbers as numbers), not by its text.
class RunItem : public QTableWidgetItem {
public:
    using QTableWidgetItem::QTableWidgetItem;
    bool operator<(const QTableWidgetItem &other) const override
    {
        const QVariant a = data(SortRole), b = other.data(SortRole);
        if (a.typeId() == QMetaType::Double && b.typeId() == QMetaType::Double)
            return a.toDouble() < b.toDouble();
        return QString::localeAwareCompare(a.toString(), b.toString()) < 0;
    }
};

QTableWidgetItem *item(const QString &text, double sortKey = 0, bool numeric = false)
{
    auto *i = new RunItem(text);
    i->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    if (numeric) {
        i->setData(SortRole, sortKey);
        i->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    } else {
        i->setData(SortRole, text);
    }
    return i;
}
} // namespace

RunsPanel::RunsPanel(QWidget *parent)
    : QWidget(parent), header_(new QLabel(this)), filter_(new QLineEdit(this)), table_(new QTableWidget(0, ColumnCount, this)),
      compare_(new QTableWidget(this)), listStack_(new QStackedWidget(this)), compareStack_(new QStackedWidget(this)),
      scatter_(new RunsScatter(this)), views_(new QStackedWidget(this)), noRuns_(new QLabel(this)), watcher_(new QFileSystemWatcher(this)), refreshTimer_(new QTimer(this))
{
    table_->setHorizontalHeaderLabels({tr("Run"), tr("Status"), tr("Teacher"), tr("Baseline"), tr("Student"),
                                       tr("Δ student"), tr("T"), tr("α"), tr("Compression"), tr("Duration")});
    table_->horizontalHeaderItem(Gain)->setToolTip(tr("Distilled student minus baseline student, test accuracy"));
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    table_->verticalHeader()->hide();
    table_->setToolTip(tr("Select several runs (Ctrl or Shift) to compare their curves and numbers; click a "
                          "column's title to sort by it, a third time to group sweeps and forks again"));
    // Sorted here, not by the view: a third click clears the order, and the
    // list goes back to sweeps grouped and forks under their origin.
    QHeaderView *columns = table_->horizontalHeader();
    columns->setSectionsClickable(true);
    columns->setSortIndicatorShown(true);
    columns->setSortIndicatorClearable(true);
    columns->setSortIndicator(-1, Qt::AscendingOrder);
    for (int c : {Teacher, Baseline, Student, Gain}) // best first on the first click
        table_->horizontalHeaderItem(c)->setData(Qt::InitialSortOrderRole, int(Qt::DescendingOrder));
    connect(columns, &QHeaderView::sortIndicatorChanged, this, &RunsPanel::refresh);
    compare_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    compare_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);

    auto *refreshButton = new QToolButton(this);
    refreshButton->setText(tr("Refresh"));
    filter_->setPlaceholderText(tr("Filter: alpha >= 0.5 and status = finished"));
    filter_->setClearButtonEnabled(true);
    filter_->setMinimumWidth(120);
    filter_->setToolTip(tr("Keep the runs that match, by any setting (distillation.alpha, or alpha alone) or result "
                           "(status, name, student_accuracy, gain, ...): KEY OP VALUE with = != < <= > >= and ~ "
                           "(contains), joined by and / or, with parentheses. Press Return to apply. Read from the "
                           "workspace's run index, runs.sqlite (docs/RUNS.md)."));
    connect(filter_, &QLineEdit::returnPressed, this, &RunsPanel::refresh);
    connect(filter_, &QLineEdit::textChanged, this, [this](const QString &text) {
        if (text.isEmpty())
            refresh(); // cleared: every run again
    });
    auto *top = new QHBoxLayout;
    top->addWidget(header_, 1);
    top->addWidget(filter_, 1);
    addViewButtons(top);
    top->addWidget(refreshButton);
    // What to do when there is nothing to list or compare yet.
    auto *noSelection = new QLabel(tr("Select runs in the list to compare them side by side "
                                      "(Ctrl+click or Shift+click for several)."), this);
    for (QLabel *l : {noRuns_, noSelection}) {
        l->setWordWrap(true);
        l->setAlignment(Qt::AlignCenter);
        l->setForegroundRole(QPalette::PlaceholderText);
        l->setMargin(12);
    }
    listStack_->addWidget(noRuns_);
    listStack_->addWidget(table_);
    compareStack_->addWidget(noSelection);
    compareStack_->addWidget(compare_);
    views_->addWidget(compareStack_);
    views_->addWidget(scatter_);
    auto *split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(listStack_);
    split->addWidget(views_);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addLayout(top);
    layout->addWidget(split, 1);

    // Runs change on disk while they train (here or in distillery-run): refresh
    // at most twice a second.
    refreshTimer_->setSingleShot(true);
    refreshTimer_->setInterval(500);
    connect(refreshTimer_, &QTimer::timeout, this, &RunsPanel::refresh);
    connect(watcher_, &QFileSystemWatcher::directoryChanged, refreshTimer_, qOverload<>(&QTimer::start));
    connect(refreshButton, &QToolButton::clicked, this, &RunsPanel::refresh);
    connect(scatter_, &RunsScatter::runOpened, this, &RunsPanel::runOpened);

    connect(table_, &QTableWidget::itemSelectionChanged, this, [this] {
        updateComparison();
        Q_EMIT selectionChanged(selectedRuns());
    });
}

void RunsPanel::setWorkspace(const QString &workspace)
{
    workspace_ = workspace;
    if (!watcher_->directories().isEmpty())
        watcher_->removePaths(watcher_->directories());
    QDir().mkpath(workspace + QStringLiteral("/runs"));
    watcher_->addPath(workspace + QStringLiteral("/runs"));
    refresh();
}

void RunsPanel::loadRuns()
{
    filterError_.clear();
    indexNote_.clear();
    const std::string filter = filter_->text().trimmed().toStdString();
    if (workspace_.isEmpty()) {
        runs_.clear();
        all_ = 0;
        return;
    }
    try {
        // The index is brought up to the folders as it opens (a stat or two
        // per folder), then answers from its rows: no folder's JSON is read.
        const RunIndex index(workspace_.toStdString());
        for (const std::string &note : index.notes())
            indexNote_ += QString::fromStdString(note) + QLatin1Char('\n');
        all_ = index.count();
        try {
            runs_ = index.runs(filter);
        } catch (const IndexQueryError &e) {
            filterError_ = QString::fromUtf8(e.what());
            runs_ = index.runs(); // every run listed, the error said
        }
    } catch (const std::exception &e) {
        // No index can be kept here (a read-only workspace): the folders are
        // read one by one, and the filter cannot apply.
        indexNote_ = tr("No run index: %1").arg(QString::fromUtf8(e.what()));
        runs_ = listRuns(workspace_.toStdString());
        all_ = int(runs_.size());
        if (!filter.empty())
            filterError_ = tr("the run index is needed to filter");
    }
}

void RunsPanel::refresh()
{
    const QStringList selected = selectedRuns();
    loadRuns();
    const int all = all_;
    // Unsorted, a sweep's points stay together in point order and forks sit
    // under their origin; a clicked column orders the rows by itself alone.
    const int sortColumn = table_->horizontalHeader()->sortIndicatorSection();
    const bool grouped = sortColumn < 0 || sortColumn >= ColumnCount;
    std::vector<int> depth(runs_.size(), 0);
    if (grouped) {
        runorder::groupSweeps(runs_);
        depth = runorder::nestForks(runs_);
    }
    header_->setText(filter_->text().trimmed().isEmpty() || !filterError_.isEmpty()
                         ? tr("%n run(s) in %1", nullptr, all).arg(QDir::toNativeSeparators(workspace_))
                         : tr("%1 of %n run(s) match", nullptr, all).arg(runs_.size()));
    header_->setStyleSheet(filterError_.isEmpty() ? QString() : QStringLiteral("QLabel { color: #b71c1c; }"));
    header_->setToolTip(filterError_.isEmpty() ? indexNote_.trimmed() : filterError_);
    if (!filterError_.isEmpty())
        header_->setText(tr("Filter: %1").arg(filterError_));
    noRuns_->setText(all > 0 ? tr("No run matches the filter.")
                             : tr("No runs in this workspace yet.\nPress Start (Ctrl+R) to train the experiment; runs "
                                  "made with distillery-run in %1 appear here too.")
                                   .arg(QDir::toNativeSeparators(workspace_)));
    listStack_->setCurrentWidget(runs_.empty() ? static_cast<QWidget *>(noRuns_) : table_);
    const QSignalBlocker block(table_);
    // Columns fitted to their contents once, after the fill: fitted at every
    // item, 10,000 runs took minutes (each setItem measured the column again).
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    table_->setRowCount(int(runs_.size()));
    bool sweepTint = false;
    for (int r = 0; r < int(runs_.size()); ++r) {
        const RunInfo &run = runs_[std::size_t(r)];
        // A sweep's points, tinted by sweep, one tint after another.
        if (grouped && !run.sweep.empty() && (r == 0 || runs_[std::size_t(r - 1)].sweep != run.sweep))
            sweepTint = !sweepTint;
        fillRow(r, run, depth[std::size_t(r)], run.sweep.empty() || !grouped ? 0 : sweepTint ? 1 : 2);
    }
    if (!grouped)
        table_->sortItems(sortColumn, table_->horizontalHeader()->sortIndicatorOrder());
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    selectRuns(selected);
    updateComparison();
    updateKey();
}

void RunsPanel::fillRow(int r, const RunInfo &run, int d, int tint)
{
    auto *name = item(QString(2 * std::max(0, d - 1), QLatin1Char(' ')) + (d > 0 ? QStringLiteral("↳ ") : QString()) +
                      QString::fromStdString(run.name));
    name->setData(Qt::UserRole, QString::fromStdString(run.dir));
    name->setToolTip(run.forkedFrom.empty() ? QString::fromStdString(run.dir)
                                            : tr("%1\nforked from %2 after epoch %3")
                                                  .arg(QString::fromStdString(run.dir),
                                                       QFileInfo(QString::fromStdString(run.forkedFrom)).fileName())
                                                  .arg(run.forkedEpoch));
    name->setData(SortRole, QString::fromStdString(run.name));
    if (tint)
        name->setBackground(tint == 1 ? QColor(227, 242, 253) : QColor(232, 245, 233));
    if (!run.sweep.empty())
        name->setToolTip(name->toolTip() + tr("\npoint %1 of sweep %2").arg(run.sweepPoint).arg(QString::fromStdString(run.sweep)));
    table_->setItem(r, Name, name);
    QTableWidgetItem *status = item(run.interrupted() ? tr("interrupted") : QString::fromStdString(statusName(run.status)));
    if (run.resumable())
        status->setToolTip(tr("Can continue from its last checkpoint: Run ▸ Resume selected run"));
    else if (run.ownerPid)
        status->setToolTip(tr("Being written by process %1").arg(run.ownerPid));
    table_->setItem(r, Status, status);
    table_->setItem(r, Teacher, item(fmt::percent(run.teacherTestAccuracy), run.teacherTestAccuracy, true));
    table_->setItem(r, Baseline, item(fmt::percent(run.baselineTestAccuracy), run.baselineTestAccuracy, true));
    table_->setItem(r, Student, item(fmt::percent(run.studentTestAccuracy), run.studentTestAccuracy, true));
    const bool both = run.baselineTestAccuracy >= 0 && run.studentTestAccuracy >= 0;
    const double gain = both ? 100 * (run.studentTestAccuracy - run.baselineTestAccuracy) : 0;
    auto *g = item(both ? QString::asprintf("%+.2f", gain) : QStringLiteral("–"), both ? gain : -1e9, true);
    if (both)
        g->setForeground(gain >= 0 ? QColor(46, 125, 50) : QColor(198, 40, 40));
    table_->setItem(r, Gain, g);
    table_->setItem(r, Temperature, item(QString::number(run.temperature), run.temperature, true));
    table_->setItem(r, Alpha, item(alphaText(run), usesAlpha(run) ? run.alpha : -1.0, true));
    if (!usesAlpha(run))
        table_->item(r, Alpha)->setToolTip(tr("%1 weighs its terms with its own parameters, not α")
                                               .arg(QString::fromStdString(run.method)));
    table_->setItem(r, Compression,
                    item(run.compression() > 0 ? QString::number(run.compression(), 'f', 1) + QLatin1Char('x') : QStringLiteral("–"),
                         run.compression(), true));
    // Written when the run ends: a running or killed run has none yet.
    table_->setItem(r, Duration, item(run.seconds > 0 ? fmt::duration(run.seconds) : QStringLiteral("–"), run.seconds, true));
}

QStringList RunsPanel::selectedRuns() const
{
    QStringList dirs;
    for (const QModelIndex &index : table_->selectionModel()->selectedRows(Name))
        dirs << index.data(Qt::UserRole).toString();
    return dirs;
}

void RunsPanel::selectRuns(const QStringList &dirs)
{
    table_->clearSelection();
    for (int r = 0; r < table_->rowCount(); ++r)
        if (dirs.contains(table_->item(r, Name)->data(Qt::UserRole).toString()))
            table_->selectionModel()->select(table_->model()->index(r, 0),
                                             QItemSelectionModel::Select | QItemSelectionModel::Rows);
}

int RunsPanel::runCount() const
{
    return int(runs_.size());
}

namespace {

// The comparison's last two rows: the classes the students' transfer set
// omitted, with the bias shift, and the student's test accuracy on them
// before and after the shift (Hinton et al. 2015, section 3).
QStringList omittedClassValues(const BiasCorrection &b)
{
    if (b.classes.empty())
        return {QStringLiteral("–"), QStringLiteral("–")};
    QStringList classes;
    for (int c : b.classes)
        classes << QString::number(c);
    return {classes.join(QLatin1String(", ")) + QString::asprintf(" (bias %+.2f)", b.shift),
            fmt::percent(b.omittedAccuracyBefore) + QStringLiteral(" → ") + fmt::percent(b.omittedAccuracyAfter)};
}

} // namespace

void RunsPanel::updateComparison()
{
    const QStringList dirs = selectedRuns();
    const QStringList rows{tr("Teacher test"), tr("Baseline test"), tr("Student test"), tr("Δ student"), tr("Method"), tr("T"),
                           tr("α"), tr("Teacher params"), tr("Student params"), tr("Compression"), tr("Duration"), tr("Status"),
                           tr("Omitted classes"), tr("Student on them")};
    compare_->clear();
    compare_->setRowCount(rows.size());
    compare_->setColumnCount(int(dirs.size()));
    compare_->setVerticalHeaderLabels(rows);
    int c = 0;
    for (const QString &dir : dirs) {
        // The run folder itself, for the few runs compared: the index has no
        // omitted classes' bias correction.
        if (std::none_of(runs_.begin(), runs_.end(), [&](const RunInfo &r) { return QString::fromStdString(r.dir) == dir; }))
            continue;
        const RunInfo r = readRunInfo(dir.toStdString());
        auto *header = new QTableWidgetItem(QString::fromStdString(r.name));
        header->setData(Qt::UserRole, dir);
        header->setToolTip(dir);
        compare_->setHorizontalHeaderItem(c, header);
        const bool both = r.baselineTestAccuracy >= 0 && r.studentTestAccuracy >= 0;
        const QStringList values = QStringList{fmt::percent(r.teacherTestAccuracy), fmt::percent(r.baselineTestAccuracy),
                                 fmt::percent(r.studentTestAccuracy),
                                 both ? QString::asprintf("%+.2f", 100 * (r.studentTestAccuracy - r.baselineTestAccuracy)) : QStringLiteral("–"),
                                 QString::fromStdString(r.method), QString::number(r.temperature), alphaText(r),
                                 fmt::count(double(r.teacherParameters)), fmt::count(double(r.studentParameters)),
                                 QString::number(r.compression(), 'f', 1) + QLatin1Char('x'),
                                 r.seconds > 0 ? fmt::duration(r.seconds) : QStringLiteral("–"),
                                 QString::fromStdString(statusName(r.status))}
                                + omittedClassValues(r.studentBiasCorrection);
        for (int row = 0; row < values.size(); ++row)
            compare_->setItem(row, c, item(values[row]));
        ++c;
    }
    compare_->setColumnCount(c);
    compareStack_->setCurrentWidget(c ? static_cast<QWidget *>(compare_) : compareStack_->widget(0));
    scatter_->setRuns(dirs);
    updateKey();
}

void RunsPanel::addViewButtons(QHBoxLayout *bar)
{
    // Two views of the selected runs beside the list, chosen on the panel's
    // top line (a tab bar would make the docked panel taller).
    auto *group = new QButtonGroup(this);
    const QStringList names{tr("Table"), tr("Scatter")};
    const QStringList tips{tr("The selected runs' numbers side by side"),
                           tr("The selected runs' models: test accuracy against parameters, multiply-adds or "
                              "latency, with the Pareto front; click a point to open its run (Ctrl+3)")};
    for (int i = 0; i < 2; ++i) {
        auto *b = new QToolButton(this);
        b->setText(names[i]);
        b->setToolTip(tips[i]);
        b->setCheckable(true);
        b->setChecked(i == 0);
        b->setAutoRaise(true);
        group->addButton(b, i);
        bar->addWidget(b);
    }
    scatterButton_ = group->button(1);
    connect(group, &QButtonGroup::idClicked, this, [this](int id) {
        views_->setCurrentIndex(id);
        if (id == 1)
            Q_EMIT scatterShown();
    });
}

void RunsPanel::showScatter()
{
    scatterButton_->click();
}

bool RunsPanel::showsScatter() const
{
    return views_->currentWidget() == scatter_;
}

void RunsPanel::markRun(const QString &dir)
{
    for (int r = 0; r < table_->rowCount(); ++r)
        if (table_->item(r, Name)->data(Qt::UserRole).toString() == dir) {
            table_->selectionModel()->setCurrentIndex(table_->model()->index(r, Name), QItemSelectionModel::NoUpdate);
            table_->scrollToItem(table_->item(r, Name));
        }
}

bool RunsPanel::showsRunList() const
{
    return listStack_->currentWidget() == table_;
}

bool RunsPanel::showsComparison() const
{
    return compareStack_->currentWidget() == compare_;
}

void RunsPanel::setRunColors(const QMap<QString, QColor> &colors)
{
    colors_ = colors;
    updateKey();
}

void RunsPanel::updateKey()
{
    // A swatch of the run's colour in the plots beside its name, in the list
    // and over its column of the comparison: the plots' legends show only the
    // stages' line styles.
    auto swatch = [](const QColor &c) {
        QPixmap pixmap(12, 12);
        pixmap.fill(c);
        return QIcon(pixmap);
    };
    // Only the rows whose swatch changes are touched: every change of an item
    // measures its column again, and a workspace may list 10,000 runs.
    for (int r = 0; r < table_->rowCount(); ++r)
        if (QTableWidgetItem *name = table_->item(r, Name)) {
            const QString dir = name->data(Qt::UserRole).toString();
            if (colors_.contains(dir))
                name->setIcon(swatch(colors_[dir]));
            else if (!name->icon().isNull())
                name->setIcon(QIcon());
        }
    for (int c = 0; c < compare_->columnCount(); ++c)
        if (QTableWidgetItem *header = compare_->horizontalHeaderItem(c)) {
            const QString dir = header->data(Qt::UserRole).toString();
            header->setIcon(colors_.contains(dir) ? swatch(colors_[dir]) : QIcon());
        }
}

bool RunsPanel::saveComparison(const QString &path, QString *error) const
{
    auto cell = [](QString text) {
        text.replace(QLatin1Char('"'), QStringLiteral("\"\""));
        return text.contains(QLatin1Char(',')) || text.contains(QLatin1Char('"')) ? QStringLiteral("\"%1\"").arg(text) : text;
    };
    QStringList lines;
    QStringList header{QString()};
    for (int c = 0; c < compare_->columnCount(); ++c)
        header << cell(compare_->horizontalHeaderItem(c)->text());
    lines << header.join(QLatin1Char(','));
    for (int r = 0; r < compare_->rowCount(); ++r) {
        QStringList row{cell(compare_->verticalHeaderItem(r)->text())};
        for (int c = 0; c < compare_->columnCount(); ++c)
            row << cell(compare_->item(r, c) ? compare_->item(r, c)->text() : QString());
        lines << row.join(QLatin1Char(','));
    }
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) || file.write(lines.join(QLatin1Char('\n')).toUtf8() + '\n') < 0) {
        if (error)
            *error = tr("Could not write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}
