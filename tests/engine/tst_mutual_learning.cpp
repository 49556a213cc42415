// Deep Mutual Learning end to end: a run with no teacher's stage, a cohort of
// students trained together, the others' accuracy in the summary, an exact
// resume, and the mutual term as the only thing that sets the student apart
// from the baseline.
#include "distillery/engine.h"
#include "distillery/export.h"
#include "distillery/fork.h"
#include "distillery/methods.h"
#include "testutil.h"

#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace distillery;
using testutil::epochOf;
using testutil::Recorder;

namespace {

Experiment cohortExperiment(int students)
{
    Experiment e = testutil::syntheticExperiment();
    e.distillation.method = "dml";
    e.distillation.temperature = 1;
    e.distillation.params["students"] = students;
    return e;
}

double part(const EpochMetrics &e, const std::string &name)
{
    for (const auto &[n, v] : e.trainParts)
        if (n == name)
            return v;
    return std::nan("");
}

} // namespace

class TestMutualLearning : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void trainsWithoutATeacher()
    {
        QTemporaryDir ws;
        Recorder r;
        Engine engine(cohortExperiment(3), EngineOptions{ws.path().toStdString()});
        const RunResult run = engine.run(r);
        QCOMPARE(run.status, RunStatus::Finished);
        QCOMPARE(r.stages.size(), std::size_t(2));
        QCOMPARE(r.stages[0].kind, StageKind::Baseline);
        QCOMPARE(r.stages[1].kind, StageKind::Distillation);
        QCOMPARE(r.stages[1].index, 1);
        QCOMPARE(r.stages[1].stageCount, 2);
        for (const auto &s : r.steps)
            QVERIFY(s.stage != StageKind::Teacher);
        const StageResult &student = r.results.back();
        QVERIFY2(student.testAccuracy > 0.5, qPrintable(QString::number(student.testAccuracy)));
        QCOMPARE(student.peerTestAccuracy.size(), std::size_t(2));
        for (double a : student.peerTestAccuracy)
            QVERIFY2(a > 0.5, qPrintable(QString::number(a)));
        // The students start from different weights, so they end apart.
        const EpochMetrics *last = epochOf(r, StageKind::Distillation, 3);
        QVERIFY(last);
        QStringList names;
        for (const auto &[n, v] : last->trainParts) {
            names << QString::fromStdString(n);
            QVERIFY(std::isfinite(v) && v >= 0);
        }
        QCOMPARE(names, (QStringList{"mutual", "hard", "peers"}));
        QVERIFY(part(*last, "mutual") > 0);
        // The summary: no teacher's stage, the peers' accuracy with the student's.
        const auto summary =
            QJsonDocument::fromJson(testutil::readFile(QString::fromStdString(run.runDir) + "/summary.json")).object();
        const auto stages = summary["stages"].toObject();
        QVERIFY(!stages.contains("teacher"));
        const auto peers = stages["student"].toObject()["peer_test_accuracy"].toArray();
        QCOMPARE(peers.size(), 2);
        QCOMPARE(peers[0].toDouble(), student.peerTestAccuracy[0]);
        QCOMPARE(summary["teacher"].toObject()["model"].toString(), QString("none"));
        QVERIFY(!QFile::exists(QString::fromStdString(run.runDir) + "/checkpoints/teacher.pt"));
        // The model card tells how the student was trained, with no teacher's row.
        QTemporaryDir out;
        ExportRequest request;
        request.runDir = run.runDir;
        request.outDir = out.path().toStdString();
        request.formats = {"card"};
        QVERIFY(exportRun(request).ok());
        const QString card = QString::fromUtf8(testutil::readFile(out.path() + "/student-model-card.md"));
        QVERIFY2(card.contains("Deep mutual learning (Zhang et al. 2018) with 2 more students"), qPrintable(card));
        QVERIFY(card.contains("students = 3"));
        QVERIFY(!card.contains("\n| Teacher |")); // no row for a teacher in the results
        QVERIFY(!card.contains("knowledge distillation"));
        QVERIFY(card.contains("| Class | Baseline | Student | Gain |"));
    }

    // With β = 0 the others' predictions do not reach the student: it trains
    // exactly as the baseline does (same initial weights, same batches, the
    // same mixup draws: the peers' weights do not use them up).
    void withoutTheMutualTermTheStudentIsTheBaseline()
    {
        QTemporaryDir ws;
        Experiment e = cohortExperiment(2);
        e.distillation.params["beta"] = 0;
        e.studentTrain.mixup = 0.4;
        Recorder r;
        Engine engine(e, EngineOptions{ws.path().toStdString()});
        QCOMPARE(engine.run(r).status, RunStatus::Finished);
        for (int epoch = 1; epoch <= 3; ++epoch) {
            const EpochMetrics *base = epochOf(r, StageKind::Baseline, epoch);
            const EpochMetrics *student = epochOf(r, StageKind::Distillation, epoch);
            QVERIFY(base && student);
            QCOMPARE(student->valAccuracy, base->valAccuracy);
            QCOMPARE(student->valLoss, base->valLoss);
            QVERIFY(std::abs(part(*student, "hard") - base->trainLoss) <= 1e-6 * base->trainLoss);
        }
        // ... and with β = 1 it does not.
        QTemporaryDir ws2;
        Recorder mutual;
        Engine second(cohortExperiment(2), EngineOptions{ws2.path().toStdString()});
        QCOMPARE(second.run(mutual).status, RunStatus::Finished);
        QVERIFY(epochOf(mutual, StageKind::Distillation, 3)->valLoss != epochOf(r, StageKind::Distillation, 3)->valLoss);
    }

    // The other students are checkpointed with the student: a run stopped
    // after its first epoch resumes to the numbers of the uninterrupted one.
    void resumesExactly()
    {
        QTemporaryDir ws;
        Experiment e = cohortExperiment(2);
        e.baseline = false;
        Recorder whole, resumed;
        QCOMPARE(testutil::runExperiment(e, ws.path(), whole).status, RunStatus::Finished);
        const RunResult r = testutil::stopAndResume(e, ws.path(), resumed);
        QCOMPARE(r.status, RunStatus::Stopped);
        QVERIFY(resumed.finished);
        for (int epoch : {2, 3}) {
            const EpochMetrics *a = testutil::studentEpoch(resumed, epoch);
            const EpochMetrics *b = testutil::studentEpoch(whole, epoch);
            QVERIFY(a && b);
            QCOMPARE(a->trainLoss, b->trainLoss);
            QCOMPARE(part(*a, "peers"), part(*b, "peers"));
            QCOMPARE(a->valAccuracy, b->valAccuracy);
        }
        QCOMPARE(resumed.results.back().peerTestAccuracy, whole.results.back().peerTestAccuracy);
        // A fork of the cohort's run (no teacher to copy) continues it.
        ForkRequest fork;
        fork.origin = r.runDir;
        fork.epoch = 1;
        fork.workspace = ws.path().toStdString();
        const std::string forked = prepareFork(fork);
        Recorder continued;
        Engine third(e, EngineOptions{ws.path().toStdString(), forked});
        QCOMPARE(third.run(continued).status, RunStatus::Finished);
        const EpochMetrics *a = epochOf(continued, StageKind::Distillation, 3), *b = epochOf(whole, StageKind::Distillation, 3);
        QVERIFY(a && b);
        QCOMPARE(a->trainLoss, b->trainLoss);
    }

    void badCohortSizes_data()
    {
        QTest::addColumn<double>("students");
        QTest::addColumn<QString>("message");
        QTest::newRow("one") << 1.0 << "distillation.params.students: must be between 2 and 8 (got 1)";
        QTest::newRow("fraction") << 2.5 << "distillation.params.students: is a count: a whole number (got 2.5)";
    }
    void badCohortSizes()
    {
        QFETCH(double, students);
        QFETCH(QString, message);
        QTemporaryDir ws;
        Experiment e = cohortExperiment(2);
        e.distillation.params["students"] = students;
        Recorder r;
        Engine engine(e, EngineOptions{ws.path().toStdString()});
        QCOMPARE(engine.run(r).status, RunStatus::Invalid);
        QCOMPARE(r.errors.size(), std::size_t(1));
        QVERIFY2(QString::fromStdString(r.errors[0]).contains(message), r.errors[0].c_str());
        QVERIFY(!QDir(ws.path() + "/runs").exists() || QDir(ws.path() + "/runs").isEmpty());
        // The cohort's size is fixed for the run: no schedule or change sets it.
        const auto keys = adjustableSettings(e.distillation);
        QVERIFY(std::find(keys.begin(), keys.end(), "students") == keys.end());
        QVERIFY(std::find(keys.begin(), keys.end(), "beta") != keys.end());
    }
};

QTEST_GUILESS_MAIN(TestMutualLearning)
#include "tst_mutual_learning.moc"
