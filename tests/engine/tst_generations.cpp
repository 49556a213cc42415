// Born-again generations: a chain of runs, each generation taught by the last
// one's distilled student, the baseline trained once; a chain stopped in the
// middle resumes to the numbers of one never stopped; bad settings refused.
#include "distillery/engine.h"
#include "distillery/fork.h"
#include "distillery/runs.h"
#include "distillery/sweep.h"
#include "testutil.h"

#include <QtTest/QtTest>

using namespace distillery;
using testutil::Recorder;

namespace {

Experiment chain(int generations)
{
    Experiment e = testutil::syntheticExperiment();
    e.distillation.generations = generations;
    e.distillation.temperature = 2;
    e.distillation.alpha = 0.7;
    return e;
}

QStringList runFolders(const QString &workspace)
{
    QStringList runs;
    for (const QString &name : QDir(workspace + "/runs").entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
        runs << workspace + "/runs/" + name;
    return runs;
}

// The run folder whose config says it is generation `g`.
QString generationFolder(const QString &workspace, int g)
{
    for (const QString &dir : runFolders(workspace))
        if (loadExperiment((dir + "/config.json").toStdString()).distillation.generation == g)
            return dir;
    return {};
}

StageResult resultOf(const QString &runDir, StageKind kind)
{
    for (const auto &s : readStageResults(runDir.toStdString()))
        if (s.kind == kind)
            return s;
    return StageResult{};
}

// Stops the chain after the first epoch of generation 2's student.
struct StopInGenerationTwo : Recorder {
    Engine *engine = nullptr;
    int studentStages = 0;
    void stageStarted(const StageInfo &s) override
    {
        Recorder::stageStarted(s);
        if (s.kind == StageKind::Distillation)
            ++studentStages;
    }
    void epochFinished(const EpochMetrics &e) override
    {
        Recorder::epochFinished(e);
        if (e.stage == StageKind::Distillation && e.epoch == 1 && studentStages == 2)
            engine->requestStop();
    }
};

} // namespace

class TestGenerations : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void eachGenerationIsTaughtByTheLastOnesStudent()
    {
        QTemporaryDir ws;
        Recorder r;
        Engine engine(chain(3), EngineOptions{ws.path().toStdString()});
        const RunResult last = engine.run(r);
        QCOMPARE(last.status, RunStatus::Finished);
        QCOMPARE(runFolders(ws.path()).size(), 3);
        const QString dirs[] = {generationFolder(ws.path(), 1), generationFolder(ws.path(), 2),
                                generationFolder(ws.path(), 3)};
        QCOMPARE(QString::fromStdString(last.runDir), dirs[2]);
        // Teacher, baseline and student in each: the first trains them, the
        // others take the baseline over and evaluate the last student.
        QCOMPARE(r.stages.size(), std::size_t(9));
        int trainedTeachers = 0;
        for (const auto &s : r.stages)
            trainedTeachers += s.kind == StageKind::Teacher && !s.reused;
        QCOMPARE(trainedTeachers, 1);
        for (int g = 2; g <= 3; ++g) {
            const Experiment e = loadExperiment((dirs[g - 1] + "/config.json").toStdString());
            QCOMPARE(e.name, "test-gen" + std::to_string(g));
            QCOMPARE(e.teacher.source, std::string("run"));
            QCOMPARE(e.teacher.stage, std::string("student"));
            QCOMPARE(QString::fromStdString(e.teacher.run), dirs[g - 2]);
            QCOMPARE(QString::fromStdString(e.baselineRun), dirs[0]);
            QCOMPARE(e.distillation.generations, 3);
            QCOMPARE(e.teacher.model.preset, std::string("mlp")); // the student's model
            QCOMPARE(e.teacher.model.hidden, (std::vector<std::int64_t>{8}));
            // The teacher is the previous generation's kept student, exactly.
            QCOMPARE(resultOf(dirs[g - 1], StageKind::Teacher).testAccuracy,
                     resultOf(dirs[g - 2], StageKind::Distillation).testAccuracy);
            QCOMPARE(resultOf(dirs[g - 1], StageKind::Baseline).testAccuracy,
                     resultOf(dirs[0], StageKind::Baseline).testAccuracy);
            QVERIFY(resultOf(dirs[g - 1], StageKind::Distillation).testAccuracy > 0.5);
        }
    }

