// The run index (core/src/runs/run_index.cpp, docs/RUNS.md): real SQLite files
// in a temporary workspace, checked against the run folders they come from.
#include "distillery/engine.h"
#include "distillery/runindex.h"
#include "distillery/runs.h"
#include "testutil.h"

#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

using namespace distillery;
namespace fs = std::filesystem;

namespace {

// What the brute-force filter looks at: the folder's own files, read back.
struct FolderRun {
    std::string dir; // runs/<folder>
    RunInfo info;
    double lr = 0.0;
};

void writeText(const fs::path &p, const std::string &text)
{
    std::ofstream(p) << text;
}

// A run folder written by hand as the engine writes it; settings vary with i.
std::string writeRun(const fs::path &workspace, int i)
{
    Experiment e = testutil::syntheticExperiment();
    e.name = "run-" + std::to_string(i);
    e.distillation.method = i % 4 == 3 ? "dkd" : "kd";
    e.distillation.alpha = double(i % 10) / 10.0;
    e.distillation.temperature = double(1 + i % 6);
    e.studentTrain.lr = i % 3 == 0 ? 0.02 : 0.05;
    const std::string folder = "20260101-1200" + std::to_string(10 + i) + "-" + e.name;
    const fs::path dir = workspace / "runs" / folder;
    fs::create_directories(dir / "checkpoints");
    writeText(dir / "config.json", experimentToJson(e));
    const double baseline = 0.6 + 0.01 * (i % 7), student = baseline + 0.01 * ((i * 5) % 9) - 0.04;
    nlohmann::json stages;
    stages["teacher"] = {{"stage", "teacher"}, {"status", "finished"}, {"test_accuracy", 0.9}};
    stages["baseline"] = {{"stage", "baseline"}, {"status", "finished"}, {"test_accuracy", baseline}};
    if (i % 5 != 4)
        stages["student"] = {{"stage", "student"}, {"status", "finished"}, {"test_accuracy", student}};
    const nlohmann::json summary = {{"name", e.name},
                                    {"started", "2026-01-01T12:00:" + std::to_string(10 + i) + "Z"},
                                    {"status", i % 5 == 4 ? "stopped" : "finished"},
                                    {"seconds", 2.0 + i},
                                    {"teacher", {{"parameters", 5000}}},
                                    {"student", {{"parameters", 100 + i}}},
                                    {"stages", stages}};
    writeText(dir / "summary.json", summary.dump(2));
    writeText(dir / "metrics.jsonl", "");
    return "runs/" + folder;
}

std::vector<FolderRun> readFolders(const fs::path &workspace)
{
    std::vector<FolderRun> out;
    for (const auto &info : listRuns(workspace.string())) {
        FolderRun r;
        r.dir = "runs/" + fs::path(info.dir).filename().string();
        r.info = info;
        r.lr = loadExperiment(info.dir + "/config.json").studentTrain.lr;
        out.push_back(r);
    }
    return out;
}

std::set<std::string> dirs(const std::vector<IndexedRun> &runs)
{
    std::set<std::string> s;
    for (const auto &r : runs)
        s.insert(r.dir);
    return s;
}

QString indexError(const RunIndex &index, const std::string &filter, const std::string &sort = "")
{
    try {
        index.query(filter, sort);
    } catch (const IndexQueryError &e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

// config.json flattened independently of the index, through Qt's JSON.
void flattenQt(const QJsonValue &v, const QString &prefix, std::map<std::string, QJsonValue> &out)
{
    if (v.isObject()) {
        const QJsonObject o = v.toObject();
        for (auto it = o.begin(); it != o.end(); ++it)
            flattenQt(it.value(), prefix.isEmpty() ? it.key() : prefix + "." + it.key(), out);
    } else {
        out[prefix.toStdString()] = v;
    }
}

} // namespace

class TestRunIndex : public QObject {
    Q_OBJECT
    QTemporaryDir tmp;
    fs::path ws;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(tmp.isValid());
        ws = fs::path(tmp.path().toStdString()) / "ws";
        for (int i = 0; i < 20; ++i)
            writeRun(ws, i);
    }

    void rowsAndSettingsEqualTheFolders()
    {
        RunIndex index(ws.string());
        QVERIFY(index.notes().empty());
        QVERIFY(fs::exists(ws / "runs.sqlite"));
        const auto folders = readFolders(ws);
        const auto rows = index.query();
        QCOMPARE(rows.size(), folders.size());
        for (std::size_t k = 0; k < rows.size(); ++k) { // both newest first
            const IndexedRun &r = rows[k];
            const RunInfo &f = folders[k].info;
            QCOMPARE(r.dir, folders[k].dir);
            QCOMPARE(r.name, f.name);
            QCOMPARE(r.started, f.started);
            QCOMPARE(r.status, statusName(f.status));
            QCOMPARE(r.method, f.method);
            QCOMPARE(r.seconds, f.seconds);
            QCOMPARE(r.baselineAccuracy, f.baselineTestAccuracy);
            QCOMPARE(std::isnan(r.studentAccuracy), f.studentTestAccuracy < 0);
            if (f.studentTestAccuracy >= 0) {
                QCOMPARE(r.studentAccuracy, f.studentTestAccuracy);
                QCOMPARE(r.gain, f.studentTestAccuracy - f.baselineTestAccuracy);
            }
            QCOMPARE(r.studentParameters, f.studentParameters);
            QCOMPARE(r.sweepPoint, std::int64_t(-1));

            std::map<std::string, QJsonValue> expected;
            flattenQt(QJsonDocument::fromJson(testutil::readFile(QString::fromStdString(f.dir + "/config.json"))).object(),
                      {}, expected);
            const auto settings = index.settings(r.dir);
            QCOMPARE(settings.size(), expected.size());
            for (const auto &[key, text] : settings) {
                QVERIFY2(expected.count(key), key.c_str());
                const QJsonValue v = expected[key];
                if (v.isDouble())
                    QCOMPARE(std::stod(text), v.toDouble());
                else if (v.isString())
                    QCOMPARE(QString::fromStdString(text), v.toString());
                else if (v.isBool())
                    QCOMPARE(text, std::string(v.toBool() ? "1" : "0"));
            }
        }
        const auto keys = index.keys();
        QVERIFY(std::count(keys.begin(), keys.end(), "distillation.alpha") == 1);
    }

    // What the window's Runs panel lists: the index's rows as RunInfo, equal
    // field by field to reading every folder (listRuns), forks, sweep points
    // and an interrupted run included.
    void runsEqualTheFolders()
    {
        const fs::path w = fs::path(tmp.path().toStdString()) / "list";
        std::vector<std::string> made;
        for (int i = 0; i < 9; ++i)
            made.push_back(writeRun(w, i));
        const auto editConfig = [&](const std::string &dir, const std::function<void(nlohmann::json &)> &edit) {
            std::ifstream in(w / dir / "config.json");
            nlohmann::json config = nlohmann::json::parse(in);
            edit(config);
            writeText(w / dir / "config.json", config.dump(2));
        };
        editConfig(made[3], [&](nlohmann::json &c) { c["forked_from"] = {{"run", (w / made[1]).string()}, {"epoch", 2}}; });
        for (int k : {5, 6})
            editConfig(made[std::size_t(k)], [&](nlohmann::json &c) {
                c["sweep_point"] = {{"sweep", "20260101-sw"}, {"point", k - 5}, {"seed", 1}, {"settings", nlohmann::json::object()}};
            });
        writeText(w / made[7] / "summary.json", R"({"name": "run-7", "status": "running", "started": "x"})");
        RunIndex index(w.string());
        const std::vector<RunInfo> rows = index.runs();
        const std::vector<RunInfo> folders = listRuns(w.string());
        QCOMPARE(rows.size(), folders.size());
        for (std::size_t k = 0; k < rows.size(); ++k) { // both newest first
            const RunInfo &r = rows[k], &f = folders[k];
            QCOMPARE(r.dir, f.dir);
            QCOMPARE(r.name, f.name);
            QCOMPARE(r.started, f.started);
            QCOMPARE(r.status, f.status);
            QCOMPARE(r.method, f.method);
            QCOMPARE(r.temperature, f.temperature);
            QCOMPARE(r.alpha, f.alpha);
            QCOMPARE(r.seconds, f.seconds);
            QCOMPARE(r.teacherTestAccuracy, f.teacherTestAccuracy);
            QCOMPARE(r.baselineTestAccuracy, f.baselineTestAccuracy);
            QCOMPARE(r.studentTestAccuracy, f.studentTestAccuracy);
            QCOMPARE(r.teacherParameters, f.teacherParameters);
            QCOMPARE(r.studentParameters, f.studentParameters);
            QCOMPARE(r.forkedFrom, f.forkedFrom);
            QCOMPARE(r.forkedEpoch, f.forkedEpoch);
            QCOMPARE(r.sweep, f.sweep);
            QCOMPARE(r.sweepPoint, f.sweepPoint);
            QCOMPARE(r.ownerPid, f.ownerPid);
            QCOMPARE(r.interrupted(), f.interrupted());
        }
        const auto at = [&](const std::string &dir) {
            return *std::find_if(rows.begin(), rows.end(), [&](const RunInfo &r) { return r.dir == (w / dir).string(); });
        };
        QCOMPARE(at(made[3]).forkedEpoch, 2); // what was written is what is compared
        QCOMPARE(at(made[6]).sweepPoint, 1);
        QVERIFY(at(made[7]).interrupted());
        // A filter and a sort, as the panel asks for them.
        const auto stopped = index.runs("status = stopped", "alpha", true);
        QCOMPARE(int(stopped.size()), 1);
        QCOMPARE(stopped[0].dir, (w / made[4]).string());
    }

    void filterEqualsBruteForce_data()
    {
        QTest::addColumn<QString>("filter");
        QTest::addColumn<int>("which");
        QTest::newRow("and") << "alpha >= 0.5 and status = finished" << 0;
        QTest::newRow("or") << "distillation.alpha < 0.3 or temperature = 4" << 1;
        QTest::newRow("parentheses") << "(alpha < 0.3 or alpha > 0.7) and accuracy > 0.62" << 2;
        QTest::newRow("or binds looser") << "alpha = 0.1 or alpha = 0.2 and method = dkd" << 3;
        QTest::newRow("string setting") << "distillation.method != 'kd'" << 4;
        QTest::newRow("number setting") << "student.train.lr = 0.02 AND gain > 0" << 5;
        QTest::newRow("substring") << "name ~ run-1" << 6;
        QTest::newRow("number as text") << "name = 3" << 7;
        QTest::newRow("stopped") << "status = stopped" << 8;
        QTest::newRow("empty") << "" << 9;
    }

    void filterEqualsBruteForce()
    {
        QFETCH(QString, filter);
        QFETCH(int, which);
        const std::vector<std::function<bool(const FolderRun &)>> brute = {
            [](const FolderRun &r) { return r.info.alpha >= 0.5 && r.info.status == RunStatus::Finished; },
            [](const FolderRun &r) { return r.info.alpha < 0.3 || r.info.temperature == 4; },
            [](const FolderRun &r) {
                return (r.info.alpha < 0.3 || r.info.alpha > 0.7) && r.info.studentTestAccuracy > 0.62;
            },
            [](const FolderRun &r) { return r.info.alpha == 0.1 || (r.info.alpha == 0.2 && r.info.method == "dkd"); },
            [](const FolderRun &r) { return r.info.method != "kd"; },
            [](const FolderRun &r) {
                return r.lr == 0.02 && r.info.studentTestAccuracy >= 0 &&
                       r.info.studentTestAccuracy - r.info.baselineTestAccuracy > 0;
            },
            [](const FolderRun &r) { return r.info.name.find("run-1") != std::string::npos; },
            [](const FolderRun &) { return false; },
            [](const FolderRun &r) { return r.info.status == RunStatus::Stopped; },
            [](const FolderRun &) { return true; },
        };
        RunIndex index(ws.string());
        std::set<std::string> expected;
        for (const auto &r : readFolders(ws))
            if (brute[std::size_t(which)](r))
                expected.insert(r.dir);
        QVERIFY(!expected.empty() || which == 7);
        QCOMPARE(dirs(index.query(filter.toStdString())), expected);
    }

    void sortsByAColumnOrASetting()
    {
        RunIndex index(ws.string());
        const auto byAlpha = index.query("", "alpha", true);
        for (std::size_t k = 1; k < byAlpha.size(); ++k)
            QVERIFY(loadExperiment((ws / byAlpha[k - 1].dir / "config.json").string()).distillation.alpha >=
                    loadExperiment((ws / byAlpha[k].dir / "config.json").string()).distillation.alpha);
        const auto byAccuracy = index.query("status = finished", "accuracy", false, 3);
        QCOMPARE(int(byAccuracy.size()), 3);
        QVERIFY(byAccuracy[0].studentAccuracy <= byAccuracy[1].studentAccuracy);
    }

    void badFiltersNameTheFieldOrPosition()
    {
        RunIndex index(ws.string());
        QVERIFY(indexError(index, "alpah > 0.5").contains("unknown key 'alpah'; did you mean 'alpha'?"));
        QVERIFY(indexError(index, "accurcy > 0.5").contains("did you mean 'accuracy'?"));
        QVERIFY(indexError(index, "epochs > 1").contains("student.train.epochs"));   // ambiguous
        // The shallowest key wins: DKD's own distillation.params.alpha is written out whole.
        QVERIFY(index.query("distillation.params.alpha = 1 and alpha = 0.3").size() == 1);
        QVERIFY(indexError(index, "alpha 0.5").contains("position 7"));
        QVERIFY(indexError(index, "alpha > 0.5 and").contains("at the end"));
        QVERIFY(indexError(index, "(alpha > 0.5").contains("expected ')'"));
        QVERIFY(indexError(index, "name = 'x").contains("not closed"));
        QVERIFY(indexError(index, "status = finised").contains("did you mean 'finished'?"));
        QVERIFY(indexError(index, "", "temprature").contains("sort: unknown key 'temprature'; did you mean 'temperature'?"));
        // Values are bound, never pasted: a quote inside one is plain text.
        QVERIFY(index.query("name = \"x' OR 1=1 --\"").empty());
    }

    void damagedFileIsMovedAsideAndRebuilt()
    {
        const fs::path w = fs::path(tmp.path().toStdString()) / "damaged";
        for (int i = 0; i < 6; ++i)
            writeRun(w, i);
        writeText(w / "runs.sqlite", std::string(3000, '\x5a') + "not a database");
        RunIndex index(w.string());
        QCOMPARE(int(index.notes().size()), 1);
        QVERIFY(index.notes()[0].find("moved aside as runs.sqlite.damaged-") != std::string::npos);
        QCOMPARE(index.count(), 6);
        int aside = 0;
        for (const auto &e : fs::directory_iterator(w))
            aside += e.path().filename().string().rfind("runs.sqlite.damaged-", 0) == 0;
        QCOMPARE(aside, 1);
        RunIndex again(w.string()); // healthy now: nothing to say
        QVERIFY(again.notes().empty());
    }

    // An index written by an older Distillery (a lower schema version, rows
    // that hold less) is made again in place on open: no note, nothing moved aside.
    void olderIndexIsMadeAgainInPlace()
    {
        const fs::path w = fs::path(tmp.path().toStdString()) / "older";
        std::vector<std::string> made;
        for (int i = 0; i < 4; ++i)
            made.push_back(writeRun(w, i));
        {
            std::ifstream in(w / made[2] / "config.json");
            nlohmann::json config = nlohmann::json::parse(in);
            config["sweep_point"] = {{"sweep", "s"}, {"point", 3}, {"seed", 1}, {"settings", nlohmann::json::object()}};
            writeText(w / made[2] / "config.json", config.dump(2));
        }
        { RunIndex index(w.string()); QCOMPARE(index.count(), 4); }
        // As an older version left it: version 1, no sweep columns filled, a row missing.
        QProcess python;
        python.start(QStringLiteral("/usr/bin/python3"),
                     {QStringLiteral("-c"), QStringLiteral("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                                                           "c.execute('UPDATE runs SET sweep_id = NULL, sweep_point = NULL'); "
                                                           "c.execute('DELETE FROM runs WHERE dir = ?', (sys.argv[2],)); "
                                                           "c.commit(); c.execute('PRAGMA user_version = 1')"),
                      QString::fromStdString((w / "runs.sqlite").string()), QString::fromStdString(made[0])});
        QVERIFY(python.waitForFinished(30000));
        QCOMPARE(python.exitCode(), 0);
        RunIndex index(w.string(), false); // no refresh: the upgrade alone must bring every row back
        QVERIFY(index.notes().empty());
        QCOMPARE(index.count(), 4);
        const auto points = index.query("sweep = s");
        QCOMPARE(int(points.size()), 1);
        QCOMPARE(points[0].sweepPoint, std::int64_t(3));
        for (const auto &e : fs::directory_iterator(w))
            QVERIFY2(e.path().filename().string().find("damaged") == std::string::npos, e.path().c_str());
    }

    void refreshFollowsTheFolders()
    {
        const fs::path w = fs::path(tmp.path().toStdString()) / "refresh";
        std::vector<std::string> made;
        for (int i = 0; i < 5; ++i)
            made.push_back(writeRun(w, i));
        { RunIndex index(w.string()); QCOMPARE(index.count(), 5); }
        fs::remove_all(w / made[1]);
        const std::string added = writeRun(w, 7);
        // A changed summary: the row follows (mtime one second later, as a later write would).
        const fs::path summary = w / made[2] / "summary.json";
        writeText(summary, "{\"status\": \"failed\", \"started\": \"x\"}");
        fs::last_write_time(summary, fs::last_write_time(summary) + std::chrono::seconds(1));
        RunIndex index(w.string(), false);
        const RefreshCounts c = index.refresh();
        QCOMPARE(c.added, 1);
        QCOMPARE(c.removed, 1);
        QCOMPARE(c.updated, 1);
        const auto all = dirs(index.query());
        QCOMPARE(int(all.size()), 5);
        QVERIFY(!all.count(made[1]));
        QVERIFY(all.count(added));
        QCOMPARE(index.query("status = failed").at(0).dir, made[2]);
        QCOMPARE(index.refresh().updated, 0); // nothing changed since
        QCOMPARE(index.reindex(), 5);
    }

    void engineKeepsTheIndexUpToDate()
    {
        const fs::path w = fs::path(tmp.path().toStdString()) / "engine";
        Experiment e = testutil::syntheticExperiment();
        e.data.syntheticTrain = 400;
        e.data.syntheticTest = 100;
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 1;
        struct Watch : testutil::Recorder {
            fs::path workspace;
            std::string statusAtStart;
            void runStarted(const RunStartInfo &info) override
            {
                testutil::Recorder::runStarted(info);
                RunIndex index(workspace.string(), false);
                const auto rows = index.query();
                statusAtStart = rows.size() == 1 ? rows[0].status : "rows: " + std::to_string(rows.size());
            }
        } watch;
        watch.workspace = w;
        const RunResult result = Engine(e, EngineOptions{w.string(), {}}).run(watch);
        QCOMPARE(result.status, RunStatus::Finished);
        QCOMPARE(watch.statusAtStart, std::string("running"));
        RunIndex index(w.string(), false); // no refresh: what the engine wrote
        const auto rows = index.query("status = finished and alpha = " + std::to_string(e.distillation.alpha));
        QCOMPARE(int(rows.size()), 1);
        const RunInfo info = readRunInfo(result.runDir);
        QCOMPARE(rows[0].studentAccuracy, info.studentTestAccuracy);
        QCOMPARE(rows[0].baselineAccuracy, info.baselineTestAccuracy);
        QCOMPARE(rows[0].seconds, info.seconds);
    }

    void runnerReindexesAndLists()
    {
        const auto run = [](const QStringList &args) {
            QProcess p;
            p.start(QStringLiteral(DISTILLERY_RUNNER), args);
            p.waitForFinished(60000);
            return std::make_tuple(p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()),
                                   QString::fromUtf8(p.readAllStandardError()));
        };
        const QString w = QString::fromStdString(ws.string());
        auto [code, out, err] = run({"--reindex", w});
        QCOMPARE(code, 0);
        QVERIFY2(out.contains("20 runs indexed"), qPrintable(out));
        std::tie(code, out, err) = run({"--list-runs", w, "--filter", "status = stopped", "--sort", "alpha"});
        QCOMPARE(code, 0);
        QVERIFY2(out.contains("run-4 ") && out.contains("4 runs"), qPrintable(out));
        std::tie(code, out, err) = run({"--list-runs", w, "--filter", "alpah > 1"});
        QCOMPARE(code, 2);
        QVERIFY2(err.contains("did you mean 'alpha'?"), qPrintable(err));
        std::tie(code, out, err) = run({"--list-runs", w + "/no-such-folder"});
        QCOMPARE(code, 2);
        QVERIFY2(err.contains("no such folder"), qPrintable(err));
    }
};

QTEST_GUILESS_MAIN(TestRunIndex)
#include "tst_run_index.moc"
