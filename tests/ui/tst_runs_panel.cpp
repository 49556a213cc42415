// The Runs panel (ui/runspanel.cpp) lists the workspace's run index
// (docs/RUNS.md): rows equal to the index's, sorted by a clicked column, and
// grouped again (sweeps together, forks under their origin) on a third click.
#include "runsmodel.h"
#include "runspanel.h"
#include "testutil.h"

#include "distillery/experiment.h"
#include "distillery/runindex.h"
#include "distillery/runs.h"

#include <QHeaderView>
#include <QLineEdit>
#include <QSignalSpy>
#include <QTableView>
#include <QTableWidget>
#include <QtTest/QtTest>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

using namespace distillery;
namespace fs = std::filesystem;

namespace {

using Column = RunsModel::Column;
constexpr Column Name = RunsModel::Name, Status = RunsModel::Status, Student = RunsModel::Student,
                 Temperature = RunsModel::Temperature;

// A finished run folder as the engine leaves it: config.json, summary.json.
fs::path writeRun(const fs::path &ws, int i, const nlohmann::json &extra = nlohmann::json::object())
{
    Experiment e = testutil::syntheticExperiment();
    e.name = "run-" + std::to_string(i);
    e.distillation.temperature = double(1 + (i * 7) % 12); // 1..12: "10" sorts after "9"
    const fs::path dir = ws / "runs" / ("20260101-1200" + std::to_string(10 + i) + "-" + e.name);
    fs::create_directories(dir);
    nlohmann::json config = nlohmann::json::parse(experimentToJson(e));
    config.update(extra);
    std::ofstream(dir / "config.json") << config.dump(2);
    const double baseline = 0.6, student = 0.55 + 0.01 * ((i * 5) % 11);
    const nlohmann::json summary = {
        {"name", e.name}, {"started", "2026-01-01T12:00:" + std::to_string(10 + i) + "Z"}, {"status", "finished"},
        {"seconds", 2.0 + i}, {"teacher", {{"parameters", 5000}}}, {"student", {{"parameters", 100}}},
        {"stages",
         {{"teacher", {{"stage", "teacher"}, {"status", "finished"}, {"test_accuracy", 0.9}}},
          {"baseline", {{"stage", "baseline"}, {"status", "finished"}, {"test_accuracy", baseline}}},
          {"student", {{"stage", "student"}, {"status", "finished"}, {"test_accuracy", student}}}}}};
    std::ofstream(dir / "summary.json") << summary.dump(2);
    return dir;
}

QString cell(const QTableView *t, int r, int c, int role = Qt::DisplayRole)
{
    return t->model()->index(r, c).data(role).toString();
}

QStringList column(const QTableView *t, int c)
{
    QStringList out;
    for (int r = 0; r < t->model()->rowCount(); ++r)
        out << cell(t, r, c);
    return out;
}

void clickTitle(QTableView *t, int c)
{
    QHeaderView *h = t->horizontalHeader();
    QTest::mouseClick(h->viewport(), Qt::LeftButton, {},
                      QPoint(h->sectionViewportPosition(c) + h->sectionSize(c) / 2, h->height() / 2));
}

} // namespace

class TestRunsPanel : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    fs::path ws_;