    // Stopped in generation 2's student and resumed, the chain ends with the
    // numbers of one never stopped, generation 3 included.
    void aStoppedChainResumesToTheSameNumbers()
    {
        QTemporaryDir whole, stopped;
        Recorder a;
        Engine once(chain(3), EngineOptions{whole.path().toStdString()});
        QCOMPARE(once.run(a).status, RunStatus::Finished);
        StopInGenerationTwo b;
        Engine first(chain(3), EngineOptions{stopped.path().toStdString()});
        b.engine = &first;
        const RunResult r = first.run(b);
        QCOMPARE(r.status, RunStatus::Stopped);
        QCOMPARE(runFolders(stopped.path()).size(), 2);
        QCOMPARE(QString::fromStdString(r.runDir), generationFolder(stopped.path(), 2));
        // Resumed with no workspace of its own (as the window and the runner
        // may): generation 3 still goes beside generation 2.
        Recorder c;
        Engine second(chain(3), EngineOptions{"no-such-workspace", r.runDir});
        const RunResult end = second.run(c);
        QCOMPARE(end.status, RunStatus::Finished);
        QCOMPARE(runFolders(stopped.path()).size(), 3);
        for (int g = 2; g <= 3; ++g) {
            const QString x = generationFolder(whole.path(), g), y = generationFolder(stopped.path(), g);
            QCOMPARE(resultOf(y, StageKind::Distillation).testAccuracy, resultOf(x, StageKind::Distillation).testAccuracy);
            QCOMPARE(resultOf(y, StageKind::Distillation).bestValAccuracy,
                     resultOf(x, StageKind::Distillation).bestValAccuracy);
            QCOMPARE(resultOf(y, StageKind::Teacher).testAccuracy, resultOf(x, StageKind::Teacher).testAccuracy);
        }
        QVERIFY(!QDir("no-such-workspace").exists());
        // A fork of generation 2 continues it with generation 1's student as
        // its teacher (copied), and starts no generation after it.
        ForkRequest fork;
        fork.origin = generationFolder(whole.path(), 2).toStdString();
        fork.epoch = 1;
        fork.workspace = whole.path().toStdString();
        const std::string forked = prepareFork(fork);
        QVERIFY(QFile::exists(QString::fromStdString(forked) + "/checkpoints/teacher.pt"));
        Recorder d;
        Engine third(chain(3), EngineOptions{whole.path().toStdString(), forked});
        QCOMPARE(third.run(d).status, RunStatus::Finished);
        QCOMPARE(runFolders(whole.path()).size(), 4);
        const QString x = generationFolder(whole.path(), 2);
        QCOMPARE(resultOf(QString::fromStdString(forked), StageKind::Distillation).testAccuracy,
                 resultOf(x, StageKind::Distillation).testAccuracy);
    }

    void badSettings_data()
    {
        QTest::addColumn<QStringList>("sets");
        QTest::addColumn<QString>("message");
        QTest::newRow("none") << QStringList{"distillation.generations=0"}
                              << "distillation.generations: must be between 1 and 20 (got 0)";
        QTest::newRow("past the chain") << QStringList{"distillation.generations=2", "distillation.generation=3"}
                                        << "distillation.generation: is this run's generation";
        QTest::newRow("mutual") << QStringList{"distillation.generations=2", "distillation.method=\"dml\""}
                                << "dml has no teacher to replace";
        QTest::newRow("later generation, trained teacher")
            << QStringList{"distillation.generations=3", "distillation.generation=2"}
            << "distillation.generation: a generation after the first is taught by the last generation's student";
        QTest::newRow("stage without a run") << QStringList{"teacher.stage=\"student\""}
                                             << "teacher.stage: chooses which model of an earlier run teaches";
        QTest::newRow("unknown stage") << QStringList{"teacher.source=\"run\"", "teacher.run=\"x\"",
                                                      "teacher.stage=\"baseline\""}
                                       << "teacher.stage: must be 'teacher'";
    }
    void badSettings()
    {
        QFETCH(QStringList, sets);
        QFETCH(QString, message);
        std::vector<std::string> overrides;
        for (const QString &s : sets)
            overrides.push_back(s.toStdString());
        const std::string json = experimentToJson(chain(1));
        try {
            parseExperiment(json, "x.json", overrides);
            QFAIL("accepted");
        } catch (const ConfigError &e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(message), e.what());
        }
    }

    void generationsAreNotSwept()
    {
        Experiment e = chain(2);
        e.sweep.seeds = {1, 2};
        try {
            planSweep(e);
            QFAIL("planned");
        } catch (const ConfigError &err) {
            QVERIFY2(QString::fromUtf8(err.what()).contains("distillation.generations: born-again generations"),
                     err.what());
        }
    }

    // A run whose student never finished cannot teach.
    void aRunWithoutAStudentCannotTeach()
    {
        QTemporaryDir ws;
        struct StopAfterTheTeacher : Recorder {
            Engine *engine = nullptr;
            void stageFinished(const StageResult &r) override
            {
                Recorder::stageFinished(r);
                engine->requestStop();
            }
        } r;
        Engine engine(chain(1), EngineOptions{ws.path().toStdString()});
        r.engine = &engine;
        QCOMPARE(engine.run(r).status, RunStatus::Stopped);
        const QStringList runs = runFolders(ws.path());
        QCOMPARE(runs.size(), 1);
        Experiment next = chain(1);
        next.teacher.source = "run";
        next.teacher.run = runs[0].toStdString();
        next.teacher.stage = "student";
        Recorder r2;
        Engine second(next, EngineOptions{ws.path().toStdString()});
        QCOMPARE(second.run(r2).status, RunStatus::Invalid);
        QVERIFY2(!r2.errors.empty() && r2.errors[0].find("has no finished distilled student") != std::string::npos,
                 r2.errors.empty() ? "" : r2.errors[0].c_str());
        QCOMPARE(runFolders(ws.path()).size(), 1);
    }
};

QTEST_GUILESS_MAIN(TestGenerations)
#include "tst_generations.moc"
