// The engine end to end on synthetic data: accuracy, determinism, the run
// folder, pause/resume/stop from another thread, teacher reuse, bad input.
#include "distillery/engine.h"
#include "distillery/runs.h"
#include "testutil.h"

#include <QtTest/QtTest>

#include <QJsonDocument>
#include <QJsonObject>

#include <thread>

using namespace distillery;
using testutil::Recorder;
using testutil::runExperiment;
using testutil::studentEpoch;

namespace {

QJsonObject readJson(const QString &path)
{
    return QJsonDocument::fromJson(testutil::readFile(path)).object();
}

int runFolderCount(const QString &workspace)
{
    return QDir(workspace + "/runs").entryList(QDir::Dirs | QDir::NoDotAndDotDot).size();
}

// Small synthetic images, a convolutional teacher (cnn-small, one epoch), the
// MLP student for two epochs.
Experiment imageExperiment()
{
    Experiment e = testutil::syntheticExperiment();
    e.data.source = "synthetic-images";
    e.data.syntheticFeatures = 10;
    e.teacher.model = ModelSpec{};
    e.teacher.model.preset = "cnn-small";
    e.teacher.train.epochs = 1;
    e.studentTrain.epochs = 2;
    return e;
}

// Two convolutional models: both have pool1 and pool2.
Experiment convPair()
{
    Experiment e = testutil::convPairExperiment();
    e.teacher.train.epochs = 2;
    e.studentTrain.epochs = 2;
    return e;
}

// Changes T to 2 at the student's first step report of its second epoch,
// and (when `stopAt` > 0) stops at that report of the same epoch.
struct ChangeT : Recorder {
    Engine *engine = nullptr;
    int stopAt = 0;
    int reports = 0;
    std::vector<SettingChange> changes;
    void stepReported(const StepMetrics &m) override
    {
        Recorder::stepReported(m);
        if (m.stage != StageKind::Distillation || m.epoch != 2)
            return;
        ++reports;
        if (reports == 1)
            QCOMPARE(engine->requestSettingChange("temperature", 2.0), std::string());
        if (reports == stopAt)
            engine->requestStop();
    }
    void settingChanged(const SettingChange &c) override { changes.push_back(c); }
};

} // namespace