private Q_SLOTS:
    void initTestCase()
    {
        ws_ = fs::path(tmp_.path().toStdString()) / "ws";
        fs::path origin;
        for (int i = 0; i < 12; ++i) {
            nlohmann::json extra = nlohmann::json::object();
            if (i >= 8) // points 3, 2, 1, 0 of one sweep, the newest first
                extra["sweep_point"] = {{"sweep", "20260101-sw"}, {"point", 11 - i}, {"seed", 1}, {"settings", nlohmann::json::object()}};
            if (i == 6) // a fork of run 2
                extra["forked_from"] = {{"run", origin.string()}, {"epoch", 1}};
            const fs::path dir = writeRun(ws_, i, extra);
            if (i == 2)
                origin = dir;
        }
    }

    // Every row is the index's: name, status, accuracies and T as the index holds them.
    void rowsAreTheIndexRows()
    {
        RunsPanel panel;
        panel.setWorkspace(QString::fromStdString(ws_.string()));
        const std::vector<RunInfo> rows = RunIndex(ws_.string()).runs();
        QCOMPARE(panel.runCount(), int(rows.size()));
        QTableView *t = panel.table();
        QCOMPARE(t->model()->rowCount(), 12);
        for (int r = 0; r < t->model()->rowCount(); ++r) {
            const QString dir = cell(t, r, Name, Qt::UserRole);
            const auto it = std::find_if(rows.begin(), rows.end(), [&](const RunInfo &i) { return i.dir == dir.toStdString(); });
            QVERIFY2(it != rows.end(), qPrintable(dir));
            QVERIFY(cell(t, r, Name).endsWith(QString::fromStdString(it->name)));
            QCOMPARE(cell(t, r, Status), QStringLiteral("finished"));
            QCOMPARE(cell(t, r, Temperature), QString::number(it->temperature));
            QCOMPARE(cell(t, r, Student), QString::number(100 * it->studentTestAccuracy, 'f', 2) + QLatin1Char('%'));
        }
        // Grouped: the sweep's points together in point order, the fork under its origin.
        const QStringList names = column(panel.table(), Name);
        const int p0 = int(names.indexOf(QStringLiteral("run-11")));
        QCOMPARE(names.mid(p0, 4), (QStringList{"run-11", "run-10", "run-9", "run-8"}));
        QCOMPARE(names.at(names.indexOf(QStringLiteral("run-2")) + 1), QStringLiteral("↳ run-6"));
    }

    // A click on a title sorts by that column (accuracy best first, numbers as
    // numbers), a second reverses it, a third groups sweeps and forks again;
    // the order holds through a refresh and a filter.
    void aColumnTitleSortsAndAThirdClickGroupsAgain()
    {
        RunsPanel panel;
        panel.resize(1000, 400);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        panel.setWorkspace(QString::fromStdString(ws_.string()));
        QTableView *t = panel.table();
        const QStringList grouped = column(t, Name);
        const auto values = [&](int c) {
            std::vector<double> v;
            for (const QString &s : column(t, c))
                v.push_back(QString(s).remove(QLatin1Char('%')).toDouble());
            return v;
        };
        clickTitle(t, Student);
        QCOMPARE(t->horizontalHeader()->sortIndicatorOrder(), Qt::DescendingOrder);
        std::vector<double> student = values(Student);
        QVERIFY(std::is_sorted(student.rbegin(), student.rend()));
        QVERIFY(student.front() > student.back());
        QVERIFY(!column(t, Name).join(QString()).contains(QStringLiteral("↳"))); // no nesting in a sorted list
        panel.refresh();
        student = values(Student);
        QVERIFY(std::is_sorted(student.rbegin(), student.rend()));
        clickTitle(t, Student);
        student = values(Student);
        QVERIFY(std::is_sorted(student.begin(), student.end()));
        clickTitle(t, Temperature); // ascending, as numbers: 1, 2, ..., 9, 10, 11, 12
        const std::vector<double> temperature = values(Temperature);
        QVERIFY(std::is_sorted(temperature.begin(), temperature.end()));
        QCOMPARE(temperature.back(), 12.0);
        panel.filterEdit()->setText(QStringLiteral("temperature >= 6"));
        QTest::keyClick(panel.filterEdit(), Qt::Key_Return);
        QCOMPARE(column(t, Temperature).first(), QStringLiteral("6"));
        const std::vector<double> kept = values(Temperature);
        QVERIFY(std::is_sorted(kept.begin(), kept.end()));
        QCOMPARE(int(kept.size()), 7); // 6..12
        panel.filterEdit()->clear();
        clickTitle(t, Temperature);
        clickTitle(t, Temperature); // third click: the order is cleared
        QCOMPARE(t->horizontalHeader()->sortIndicatorSection(), -1);
        QCOMPARE(column(t, Name), grouped);
    }

    // The selection is kept by run, not by row, when the order changes.
    void theSelectionFollowsItsRunsThroughASort() // the last test: it deletes a run
    {
        RunsPanel panel;
        panel.show();
        panel.setWorkspace(QString::fromStdString(ws_.string()));
        const QString dir = cell(panel.table(), 3, Name, Qt::UserRole);
        QSignalSpy said(&panel, &RunsPanel::selectionChanged);
        panel.selectRuns({dir});
        QCOMPARE(said.size(), 1);
        clickTitle(panel.table(), Temperature);
        QCOMPARE(panel.selectedRuns(), QStringList{dir});
        QCOMPARE(panel.comparison()->columnCount(), 1);
        // Neither a sort nor a refresh (twice a second while a run trains) says
        // the selection changed: the window would load the runs' curves again.
        panel.refresh();
        QCOMPARE(panel.selectedRuns(), QStringList{dir});
        QCOMPARE(said.size(), 1);
        // A selected run that goes away is said.
        fs::remove_all(dir.toStdString());
        panel.refresh();
        QVERIFY(panel.selectedRuns().isEmpty());
        QCOMPARE(said.size(), 2);
    }
};

QTEST_MAIN(TestRunsPanel)
#include "tst_runs_panel.moc"
