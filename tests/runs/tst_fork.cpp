// Forks (core/src/runs/fork.cpp): a run's distilled student continued from
// one of its epochs with changed settings, as a new run.
#include "testutil.h"

#include "distillery/engine.h"
#include "distillery/fork.h"
#include "distillery/runs.h"

#include <QtTest/QtTest>

#include <filesystem>

using namespace distillery;
namespace fs = std::filesystem;

namespace {

Experiment forkable()
{
    Experiment e = testutil::syntheticExperiment();
    e.data.syntheticTrain = 800;
    e.data.syntheticTest = 300;
    e.teacher.train.epochs = 2;
    e.studentTrain.epochs = 4;
    e.threads = 1;
    e.distillation.alpha = 0.5;
    return e;
}

RunResult run(const Experiment &e, const std::string &ws)
{
    RunObserver quiet;
    return Engine(e, EngineOptions{ws}).run(quiet);
}

RunResult resume(const std::string &dir)
{
    RunObserver quiet;
    return Engine(Experiment{}, EngineOptions{{}, dir}).run(quiet);
}

std::vector<EpochMetrics> studentEpochs(const std::string &dir)
{
    std::vector<EpochMetrics> out;
    for (const auto &e : readRunMetrics(dir).epochs)
        if (e.stage == StageKind::Distillation)
            out.push_back(e);
    return out;
}

QString forkError(const ForkRequest &r)
{
    try {
        prepareFork(r);
    } catch (const ConfigError &e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

std::size_t runCount(const std::string &ws)
{
    std::size_t n = 0;
    for ([[maybe_unused]] const auto &d : fs::directory_iterator(fs::path(ws) / "runs"))
        ++n;
    return n;
}

} // namespace

class TestFork : public QObject {
    Q_OBJECT
    QTemporaryDir ws;
    std::string origin;

private Q_SLOTS:
    void initTestCase()
    {
        const RunResult r = run(forkable(), ws.path().toStdString());
        QCOMPARE(r.status, RunStatus::Finished);
        origin = r.runDir;
        QCOMPARE(forkableEpochs(origin), (std::vector<int>{1, 2, 3, 4}));
    }

    // A fork with α 0.9 after epoch 2 trains as a run whose α steps to 0.9 there.
    void aForkContinuesAsIfTheSettingHadChangedAtThatEpoch()
    {
        const std::string dir = prepareFork({origin, 2, {"distillation.alpha=0.9"}, ws.path().toStdString()});
        const Experiment config = loadExperiment(dir + "/config.json");
        QCOMPARE(config.distillation.alpha, 0.9);
        QCOMPARE(config.forkedFrom.run, fs::absolute(origin).lexically_normal().string());
        QCOMPARE(config.forkedFrom.epoch, 2);
        const RunResult forked = resume(dir);
        QCOMPARE(forked.status, RunStatus::Finished);

        Experiment stepped = forkable();
        stepped.distillation.schedules["alpha"] = ValueSchedule{"step", 0.5, 0.9, 2, 0};
        const RunResult reference = run(stepped, ws.path().toStdString() + "/reference");
        const auto a = studentEpochs(dir), b = studentEpochs(reference.runDir), o = studentEpochs(origin);
        QCOMPARE(a.size(), std::size_t(4));
        for (std::size_t i = 0; i < 4; ++i) {
            QCOMPARE(a[i].trainLoss, b[i].trainLoss);
            QCOMPARE(a[i].testAccuracy, b[i].testAccuracy);
        }
        QCOMPARE(a[1].trainLoss, o[1].trainLoss); // before the fork: the origin's epochs
        QVERIFY(a[3].trainLoss != o[3].trainLoss);
        QCOMPARE(forked.stage(StageKind::Distillation)->testAccuracy,
                 reference.stage(StageKind::Distillation)->testAccuracy);
        // The origin's teacher and baseline, as their copies in the fork's folder.
        QCOMPARE(forked.stage(StageKind::Baseline)->testAccuracy, readRunInfo(origin).baselineTestAccuracy);
        QVERIFY(fs::is_regular_file(dir + "/checkpoints/teacher.pt"));
        QCOMPARE(readRunInfo(dir).status, RunStatus::Finished);
    }

    void moreEpochsAndANewLearningRate()
    {
        const std::string dir = prepareFork(
            {origin, 4, {"student.train.epochs=6", "student.train.lr=0.01"}, ws.path().toStdString()});
        const RunResult forked = resume(dir);
        QCOMPARE(forked.status, RunStatus::Finished);
        QCOMPARE(studentEpochs(dir).size(), std::size_t(6));
        QCOMPARE(studentEpochs(dir)[3].trainLoss, studentEpochs(origin)[3].trainLoss);
    }

    // A sweep's point keeps its teacher in another run and took its baseline over.
    void aRunThatTookItsTeacherAndBaselineOverForks()
    {
        Experiment e = forkable();
        e.teacher.source = "run";
        e.teacher.run = origin;
        e.baselineRun = origin;
        e.distillation.temperature = 2;
        const RunResult point = run(e, ws.path().toStdString() + "/point");
        QCOMPARE(point.status, RunStatus::Finished);
        QVERIFY(!fs::exists(point.runDir + "/checkpoints/teacher.pt"));
        const std::string dir = prepareFork({point.runDir, 1, {"student.train.lr=0.02"}, ws.path().toStdString()});
        const RunResult forked = resume(dir);
        QVERIFY2(forked.status == RunStatus::Finished, forked.message.c_str());
        QCOMPARE(forked.stage(StageKind::Teacher)->testAccuracy, point.stage(StageKind::Teacher)->testAccuracy);
        QVERIFY(loadExperiment(dir + "/config.json").baselineRun.empty());
    }

    void badForksAreOneMessageAndNoFolder_data()
    {
        QTest::addColumn<int>("epoch");
        QTest::addColumn<QString>("set");
        QTest::addColumn<QString>("expected");
        QTest::newRow("no such epoch") << 9 << "" << "no checkpoint of the student's epoch 9 (it has epochs 1 to 4)";
        QTest::newRow("teacher setting") << 2 << "teacher.train.lr=0.1" << "--set teacher.train.lr: a fork changes";
        QTest::newRow("model") << 2 << "student.model.hidden=[4]" << "--set student.model.hidden";
        QTest::newRow("too few epochs") << 3 << "student.train.epochs=3"
                                        << "student.train.epochs 3 leaves nothing after epoch 3";
        QTest::newRow("bad value") << 2 << "distillation.alpha=2" << "distillation.alpha";
    }
    void badForksAreOneMessageAndNoFolder()
    {
        QFETCH(int, epoch);
        QFETCH(QString, set);
        QFETCH(QString, expected);
        const std::size_t before = runCount(ws.path().toStdString());
        std::vector<std::string> overrides;
        if (!set.isEmpty())
            overrides.push_back(set.toStdString());
        const QString error = forkError({origin, epoch, overrides, ws.path().toStdString()});
        QVERIFY2(error.contains(expected), qPrintable(error));
        QCOMPARE(runCount(ws.path().toStdString()), before);
    }

    void aDamagedCheckpointIsNamed()
    {
        QTemporaryDir copyWs;
        const fs::path copy = fs::path(copyWs.path().toStdString()) / "runs" / "origin";
        fs::create_directories(copy.parent_path());
        fs::copy(origin, copy, fs::copy_options::recursive);
        const fs::path state = copy / "checkpoints" / "student.epoch-0002.state.pt";
        fs::remove(state);
        testutil::writeFile(QString::fromStdString(state.string()), "not a checkpoint");
        const QString error = forkError({copy.string(), 2, {}, copyWs.path().toStdString()});
        QVERIFY2(error.startsWith("fork: ") && error.contains(QString::fromStdString(state.string())),
                 qPrintable(error));
        QCOMPARE(runCount(copyWs.path().toStdString()), std::size_t(1));
    }

    void noEpochStatesNoFork()
    {
        Experiment e = forkable();
        e.keepEpochStates = false;
        e.studentTrain.epochs = 2;
        const RunResult r = run(e, ws.path().toStdString() + "/none");
        QVERIFY(forkableEpochs(r.runDir).empty());
        const QString error = forkError({r.runDir, 1, {}, ws.path().toStdString() + "/none"});
        QVERIFY2(error.contains("it kept none: keep_epoch_states was off"), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestFork)
#include "tst_fork.moc"
