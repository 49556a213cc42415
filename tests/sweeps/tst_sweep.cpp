// Sweeps (core/src/sweeps, distillery-run --sweep): the plan, bad input, the
// sweep folder, and real sweeps of a small experiment run by the local
// scheduler: shared teacher and baselines, the same numbers as single runs,
// a killed sweep resumed.
#include "testutil.h"

#include "distillery/analysis.h"
#include "distillery/engine.h"
#include "distillery/runindex.h"
#include "distillery/runs.h"
#include "distillery/sweep.h"

#include <QtTest/QtTest>

#include <QProcess>

#include <csignal>
#include <filesystem>

using namespace distillery;
namespace fs = std::filesystem;

namespace {

// A sweep of a quick synthetic experiment: T × α × seeds.
Experiment sweepExperiment(std::vector<std::string> temperatures = {"2", "4"}, std::vector<std::uint64_t> seeds = {1, 2})
{
    Experiment e = testutil::syntheticExperiment();
    e.name = "sw";
    e.data.syntheticTrain = 600;
    e.data.syntheticTest = 300;
    e.teacher.train.epochs = 2;
    e.studentTrain.epochs = 2;
    e.threads = 1;
    e.sweep.grid = {{"distillation.alpha", {"0.5", "0.9"}}, {"distillation.temperature", temperatures}};
    e.sweep.seeds = seeds;
    return e;
}

QString configError(const std::string &json)
{
    try {
        const Experiment e = parseExperiment(json, "x.json");
        planSweep(e, "x.json");
    } catch (const ConfigError &err) {
        return QString::fromStdString(err.what());
    }
    return {};
}

// The experiment file's text with its sweep section replaced.
std::string withSweep(const std::string &sweep)
{
    Experiment e = testutil::syntheticExperiment();
    std::string json = experimentToJson(e);
    json.insert(json.rfind('}'), ", \"sweep\": " + sweep);
    return json;
}

std::map<int, RunInfo> finishedRuns(const SweepFolder &s)
{
    std::map<int, RunInfo> runs;
    for (const auto &p : s.plan.points)
        runs[p.index] = readRunInfo(s.runDir(p.index));
    return runs;
}

SweepOutcome runLocally(const SweepFolder &s, int jobs = 2)
{
    LocalSweepOptions o;
    o.runner = DISTILLERY_RUNNER;
    o.jobs = jobs;
    o.threadsPerJob = 1;
    return runSweepLocally(s, o);
}

} // namespace

