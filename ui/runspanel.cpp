#include "runspanel.h"

#include "format.h"
#include "runsmodel.h"
#include "runsscatter.h"

#include "distillery/runindex.h"

#include <QButtonGroup>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QFileSystemWatcher>
#include <QHeaderView>
#include <QIcon>
#include <QItemSelection>
#include <QLabel>
#include <QLineEdit>
#include <QPixmap>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

using namespace distillery;

namespace {

QTableWidgetItem *item(const QString &text)
{
    auto *i = new QTableWidgetItem(text);
    i->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    return i;
}

} // namespace

RunsPanel::RunsPanel(QWidget *parent)
    : QWidget(parent), header_(new QLabel(this)), filter_(new QLineEdit(this)), model_(new RunsModel(this)),
      table_(new QTableView(this)), compare_(new QTableWidget(this)), listStack_(new QStackedWidget(this)),
      compareStack_(new QStackedWidget(this)), scatter_(new RunsScatter(this)), views_(new QStackedWidget(this)),
      noRuns_(new QLabel(this)), watcher_(new QFileSystemWatcher(this)), refreshTimer_(new QTimer(this))
{
    setUpList();
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

    connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        if (selecting_)
            return; // restoreSelection is quiet: its callers say what changed
        updateComparison();
        Q_EMIT selectionChanged(selectedRuns());
    });
}

void RunsPanel::setUpList()
{
    table_->setModel(model_);
    QHeaderView *columns = table_->horizontalHeader();
    // Fitted to the contents of a sample of rows (Qt's default: 1,000), not all 10,000.
    columns->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setWordWrap(false);
    table_->verticalHeader()->hide();
    table_->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed); // every row measured otherwise
    table_->setToolTip(tr("Select several runs (Ctrl or Shift) to compare their curves and numbers; click a "
                          "column's title to sort by it, a third time to group sweeps and forks again"));
    // A third click clears the order: the list goes back to sweeps grouped
    // and forks under their origin.
    columns->setSectionsClickable(true);
    columns->setSortIndicatorShown(true);
    columns->setSortIndicatorClearable(true);
    columns->setSortIndicator(-1, Qt::AscendingOrder);
    connect(columns, &QHeaderView::sortIndicatorChanged, this, [this](int column, Qt::SortOrder order) {
        const QStringList selected = selectedRuns();
        model_->sort(column, order);
        restoreSelection(selected);
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
    std::vector<RunInfo> runs;
    all_ = 0;
    if (!workspace_.isEmpty()) {
        try {
            // The index is brought up to the folders as it opens (a stat or
            // two per folder), then answers from its rows: no folder's JSON is read.
            const RunIndex index(workspace_.toStdString());
            for (const std::string &note : index.notes())
                indexNote_ += QString::fromStdString(note) + QLatin1Char('\n');
            all_ = index.count();
            try {
                runs = index.runs(filter);
            } catch (const IndexQueryError &e) {
                filterError_ = QString::fromUtf8(e.what());
                runs = index.runs(); // every run listed, the error said
            }
        } catch (const std::exception &e) {
            // No index can be kept here (a read-only workspace): the folders
            // are read one by one, and the filter cannot apply.
            indexNote_ = tr("No run index: %1").arg(QString::fromUtf8(e.what()));
            runs = listRuns(workspace_.toStdString());
            all_ = int(runs.size());
            if (!filter.empty())
                filterError_ = tr("the run index is needed to filter");
        }
    }
    model_->setRuns(std::move(runs)); // in the order the header asks for
}

void RunsPanel::refresh()
{
    const QStringList selected = selectedRuns();
    loadRuns();
    const int all = all_, shown = model_->rowCount();
    header_->setText(filter_->text().trimmed().isEmpty() || !filterError_.isEmpty()
                         ? tr("%n run(s) in %1", nullptr, all).arg(QDir::toNativeSeparators(workspace_))
                         : tr("%1 of %n run(s) match", nullptr, all).arg(shown));
    header_->setStyleSheet(filterError_.isEmpty() ? QString() : QStringLiteral("QLabel { color: #b71c1c; }"));
    header_->setToolTip(filterError_.isEmpty() ? indexNote_.trimmed() : filterError_);
    if (!filterError_.isEmpty())
        header_->setText(tr("Filter: %1").arg(filterError_));
    noRuns_->setText(all > 0 ? tr("No run matches the filter.")
                             : tr("No runs in this workspace yet.\nPress Start (Ctrl+R) to train the experiment; runs "
                                  "made with distillery-run in %1 appear here too.")
                                   .arg(QDir::toNativeSeparators(workspace_)));
    listStack_->setCurrentWidget(shown == 0 ? static_cast<QWidget *>(noRuns_) : table_);
    // The same runs stay selected, quietly; said only when one went away.
    restoreSelection(selected);
    updateComparison();
    if (selectedRuns() != selected)
        Q_EMIT selectionChanged(selectedRuns());
}

QStringList RunsPanel::selectedRuns() const
{
    QStringList dirs;
    for (const QModelIndex &index : table_->selectionModel()->selectedRows(RunsModel::Name))
        dirs << index.data(RunsModel::DirRole).toString();
    return dirs;
}

void RunsPanel::selectRuns(const QStringList &dirs)
{
    const QStringList before = selectedRuns();
    restoreSelection(dirs);
    if (selectedRuns() != before) {
        updateComparison();
        Q_EMIT selectionChanged(selectedRuns());
    }
}

void RunsPanel::restoreSelection(const QStringList &dirs)
{
    QItemSelection selection;
    for (const QString &dir : dirs)
        if (const int r = model_->rowOf(dir); r >= 0)
            selection.select(model_->index(r, 0), model_->index(r, RunsModel::ColumnCount - 1));
    selecting_ = true;
    table_->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect);
    selecting_ = false;
}

int RunsPanel::runCount() const
{
    return model_->rowCount();
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
        if (model_->rowOf(dir) < 0)
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
                                 QString::fromStdString(r.method), QString::number(r.temperature), RunsModel::alphaText(r),
                                 fmt::count(double(r.teacherParameters)), fmt::count(double(r.studentParameters)),
                                 r.compression() > 0 ? QString::number(r.compression(), 'f', 1) + QLatin1Char('x')
                                                     : QStringLiteral("–"), // no teacher (mutual learning)
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
    if (const int r = model_->rowOf(dir); r >= 0) {
        table_->selectionModel()->setCurrentIndex(model_->index(r, RunsModel::Name), QItemSelectionModel::NoUpdate);
        table_->scrollTo(model_->index(r, RunsModel::Name));
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
    model_->setColors(colors_);
    for (int c = 0; c < compare_->columnCount(); ++c)
        if (QTableWidgetItem *header = compare_->horizontalHeaderItem(c)) {
            const QString dir = header->data(Qt::UserRole).toString();
            QPixmap swatch(12, 12);
            swatch.fill(colors_.value(dir));
            header->setIcon(colors_.contains(dir) ? QIcon(swatch) : QIcon());
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