class TestEngine : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void learnsSyntheticDataQuickly()
    {
        QTemporaryDir ws;
        Recorder rec;
        QElapsedTimer timer;
        timer.start();
        const RunResult r = runExperiment(testutil::syntheticExperiment(), ws.path(), rec);
        QVERIFY2(r.status == RunStatus::Finished, r.message.c_str());
        QVERIFY(timer.elapsed() < 30000);
        QCOMPARE(r.stages.size(), std::size_t(3));
        const StageResult *teacher = r.stage(StageKind::Teacher);
        const StageResult *baseline = r.stage(StageKind::Baseline);
        const StageResult *student = r.stage(StageKind::Distillation);
        QVERIFY(teacher && baseline && student);
        QVERIFY2(teacher->testAccuracy > 0.9, qPrintable(QString::number(teacher->testAccuracy)));
        QVERIFY(baseline->testAccuracy > 0.6);
        QVERIFY(student->testAccuracy > 0.6);
        QCOMPARE(teacher->parameters, r.teacherParameters);
        QCOMPARE(student->parameters, r.studentParameters);

        // Stages, epochs and steps reported in order; KD reports its two parts.
        QCOMPARE(rec.stages.size(), std::size_t(3));
        QCOMPARE(rec.epochs.size(), std::size_t(9));
        QVERIFY(rec.finished);
        bool sawKdParts = false;
        for (const auto &s : rec.steps) {
            QVERIFY(std::isfinite(s.loss));
            if (s.stage == StageKind::Distillation) {
                QCOMPARE(s.parts.size(), std::size_t(2));
                QCOMPARE(s.parts[0].first, std::string("soft"));
                QCOMPARE(s.parts[1].first, std::string("hard"));
                const double alpha = 0.5;
                // The total is the alpha-weighted sum of the parts.
                QVERIFY(std::abs(s.loss - (alpha * s.parts[0].second + (1 - alpha) * s.parts[1].second)) < 1e-4);
                sawKdParts = true;
            }
        }
        QVERIFY(sawKdParts);

        // The run folder.
        const QString dir = QString::fromStdString(r.runDir);
        QVERIFY(dir.startsWith(ws.path() + "/runs/"));
        const Experiment saved = loadExperiment((dir + "/config.json").toStdString());
        QVERIFY(!saved.student.layers.empty()); // resolved: the exact layers
        const QJsonObject summary = readJson(dir + "/summary.json");
        QCOMPARE(summary["status"].toString(), QString("finished"));
        QCOMPARE(summary["stages"].toObject()["student"].toObject()["test_accuracy"].toDouble(), student->testAccuracy);
        QCOMPARE(summary["teacher"].toObject()["parameters"].toInteger(), r.teacherParameters);
        for (const char *ckpt : {"teacher.pt", "baseline.pt", "student.pt"})
            QVERIFY(QFile::exists(dir + "/checkpoints/" + ckpt));
        const RunMetrics m = readRunMetrics(r.runDir);
        QCOMPARE(m.epochs.size(), std::size_t(9));
        QCOMPARE(m.steps.size(), rec.steps.size());
        QCOMPARE(m.epochs.back().testAccuracy, rec.epochs.back().testAccuracy);

        const auto runs = listRuns(ws.path().toStdString());
        QCOMPARE(runs.size(), std::size_t(1));
        QCOMPARE(runs[0].status, RunStatus::Finished);
        QCOMPARE(runs[0].studentTestAccuracy, student->testAccuracy);
        QCOMPARE(runs[0].temperature, 4.0);
        QVERIFY(runs[0].compression() > 5);
    }

    void threadsSplitPerStage()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 1;
        e.threads = 2;
        Recorder rec;
        runExperiment(e, ws.path(), rec);
        QCOMPARE(rec.stages.size(), std::size_t(3));
        for (const auto &s : rec.stages) {
            // MLPs: with linear layers through oneDNN, LibTorch's threads get the
            // cores and OpenBLAS one; otherwise OpenBLAS gets the cores and
            // LibTorch one thread (0: the BLAS is not OpenBLAS).
            const bool onednn = oneDnnLinearLayers();
            QCOMPARE(s.torchThreads, onednn ? 2 : 1);
            QVERIFY2(s.blasThreads == (onednn ? 1 : 2) || s.blasThreads == 0, qPrintable(QString::number(s.blasThreads)));
        }
        e.blasThreads = 2; // fixed by the experiment
        Recorder fixed;
        runExperiment(e, ws.path(), fixed);
        for (const auto &s : fixed.stages)
            QVERIFY(s.blasThreads == 2 || s.blasThreads == 0);
    }

    void sameSeedSameNumbers()
    {
        QTemporaryDir ws;
        Experiment e = imageExperiment();
        Recorder a, b;
        runExperiment(e, ws.path(), a);
        runExperiment(e, ws.path(), b);
        QCOMPARE(a.epochs.size(), b.epochs.size());
        for (std::size_t i = 0; i < a.epochs.size(); ++i) {
            QCOMPARE(a.epochs[i].trainLoss, b.epochs[i].trainLoss);
            QCOMPARE(a.epochs[i].valAccuracy, b.epochs[i].valAccuracy);
            QCOMPARE(a.epochs[i].testLoss, b.epochs[i].testLoss);
        }
        QCOMPARE(a.steps.size(), b.steps.size());
        for (std::size_t i = 0; i < a.steps.size(); ++i)
            QCOMPARE(a.steps[i].loss, b.steps[i].loss);
        // A different seed gives different numbers.
        e.seed = 4;
        Recorder c;
        runExperiment(e, ws.path(), c);
        QVERIFY(c.epochs[0].trainLoss != a.epochs[0].trainLoss);
    }

    // bfloat16 autocast on the CPU: the run learns, its numbers are its own
    // (so autocast was on), and the same seed still repeats them.
    void mixedPrecisionTrains()
    {
        QTemporaryDir ws;
        Experiment e = imageExperiment();
        e.teacher.train.epochs = 2;
        e.baseline = false;
        Recorder full, mixed, again;
        runExperiment(e, ws.path(), full);
        e.precision = "bf16";
        runExperiment(e, ws.path(), mixed);
        runExperiment(e, ws.path(), again);
        QVERIFY(mixed.finished);
        QCOMPARE(mixed.results.size(), full.results.size());
        for (std::size_t i = 0; i < mixed.results.size(); ++i) {
            QVERIFY(mixed.results[i].status == RunStatus::Finished);
            // Well above chance (4 classes), and near the float32 run.
            QVERIFY2(mixed.results[i].testAccuracy > 0.5, qPrintable(QString::number(mixed.results[i].testAccuracy)));
            QVERIFY(std::abs(mixed.results[i].testAccuracy - full.results[i].testAccuracy) < 0.1);
        }
        QVERIFY(mixed.epochs[0].trainLoss != full.epochs[0].trainLoss);
        for (std::size_t i = 0; i < mixed.epochs.size(); ++i) {
            QVERIFY(std::isfinite(mixed.epochs[i].trainLoss));
            QCOMPARE(again.epochs[i].trainLoss, mixed.epochs[i].trainLoss);
        }
    }

    void teacherCacheMatchesOnlineTeacher()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 1;
        e.baseline = false;
        Recorder cached, online;
        runExperiment(e, ws.path(), cached);
        e.distillation.teacherCache = false;
        runExperiment(e, ws.path(), online);
        QCOMPARE(cached.steps.size(), online.steps.size());
        for (std::size_t i = 0; i < cached.steps.size(); ++i)
            QVERIFY(std::abs(cached.steps[i].loss - online.steps[i].loss) < 1e-4 * std::max(1.0, cached.steps[i].loss));
    }

    // The students' augmentation: seeded (the same seed repeats the run), it
    // changes what they learn from, and the teacher's outputs are cached only
    // as teacherCacheChoice says, which each distillation stage records.
    void augmentationIsSeededAndDecidesTheCache()
    {
        QTemporaryDir ws;
        Experiment e = imageExperiment();
        e.studentTrain.epochs = 1;
        Recorder plain;
        runExperiment(e, ws.path(), plain);
        e.studentTrain.crop = 2;
        e.studentTrain.flip = true;
        e.studentTrain.erase = 0.25;
        e.studentTrain.mixup = 0.2;
        e.studentTrain.cutmix = 1.0;
        e.teacher.train.flip = true;
        Recorder a, b;
        runExperiment(e, ws.path(), a);
        runExperiment(e, ws.path(), b);
        QVERIFY(a.finished && b.finished);
        QCOMPARE(a.steps.size(), b.steps.size());
        for (std::size_t i = 0; i < a.steps.size(); ++i)
            QCOMPARE(a.steps[i].loss, b.steps[i].loss);
        QVERIFY(a.epochs.back().trainLoss != plain.epochs.back().trainLoss);
        for (const auto &epoch : a.epochs)
            QVERIFY(std::isfinite(epoch.trainLoss)); // mixed batches train against class probabilities

        auto cacheOf = [](const Recorder &r) {
            for (const auto &s : r.stages)
                if (s.kind == StageKind::Distillation)
                    return s.teacherCache;
            return std::string("no distillation stage");
        };
        QCOMPARE(cacheOf(plain), std::string("exact"));
        QCOMPARE(cacheOf(a), std::string("off"));
        for (const auto &s : a.stages)
            if (s.kind != StageKind::Distillation)
                QVERIFY(s.teacherCache.empty()); // no teacher outputs in the other stages
        e.distillation.approximateCache = true;
        Recorder approximate;
        runExperiment(e, ws.path(), approximate);
        QCOMPARE(cacheOf(approximate), std::string("approximate"));
        // The run folders say so too: one run of the four was approximate.
        int approximateRuns = 0;
        for (const QString &run : QDir(ws.path() + "/runs").entryList(QDir::Dirs | QDir::NoDotAndDotDot))
            approximateRuns +=
                testutil::readFile(ws.path() + "/runs/" + run + "/metrics.jsonl").contains(R"("teacher_cache":"approximate")");
        QCOMPARE(approximateRuns, 1);
    }

    // Every method trains a student end to end and reports its own loss parts.
    void everyMethodTrains_data()
    {
        QTest::addColumn<QString>("method");
        QTest::addColumn<QStringList>("parts");
        QTest::newRow("kd") << "kd" << QStringList{"soft", "hard"};
        QTest::newRow("dkd") << "dkd" << QStringList{"tckd", "nckd", "hard"};
        QTest::newRow("dist") << "dist" << QStringList{"inter", "intra", "hard"};
        // Feature methods: conv pairs on images for those that match maps,
        // the MLPs' embeddings for the relational ones.
        QTest::newRow("fitnet") << "fitnet" << QStringList{"hint", "hard"};
        QTest::newRow("at") << "at" << QStringList{"attention", "hard"};
        QTest::newRow("sp") << "sp" << QStringList{"similarity", "hard"};
        QTest::newRow("rkd") << "rkd" << QStringList{"distance", "angle", "hard"};
        QTest::newRow("pkt") << "pkt" << QStringList{"pkt", "hard"};
        QTest::newRow("crd") << "crd" << QStringList{"contrast", "hard"};
    }
    void everyMethodTrains()
    {
        QFETCH(QString, method);
        QFETCH(QStringList, parts);
        QTemporaryDir ws;
        const bool maps = method == "fitnet" || method == "at" || method == "sp";
        Experiment e = maps ? convPair() : testutil::syntheticExperiment();
        e.baseline = false;
        e.distillation.method = method.toStdString();
        e.distillation.params.clear();
        if (method == "dkd")
            e.distillation.params["warmup"] = 2; // the ramp reaches 1 within the run
        // The reference's weights (FitNets 100, AT 1000) are tuned for CIFAR
        // ResNets; on these 10×10 images they drown the labels in two epochs.
        if (method == "fitnet")
            e.distillation.params["beta"] = 10;
        if (method == "at")
            e.distillation.params["beta"] = 50;
        if (method == "crd")
            e.distillation.params["nce_k"] = 256; // 16384 negatives of 128 floats per example: too much here
        if (maps)
            e.studentTrain.epochs = 3;
        Recorder r;
        runExperiment(e, ws.path(), r);
        QVERIFY(r.finished);
        QCOMPARE(r.results.size(), std::size_t(2));
        QCOMPARE(r.results.back().status, RunStatus::Finished);
        QVERIFY2(r.results.back().testAccuracy > 0.5, qPrintable(QString::number(r.results.back().testAccuracy)));
        QStringList reported;
        for (const auto &step : r.steps)
            if (step.stage == StageKind::Distillation) {
                for (const auto &[name, value] : step.parts) {
                    QVERIFY(std::isfinite(value));
                    if (!reported.contains(QString::fromStdString(name)))
                        reported << QString::fromStdString(name);
                }
                break;
            }
        QCOMPARE(reported, parts);
    }

    void pauseResumeStopFromAnotherThread()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.logEverySteps = 1;
        e.teacher.train.epochs = 200; // far longer than the test waits
        Recorder rec;
        Engine engine(e, EngineOptions{ws.path().toStdString()});
        RunResult result;
        std::thread worker([&] { result = engine.run(rec); });

        QTRY_VERIFY_WITH_TIMEOUT(rec.stepCount() > 3, 20000);
        engine.requestPause();
        QVERIFY(engine.pauseRequested());
        QTRY_COMPARE_WITH_TIMEOUT(rec.pauseEvents(), std::vector<bool>{true}, 5000);
        const std::size_t frozen = rec.stepCount();
        QTest::qWait(300);
        QCOMPARE(rec.stepCount(), frozen); // no steps while paused
        engine.requestResume();
        QTRY_VERIFY_WITH_TIMEOUT(rec.stepCount() > frozen + 2, 10000);
        QCOMPARE(rec.pauseEvents(), (std::vector<bool>{true, false}));
        engine.requestStop();
        worker.join();

        QCOMPARE(result.status, RunStatus::Stopped);
        QCOMPARE(result.stages.size(), std::size_t(1)); // no stage after the stopped one
        QCOMPARE(result.stages[0].status, RunStatus::Stopped);
        const QJsonObject summary = readJson(QString::fromStdString(result.runDir) + "/summary.json");
        QCOMPARE(summary["status"].toString(), QString("stopped"));
        QCOMPARE(readRunInfo(result.runDir).status, RunStatus::Stopped);
    }

    void stopWhilePausedEndsTheRun()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.logEverySteps = 1;
        e.teacher.train.epochs = 200;
        Recorder rec;
        Engine engine(e, EngineOptions{ws.path().toStdString()});
        RunResult result;
        std::thread worker([&] { result = engine.run(rec); });
        QTRY_VERIFY_WITH_TIMEOUT(rec.stepCount() > 0, 20000);
        engine.requestPause();
        QTRY_COMPARE_WITH_TIMEOUT(rec.pauseEvents().size(), std::size_t(1), 5000);
        engine.requestStop();
        worker.join();
        QCOMPARE(result.status, RunStatus::Stopped);
    }

    void reusesTeacherOfEarlierRun()
    {
        QTemporaryDir ws;
        Recorder first;
        Experiment e = testutil::syntheticExperiment();
        e.studentTrain.epochs = 1;
        const RunResult r1 = runExperiment(e, ws.path(), first);
        QCOMPARE(r1.status, RunStatus::Finished);

        Experiment reuse = e;
        reuse.teacher.source = "run";
        reuse.teacher.run = r1.runDir;
        reuse.teacher.model = ModelSpec{}; // comes from the earlier run
        Recorder second;
        const RunResult r2 = runExperiment(reuse, ws.path(), second);
        QVERIFY2(r2.status == RunStatus::Finished, r2.message.c_str());
        QVERIFY(second.stages[0].reused);
        // The same teacher on the same data: the same test accuracy, and the
        // students (same seed) learn the same.
        QCOMPARE(r2.stage(StageKind::Teacher)->testAccuracy, r1.stage(StageKind::Teacher)->testAccuracy);
        QCOMPARE(r2.stage(StageKind::Distillation)->testAccuracy, r1.stage(StageKind::Distillation)->testAccuracy);

        reuse.teacher.run = ws.path().toStdString() + "/runs/missing";
        Recorder third;
        const RunResult r3 = runExperiment(reuse, ws.path(), third);
        QCOMPARE(r3.status, RunStatus::Invalid);
        QVERIFY2(r3.message.find("teacher.run") != std::string::npos, r3.message.c_str());
    }

    // A FitNets regressor is trained with the student and checkpointed with
    // it: a run stopped after the student's first epoch resumes to the numbers
    // of the uninterrupted run.
    void featureMethodResumesExactly()
    {
        QTemporaryDir ws;
        Experiment e = convPair();
        e.baseline = false;
        e.distillation.method = "fitnet";
        e.studentTrain.epochs = 2;
        Recorder whole, resumed;
        runExperiment(e, ws.path(), whole);
        QVERIFY(whole.finished);
        QCOMPARE(testutil::stopAndResume(e, ws.path(), resumed).status, RunStatus::Stopped);
        QVERIFY(resumed.finished);
        const EpochMetrics *a = studentEpoch(resumed, 2), *b = studentEpoch(whole, 2);
        QVERIFY(a && b);
        QCOMPARE(a->trainLoss, b->trainLoss);
        QCOMPARE(a->valAccuracy, b->valAccuracy);
        QCOMPARE(a->trainParts.at(0).second, b->trainParts.at(0).second); // the hint
    }

    // CRD's memories of the training rows and its normalising constants are
    // checkpointed with its embeddings, and its negatives come from the
    // stage's generator: a stopped run resumes to the uninterrupted numbers.
    void contrastiveMemoryResumesExactly()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.baseline = false;
        e.distillation.method = "crd";
        e.distillation.params["nce_k"] = 128;
        e.distillation.params["feat_dim"] = 16;
        Recorder whole, resumed;
        runExperiment(e, ws.path(), whole);
        QVERIFY(whole.finished);
        QCOMPARE(testutil::stopAndResume(e, ws.path(), resumed).status, RunStatus::Stopped);
        QVERIFY(resumed.finished);
        for (int epoch : {2, 3}) {
            const EpochMetrics *a = studentEpoch(resumed, epoch), *b = studentEpoch(whole, epoch);
            QVERIFY(a && b);
            QCOMPARE(a->trainLoss, b->trainLoss);
            QCOMPARE(a->trainParts.at(0).second, b->trainParts.at(0).second); // the contrastive term
            QCOMPARE(a->valAccuracy, b->valAccuracy);
        }
    }

    // CRD contrasts each example with rows of other classes: a transfer set
    // of one class is refused before anything trains, with no run folder.
    void contrastNeedsTwoClasses()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.distillation.method = "crd";
        e.distillation.params["nce_k"] = 16;
        e.data.omitClasses = {1, 2, 3};
        Recorder r;
        const RunResult result = runExperiment(e, ws.path(), r);
        QCOMPARE(result.status, RunStatus::Invalid);
        QVERIFY2(result.message.find("distillation.method: crd") != std::string::npos &&
                     result.message.find("all of one class") != std::string::npos,
                 result.message.c_str());
        QVERIFY(r.stages.empty());
        QVERIFY(QDir(ws.path() + "/runs").entryList(QDir::Dirs | QDir::NoDotAndDotDot).isEmpty());
    }

    // A schedule sets T at each step: a step from 4 to 2 at epoch 1 trains the
    // first epoch as T = 4 does and the second as a change of T to 2 made
    // between them does; a constant schedule is the fixed value.
    void temperatureFollowsItsSchedule()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.baseline = false;
        e.studentTrain.epochs = 2;
        e.distillation.temperature = 4;
        Recorder fixed, constant, stepped;
        runExperiment(e, ws.path(), fixed);
        Experiment c = e;
        c.distillation.schedules["temperature"] = ValueSchedule{"constant", 4.0, 1.0, 0.0, 0.0};
        runExperiment(c, ws.path(), constant);
        Experiment s = e;
        s.distillation.schedules["temperature"] = ValueSchedule{"step", 4.0, 2.0, 1.0, 0.0};
        runExperiment(s, ws.path(), stepped);
        QCOMPARE(studentEpoch(constant, 2)->trainLoss, studentEpoch(fixed, 2)->trainLoss);
        QCOMPARE(studentEpoch(stepped, 1)->trainLoss, studentEpoch(fixed, 1)->trainLoss);
        QVERIFY(studentEpoch(stepped, 2)->trainLoss != studentEpoch(fixed, 2)->trainLoss);
    }

    // T changed while the student trains: in force from the next step,
    // recorded and reported; the same numbers as a step schedule switching
    // there; and a run stopped after the change, whose checkpoint is before
    // it, resumes to the uninterrupted numbers, the change made again at its step.
    void settingChangedWhileTrainingSurvivesResume()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.baseline = false;
        e.logEverySteps = 4;
        e.studentTrain.epochs = 3;
        ChangeT whole;
        Engine engine(e, EngineOptions{ws.path().toStdString()});
        whole.engine = &engine;
        const RunResult r = engine.run(whole);
        QCOMPARE(r.status, RunStatus::Finished);
        QCOMPARE(whole.changes.size(), std::size_t(1));
        const std::int64_t stepsPerEpoch = whole.stages.back().stepsPerEpoch;
        QCOMPARE(whole.changes[0].step, stepsPerEpoch + 4); // after the report at step 4 of epoch 2
        QCOMPARE(whole.changes[0].key, std::string("temperature"));
        QCOMPARE(readRunMetrics(r.runDir).changes.size(), std::size_t(1));
        QVERIFY(QString::fromStdString(testutil::readFile(QString::fromStdString(r.runDir) + "/metrics.jsonl").toStdString())
                    .contains(R"("event":"setting")"));
        // The same as a schedule that steps there.
        Experiment s = e;
        s.distillation.schedules["temperature"] =
            ValueSchedule{"step", e.distillation.temperature, 2.0, 1.0 + 4.0 / double(stepsPerEpoch), 0.0};
        Recorder stepped;
        runExperiment(s, ws.path(), stepped);
        QCOMPARE(studentEpoch(stepped, 3)->trainLoss, studentEpoch(whole, 3)->trainLoss);
        // Stopped at the third report of epoch 2: the last checkpoint is epoch 1's.
        ChangeT first;
        first.stopAt = 3;
        Engine interrupted(e, EngineOptions{ws.path().toStdString()});
        first.engine = &interrupted;
        const RunResult stopped = interrupted.run(first);
        QCOMPARE(stopped.status, RunStatus::Stopped);
        Recorder resumed;
        const RunResult again = Engine(e, EngineOptions{ws.path().toStdString(), stopped.runDir}).run(resumed);
        QCOMPARE(again.status, RunStatus::Finished);
        QCOMPARE(studentEpoch(resumed, 3)->trainLoss, studentEpoch(whole, 3)->trainLoss);
        QCOMPARE(studentEpoch(resumed, 3)->valAccuracy, studentEpoch(whole, 3)->valAccuracy);
        const auto changes = readRunMetrics(stopped.runDir).changes;
        QCOMPARE(changes.size(), std::size_t(1)); // made again once, not twice
        QCOMPARE(changes[0].step, whole.changes[0].step);
        // A change the method cannot take is refused where it is asked for.
        Engine idle(e, EngineOptions{ws.path().toStdString()});
        QVERIFY(idle.requestSettingChange("alpha", 3).find("alpha: must be in [0, 1]") == 0);
        QVERIFY(idle.requestSettingChange("beta", 1).find("no setting 'beta'") != std::string::npos);
    }

    // A frozen teacher's features are computed once when they fit
    // feature_cache_mb, and the student then learns what it learns from the
    // teacher run on every batch (up to the rounding of other batch sizes).
    void teacherFeaturesAreCachedWhenTheyFit()
    {
        QTemporaryDir ws;
        Experiment e = convPair();
        e.baseline = false;
        e.distillation.method = "at";
        e.distillation.params["beta"] = 50;
        Recorder cached, perBatch;
        runExperiment(e, ws.path(), cached);
        e.distillation.featureCacheMb = 0;
        runExperiment(e, ws.path(), perBatch);
        QCOMPARE(cached.stages.back().teacherCache, std::string("exact"));
        QCOMPARE(perBatch.stages.back().teacherCache, std::string("off"));
        const double a = studentEpoch(cached, 1)->trainLoss, b = studentEpoch(perBatch, 1)->trainLoss;
        QVERIFY2(std::abs(a - b) <= 1e-4 * std::abs(b), qPrintable(QString("%1 vs %2").arg(a).arg(b)));
    }

    // Pairs that cannot work are refused before anything is written.
    void badPairsMakeNoRunFolder_data()
    {
        QTest::addColumn<QString>("method");
        QTest::addColumn<QString>("teacherTap");
        QTest::addColumn<QString>("studentTap");
        QTest::addColumn<QString>("expected");
        QTest::newRow("no such tap") << "at" << "pool1" << "pool9"
                                     << "distillation.pairs[0].student: the student has no tap 'pool9'";
        QTest::newRow("maps for AT") << "at" << "embedding" << "embedding"
                                     << "distillation.pairs[0]: teacher tap 'embedding' (64) and student tap";
        QTest::newRow("FitNets sizes") << "fitnet" << "pool1" << "pool2"
                                       << "the maps' height and width must be equal";
        QTest::newRow("AT on MLPs") << "at" << "" << "" << "no stage or pooling taps in common";
    }
    void badPairsMakeNoRunFolder()
    {
        QFETCH(QString, method);
        QFETCH(QString, teacherTap);
        QFETCH(QString, studentTap);
        QFETCH(QString, expected);
        QTemporaryDir ws;
        Experiment e = teacherTap.isEmpty() ? testutil::syntheticExperiment() : convPair();
        e.distillation.method = method.toStdString();
        if (!teacherTap.isEmpty())
            e.distillation.pairs = {{teacherTap.toStdString(), studentTap.toStdString()}};
        Recorder rec;
        const RunResult r = runExperiment(e, ws.path(), rec);
        QCOMPARE(r.status, RunStatus::Invalid);
        QVERIFY2(QString::fromStdString(r.message).contains(expected), r.message.c_str());
        QCOMPARE(runFolderCount(ws.path()), 0);
    }

    void badInputMakesNoRunFolder_data()
    {
        QTest::addColumn<QString>("override");
        QTest::addColumn<QString>("expected");
        QTest::newRow("student misfit") << "student" << "student.model: layer 2 (conv2d)";
        QTest::newRow("teacher misfit") << "teacher" << "teacher.model: layer 1 (conv2d)";
        QTest::newRow("missing data") << "data" << "data folder not found";
        QTest::newRow("bad preset") << "preset" << "did you mean 'mlp'";
    }
    void badInputMakesNoRunFolder()
    {
        QFETCH(QString, override);
        QFETCH(QString, expected);
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        if (override == "student") {
            LayerSpec lin;
            lin.type = "linear";
            lin.out = 4;
            LayerSpec conv;
            conv.type = "conv2d";
            conv.out = 4;
            e.student.layers = {lin, conv};
        } else if (override == "teacher") {
            e.teacher.model.preset = "lenet5"; // images only; the data are vectors
        } else if (override == "data") {
            e.data.source = "idx";
            e.data.path = "/nonexistent/data";
        } else {
            e.student.preset = "mpl";
        }
        Recorder rec;
        const RunResult r = runExperiment(e, ws.path(), rec);
        QCOMPARE(r.status, RunStatus::Invalid);
        QVERIFY2(QString::fromStdString(r.message).contains(expected), r.message.c_str());
        QCOMPARE(rec.errors.size(), std::size_t(1));
        QVERIFY(r.runDir.empty());
        QCOMPARE(runFolderCount(ws.path()), 0);
    }

    void unwritableWorkspace()
    {
        QTemporaryDir ws;
        testutil::writeFile(ws.path() + "/file", "x");
        Recorder rec;
        const RunResult r = runExperiment(testutil::syntheticExperiment(), ws.path() + "/file", rec);
        QCOMPARE(r.status, RunStatus::Invalid);
        QVERIFY2(r.message.rfind("workspace:", 0) == 0, r.message.c_str());
    }

    void divergenceStopsWithAClearMessage()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.teacher.train.lr = 1e30; // explodes at once
        e.teacher.train.weightDecay = 0;
        e.teacher.train.optimizer = "sgd";
        e.teacher.train.nesterov = false;
        e.teacher.train.momentum = 0;
        Recorder rec;
        const RunResult r = runExperiment(e, ws.path(), rec);
        QCOMPARE(r.status, RunStatus::Failed);
        QVERIFY2(r.message.find("teacher stage, epoch 1") != std::string::npos, r.message.c_str());
        QVERIFY(r.message.find("learning rate") != std::string::npos);
        QCOMPARE(readRunInfo(r.runDir).status, RunStatus::Failed);
    }
};

QTEST_GUILESS_MAIN(TestEngine)
#include "tst_engine.moc"