class TestSweep : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void planCrossesTheGridWithTheSeedsAndSharesTeacherAndBaselines()
    {
        const SweepPlan plan = planSweep(sweepExperiment());
        QCOMPARE(plan.points.size(), std::size_t(8));
        QCOMPARE(plan.keys, (std::vector<std::string>{"distillation.alpha", "distillation.temperature"}));
        // Keys in order, the first varying slowest, the seed fastest.
        QCOMPARE(plan.points[0].label(), std::string("distillation.alpha=0.5 distillation.temperature=2 seed=1"));
        QCOMPARE(plan.points[1].label(), std::string("distillation.alpha=0.5 distillation.temperature=2 seed=2"));
        QCOMPARE(plan.points[7].label(), std::string("distillation.alpha=0.9 distillation.temperature=4 seed=2"));
        // One teacher (point 0), one baseline per seed (points 0 and 1).
        QCOMPARE(plan.teachersTrained(), 1);
        QCOMPARE(plan.baselinesTrained(), 2);
        for (const auto &p : plan.points) {
            QCOMPARE(p.teacherFrom, p.index == 0 ? -1 : 0);
            QCOMPARE(p.baselineFrom, p.index < 2 ? -1 : int(p.seed == 1 ? 0 : 1));
        }
        // The point's experiment: its settings, its membership, what it takes over.
        const std::vector<std::string> dirs{"/w/runs/a", "/w/runs/b", "/w/runs/c", "/w/runs/d",
                                            "/w/runs/e", "/w/runs/f", "/w/runs/g", "/w/runs/h"};
        const Experiment p5 = pointExperiment(plan, 5, "S", dirs);
        QCOMPARE(p5.distillation.temperature, 2.0);
        QCOMPARE(p5.distillation.alpha, 0.9);
        QCOMPARE(p5.seed, std::uint64_t(2));
        QCOMPARE(p5.teacher.source, std::string("run"));
        QCOMPARE(p5.teacher.run, std::string("/w/runs/a"));
        QCOMPARE(p5.baselineRun, std::string("/w/runs/b"));
        QCOMPARE(p5.sweepPoint.sweep, std::string("S"));
        QCOMPARE(p5.sweepPoint.point, 5);
        QVERIFY(!p5.sweep.active());
        const Experiment p0 = pointExperiment(plan, 0, "S", dirs);
        QCOMPARE(p0.teacher.source, std::string("train"));
        QVERIFY(p0.baselineRun.empty());
        // Written and read back whole.
        QCOMPARE(parseExperiment(experimentToJson(p5)).sweepPoint, p5.sweepPoint);
        QCOMPARE(parseExperiment(experimentToJson(sweepExperiment())).sweep, sweepExperiment().sweep);
    }

    void whatAPointChangesDecidesWhatIsShared()
    {
        Experiment e = sweepExperiment({"4"}, {1});
        e.sweep.grid = {{"student.train.lr", {"0.01", "0.1"}}, {"distillation.alpha", {"0.5", "0.9"}}};
        SweepPlan plan = planSweep(e);
        QCOMPARE(plan.teachersTrained(), 1);
        QCOMPARE(plan.baselinesTrained(), 2); // a baseline per learning rate
        // Points in key order: (α 0.5, lr 0.01), (0.5, 0.1), (0.9, 0.01), (0.9, 0.1).
        QCOMPARE(plan.points[2].baselineFrom, 0);
        QCOMPARE(plan.points[3].baselineFrom, 1);
        e.sweep.grid = {{"teacher.train.epochs", {"1", "2"}}, {"distillation.alpha", {"0.5", "0.9"}}};
        plan = planSweep(e);
        QCOMPARE(plan.teachersTrained(), 2); // a teacher per epoch count, one baseline
        QCOMPARE(plan.baselinesTrained(), 1);
        QCOMPARE(plan.points[2].teacherFrom, 0);
        QCOMPARE(plan.points[3].teacherFrom, 1);
        e.baseline = false;
        QCOMPARE(planSweep(e).baselinesTrained(), 0);
        // Mutual learning trains no teacher: its points share none, and the
        // kd points do not take one over from them.
        // Points: (α 0.5, dml), (0.5, kd), (0.9, dml), (0.9, kd).
        e.sweep.grid = {{"distillation.alpha", {"0.5", "0.9"}}, {"distillation.method", {"\"dml\"", "\"kd\""}}};
        plan = planSweep(e);
        QCOMPARE(plan.points[0].settings[1].second, std::string("\"dml\""));
        QCOMPARE(plan.teachersTrained(), 1);
        QVERIFY(plan.points[0].teacherless && plan.points[2].teacherless);
        QCOMPARE(plan.points[1].teacherFrom, -1);
        QVERIFY(!plan.points[1].teacherless);
        QCOMPARE(plan.points[3].teacherFrom, 1);
    }

    void randomDrawsAreReproducibleAndInTheirRanges()
    {
        Experiment e = sweepExperiment({"4"}, {});
        e.sweep.grid = {{"distillation.alpha", {"0.5", "0.9"}}};
        e.sweep.randomCount = 50;
        e.sweep.randomSeed = 7;
        e.sweep.ranges = {{"student.train.lr", 0.001, 0.1, true, false}, {"student.train.epochs", 1, 5, false, true}};
        const SweepPlan a = planSweep(e), b = planSweep(e);
        QCOMPARE(a.points.size(), std::size_t(100));
        int below = 0;
        for (std::size_t i = 0; i < a.points.size(); ++i) {
            QCOMPARE(a.points[i].settings, b.points[i].settings);
            // α, then the ranges in key order: epochs, lr.
            const double lr = std::stod(a.points[i].settings[2].second);
            const std::string epochs = a.points[i].settings[1].second;
            QVERIFY2(lr >= 0.001 && lr <= 0.1, a.points[i].label().c_str());
            QVERIFY2(epochs.find('.') == std::string::npos && std::stoi(epochs) >= 1 && std::stoi(epochs) <= 5,
                     epochs.c_str());
            below += lr < 0.01; // log-uniform: a decade in two below the geometric middle
        }
        QVERIFY2(below > 25 && below < 75, qPrintable(QString::number(below)));
        e.sweep.randomSeed = 8;
        QVERIFY(planSweep(e).points[0].settings != a.points[0].settings);
    }

    void badInputIsOneMessageNamingTheField_data()
    {
        QTest::addColumn<QString>("sweep");
        QTest::addColumn<QString>("expected");
        QTest::newRow("empty sweep") << "{}" << "x.json: sweep: is empty";
        QTest::newRow("empty grid") << R"({"grid": {}})" << "sweep.grid: is empty";
        QTest::newRow("empty values") << R"({"grid": {"distillation.alpha": []}})"
                                      << "sweep.grid.distillation.alpha: must be a non-empty list";
        QTest::newRow("unknown key") << R"({"grid": {"distillation.temprature": [2, 4]}})"
                                     << "distillation.temprature: unknown key; did you mean 'temperature'?";
        QTest::newRow("wrong type") << R"({"grid": {"distillation.alpha": ["x"]}})"
                                    << "distillation.alpha: must be a number (got \"x\")";
        QTest::newRow("out of range") << R"({"grid": {"distillation.alpha": [0.5, 2]}})" << "distillation.alpha";
        QTest::newRow("seed in grid") << R"({"grid": {"seed": [1, 2]}})" << "sweep.grid.seed: the seed is swept with";
        QTest::newRow("seeds twice") << R"({"seeds": [1, 1]})" << "sweep.seeds: lists 1 twice";
        QTest::newRow("bad range") << R"({"random": {"count": 2, "ranges": {"student.train.lr": {"min": 1, "max": 0}}}})"
                                   << "sweep.random.ranges.student.train.lr.max: needs a min and a max";
        QTest::newRow("log of 0") << R"({"random": {"count": 2, "ranges": {"student.train.lr": {"min": 0, "max": 1, "log": true}}}})"
                                  << "must be > 0 for a log-uniform range";
        QTest::newRow("too many") << R"({"grid": {"distillation.alpha": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]},
                                         "random": {"count": 1001, "ranges": {"student.train.lr": {"min": 0.01, "max": 0.1}}}})"
                                  << "sweep: makes more than 10000 runs; confirm with --yes";
    }
    void badInputIsOneMessageNamingTheField()
    {
        QFETCH(QString, sweep);
        QFETCH(QString, expected);
        const QString error = configError(withSweep(sweep.toStdString()));
        QVERIFY2(error.contains(expected), qPrintable(error));
    }

    void largeSweepsNeedConsent()
    {
        Experiment e = sweepExperiment({"4"}, {});
        e.sweep.randomCount = 10001;
        e.sweep.ranges = {{"student.train.lr", 0.01, 0.1, false, false}};
        e.sweep.grid.clear();
        QCOMPARE(sweepPointCount(e.sweep), kLargeSweep + 1);
        QVERIFY_THROWS_EXCEPTION(ConfigError, planSweep(e));
        QCOMPARE(planSweep(e, {}, /*allowLarge=*/true).points.size(), std::size_t(10001));
    }

    void sweepFolderIsWrittenAndReadBack()
    {
        QTemporaryDir ws;
        const Experiment e = sweepExperiment();
        const SweepFolder s = createSweepFolder(ws.path().toStdString(), e, planSweep(e));
        QVERIFY(fs::is_regular_file(fs::path(s.dir) / "sweep.json"));
        QCOMPARE(listSweeps(ws.path().toStdString()), std::vector<std::string>{s.dir});
        QCOMPARE(s.runDir(3), (fs::path(s.workspace) / "runs" / (s.id + "-p0003")).string());
        const SweepFolder again = openSweepFolder(s.dir);
        QCOMPARE(again.id, s.id);
        QCOMPARE(again.plan.points.size(), s.plan.points.size());
        QCOMPARE(again.experiment.sweep, e.sweep);
        testutil::writeFile(QString::fromStdString(s.dir + "/sweep.json"), "{\"id\": ");
        try {
            openSweepFolder(s.dir);
            QFAIL("a damaged sweep.json was read");
        } catch (const ConfigError &err) {
            QVERIFY2(QString(err.what()).contains(QString::fromStdString(s.dir + "/sweep.json: damaged")), err.what());
        }
    }

    void baselineRunIsCheckedAgainstTheStudentSettings()
    {
        QTemporaryDir ws;
        Experiment e = sweepExperiment();
        e.sweep = SweepSpec{};
        RunObserver quiet;
        const RunResult first = Engine(e, EngineOptions{ws.path().toStdString()}).run(quiet);
        QCOMPARE(first.status, RunStatus::Finished);
        Experiment other = e;
        other.baselineRun = first.runDir;
        other.studentTrain.lr = 0.2;
        RunResult r = Engine(other, EngineOptions{ws.path().toStdString()}).run(quiet);
        QCOMPARE(r.status, RunStatus::Invalid);
        QVERIFY2(QString::fromStdString(r.message).contains("baseline_run: " + QString::fromStdString(first.runDir) +
                                                            ": its student.train.lr differs (0.05 there, 0.2 here)"),
                 r.message.c_str());
        QVERIFY(r.runDir.empty()); // refused before any folder
        other.baselineRun = ws.path().toStdString() + "/runs/none";
        r = Engine(other, EngineOptions{ws.path().toStdString()}).run(quiet);
        QCOMPARE(r.status, RunStatus::Invalid);
        QVERIFY2(r.message.find("baseline_run: ") == 0 && r.message.find("cannot open") != std::string::npos,
                 r.message.c_str());
    }

    void aSweepSharesItsTeacherAndBaselinesAndMatchesSingleRuns()
    {
        QTemporaryDir ws;
        const Experiment e = sweepExperiment();
        const SweepFolder s = createSweepFolder(ws.path().toStdString(), e, planSweep(e));
        const SweepOutcome out = runLocally(s);
        QCOMPARE(out.finished, 8);
        const auto runs = finishedRuns(s);
        for (const auto &[point, run] : runs) {
            const SweepPoint &p = s.plan.points[std::size_t(point)];
            QCOMPARE(run.status, RunStatus::Finished);
            const Experiment config = loadExperiment(s.runDir(point) + "/config.json");
            QCOMPARE(config.sweepPoint.sweep, s.id);
            QCOMPARE(config.sweepPoint.point, point);
            QCOMPARE(config.teacher.source, std::string(point == 0 ? "train" : "run"));
            // The seed's baseline, taken over whole: accuracy, model and analysis.
            QCOMPARE(run.baselineTestAccuracy, runs.at(p.seed == 1 ? 0 : 1).baselineTestAccuracy);
            QCOMPARE(run.teacherTestAccuracy, runs.at(0).teacherTestAccuracy);
            QVERIFY(fs::is_regular_file(s.runDir(point) + "/checkpoints/baseline.pt"));
            QVERIFY(fs::is_regular_file(s.runDir(point) + "/analysis/baseline.logits"));
            QVERIFY(readAnalysisSummary(s.runDir(point)).stage("baseline"));
            const RunMetrics metrics = readRunMetrics(s.runDir(point));
            QCOMPARE(std::count_if(metrics.epochs.begin(), metrics.epochs.end(),
                                   [](const EpochMetrics &m) { return m.stage == StageKind::Baseline; }),
                     std::ptrdiff_t(2));
        }
        // The same numbers as single runs of the points' settings (seed 1 trains the same teacher).
        RunObserver quiet;
        for (int point : {0, 6}) {
            Experiment single = e;
            single.sweep = SweepSpec{};
            single = parseExperiment(experimentToJson(single), {}, s.plan.points[std::size_t(point)].overrides());
            const RunResult r = Engine(single, EngineOptions{ws.path().toStdString() + "/single"}).run(quiet);
            QCOMPARE(r.stage(StageKind::Distillation)->testAccuracy, runs.at(point).studentTestAccuracy);
            QCOMPARE(r.stage(StageKind::Baseline)->testAccuracy, runs.at(point).baselineTestAccuracy);
        }
        // The index groups the sweep's runs.
        RunIndex index(ws.path().toStdString());
        const auto rows = index.query("sweep = '" + s.id + "'", "sweep_point");
        QCOMPARE(rows.size(), std::size_t(8));
        for (std::size_t i = 0; i < rows.size(); ++i)
            QCOMPARE(rows[i].sweepPoint, std::int64_t(i));
        // Run again: every point is kept.
        const auto stamp = fs::last_write_time(s.runDir(3) + "/summary.json");
        QCOMPARE(runLocally(s).finished, 8);
        QCOMPARE(fs::last_write_time(s.runDir(3) + "/summary.json"), stamp);
    }

    void aKilledSweepResumesToTheSameNumbers()
    {
        QTemporaryDir ws, reference;
        Experiment e = sweepExperiment({"2", "4"}, {1});
        e.studentTrain.epochs = 30; // long enough to be killed inside a point
        const QString file = ws.path() + "/sweep.json";
        saveExperiment(e, file.toStdString());
        QProcess sweep;
        sweep.start(DISTILLERY_RUNNER, {"--sweep", file, "-w", ws.path(), "--jobs", "2", "--threads-per-job", "1"});
        QVERIFY(sweep.waitForStarted());
        // Killed (SIGKILL: no chance to clean up) while points after the first train.
        QDeadlineTimer deadline(120000);
        std::string sweepDir;
        while (!deadline.hasExpired()) {
            const auto dirs = listSweeps(ws.path().toStdString());
            if (!dirs.empty()) {
                sweepDir = dirs[0];
                const SweepFolder s = openSweepFolder(sweepDir);
                if (readRunInfo(s.runDir(0)).status == RunStatus::Finished &&
                    readRunMetrics(s.runDir(1)).epochs.size() > 5)
                    break;
            }
            QTest::qWait(20);
        }
        QVERIFY(!sweepDir.empty());
        ::kill(pid_t(sweep.processId()), SIGKILL);
        sweep.waitForFinished();
        const SweepFolder s = openSweepFolder(sweepDir);
        QTest::qWait(3000); // the points, told by the kernel their parent died, stop at a checkpoint
        QVERIFY(readRunInfo(s.runDir(1)).status != RunStatus::Finished);
        const auto kept = fs::last_write_time(s.runDir(0) + "/summary.json");
        QProcess resume;
        resume.start(DISTILLERY_RUNNER, {"--resume-sweep", QString::fromStdString(sweepDir)});
        QVERIFY(resume.waitForFinished(180000));
        QVERIFY2(resume.exitCode() == 0, resume.readAllStandardError().constData());
        QCOMPARE(fs::last_write_time(s.runDir(0) + "/summary.json"), kept);
        // The same as a sweep never interrupted.
        const SweepFolder r = createSweepFolder(reference.path().toStdString(), e, planSweep(e));
        QCOMPARE(runLocally(r).finished, int(r.plan.points.size()));
        for (const auto &p : s.plan.points) {
            QCOMPARE(readRunInfo(s.runDir(p.index)).status, RunStatus::Finished);
            QVERIFY2(readRunInfo(s.runDir(p.index)).studentTestAccuracy ==
                         readRunInfo(r.runDir(p.index)).studentTestAccuracy,
                     p.label().c_str());
        }
    }

    void theRunnerRefusesABadSweepBeforeWritingAnything()
    {
        QTemporaryDir ws;
        const QString file = ws.path() + "/bad.json";
        testutil::writeFile(file, QByteArray::fromStdString(withSweep(R"({"grid": {"distillation.temprature": [2]}})")));
        QProcess p;
        p.start(DISTILLERY_RUNNER, {"--sweep", file, "-w", ws.path() + "/w"});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 2);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains("did you mean 'temperature'"), qPrintable(err));
        QVERIFY(!fs::exists(ws.path().toStdString() + "/w"));
    }
};

QTEST_GUILESS_MAIN(TestSweep)
#include "tst_sweep.moc"
