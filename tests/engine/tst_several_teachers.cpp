// Several teachers end to end on synthetic data: a trained teacher and one
// reused from an earlier run both evaluated and reported, the student
// distilled from their average; one teacher given twice at equal weights
// trains the student exactly as that teacher alone; bad further teachers end
// the run before its folder exists.
#include "distillery/engine.h"
#include "testutil.h"

#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>

using namespace distillery;
using testutil::Recorder;
using testutil::runExperiment;

namespace {

int runFolderCount(const QString &workspace)
{
    return QDir(workspace + "/runs").entryList(QDir::Dirs | QDir::NoDotAndDotDot).size();
}

// The quick synthetic experiment without a baseline, the student for two epochs.
Experiment quick()
{
    Experiment e = testutil::syntheticExperiment();
    e.baseline = false;
    e.studentTrain.epochs = 2;
    return e;
}

TeacherConfig fromRun(const std::string &run, double weight)
{
    TeacherConfig t;
    t.source = "run";
    t.run = run;
    t.weight = weight;
    return t;
}

std::vector<const EpochMetrics *> studentEpochs(const Recorder &rec)
{
    std::vector<const EpochMetrics *> out;
    for (const auto &e : rec.epochs)
        if (e.stage == StageKind::Distillation)
            out.push_back(&e);
    return out;
}

} // namespace

class TestSeveralTeachers : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(ws_.isValid());
        // Two different teachers, each trained in a run of its own.
        Experiment a = quick();
        Recorder ra;
        runA_ = runExperiment(a, ws_.path(), ra);
        QVERIFY2(runA_.status == RunStatus::Finished, runA_.message.c_str());
        aFirstSoft_ = studentEpochs(ra).at(0)->trainParts.at(0).second;
        Experiment b = quick();
        b.teacher.model.hidden = {16};
        b.teacher.train.epochs = 1;
        b.seed = 9;
        Recorder rb;
        runB_ = runExperiment(b, ws_.path(), rb);
        QVERIFY2(runB_.status == RunStatus::Finished, runB_.message.c_str());
    }

    void trainedAndReusedTeachersTeachTogether()
    {
        Experiment e = quick(); // the teacher trained here as in run A
        e.teacher.weight = 1;
        e.teachers = {fromRun(runB_.runDir, 2)};
        Recorder rec;
        const RunResult r = runExperiment(e, ws_.path(), rec);
        QVERIFY2(r.status == RunStatus::Finished, r.message.c_str());
        // The first teacher's stage trained; the further one was evaluated.
        const StageResult *teacher = r.stage(StageKind::Teacher);
        QVERIFY(teacher && teacher->epochsDone == e.teacher.train.epochs);
        QCOMPARE(r.teachers.size(), std::size_t(2));
        QCOMPARE(r.teachers[0].testAccuracy, teacher->testAccuracy);
        QCOMPARE(r.teachers[0].weight, 1.0 / 3.0);
        QCOMPARE(r.teachers[1].weight, 2.0 / 3.0);
        QCOMPARE(r.teachers[1].model, std::string("mlp-16"));
        const double bTest = runB_.stage(StageKind::Teacher)->testAccuracy;
        QVERIFY2(std::abs(r.teachers[1].testAccuracy - bTest) < 1e-9,
                 qPrintable(QString("%1 vs %2").arg(r.teachers[1].testAccuracy).arg(bTest)));
        // The student trained, with both parts reported ...
        const StageResult *student = r.stage(StageKind::Distillation);
        QVERIFY(student && student->epochsDone == e.studentTrain.epochs);
        QVERIFY2(student->testAccuracy > 0.6, qPrintable(QString::number(student->testAccuracy)));
        const auto epochs = studentEpochs(rec);
        QCOMPARE(epochs.size(), std::size_t(2));
        QCOMPARE(epochs[0]->trainParts.size(), std::size_t(2));
        QCOMPARE(epochs[0]->trainParts[0].first, std::string("soft"));
        // Both teachers' logits were computed once, for the whole split.
        const auto started = std::find_if(rec.stages.begin(), rec.stages.end(),
                                          [](const StageInfo &i) { return i.kind == StageKind::Distillation; });
        QVERIFY(started != rec.stages.end());
        QCOMPARE(started->teacherCache, std::string("exact"));
        // ... and learnt from both teachers: not what run A's student (the
        // same first teacher and seed, alone) learnt.
        QVERIFY(epochs[0]->trainParts[0].second != aFirstSoft_);
        // Every teacher in summary.json and in config.json.
        QFile f(QString::fromStdString(r.runDir) + "/summary.json");
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonArray teachers = QJsonDocument::fromJson(f.readAll()).object()["teachers"].toArray();
        QCOMPARE(teachers.size(), 2);
        QCOMPARE(teachers[1].toObject()["weight"].toDouble(), 2.0 / 3.0);
        const Experiment written = loadExperiment(r.runDir + "/config.json");
        QCOMPARE(written.teachers.size(), std::size_t(1));
        QCOMPARE(written.teachers[0].run, runB_.runDir);
        QCOMPARE(written.teachers[0].weight, 2.0);
    }

    void oneTeacherTwiceIsThatTeacherAlone()
    {
        Experiment alone = quick();
        alone.teacher = fromRun(runA_.runDir, 1);
        Experiment twice = alone;
        twice.teachers = {fromRun(runA_.runDir, 1)};
        Recorder ra, rb;
        const RunResult a = runExperiment(alone, ws_.path(), ra);
        const RunResult b = runExperiment(twice, ws_.path(), rb);
        QVERIFY2(a.status == RunStatus::Finished, a.message.c_str());
        QVERIFY2(b.status == RunStatus::Finished, b.message.c_str());
        QCOMPARE(b.teachers.size(), std::size_t(2));
        const auto ea = studentEpochs(ra), eb = studentEpochs(rb);
        QCOMPARE(ea.size(), eb.size());
        for (std::size_t i = 0; i < ea.size(); ++i) {
            QCOMPARE(eb[i]->trainLoss, ea[i]->trainLoss);
            QCOMPARE(eb[i]->trainParts, ea[i]->trainParts);
            QCOMPARE(eb[i]->valAccuracy, ea[i]->valAccuracy);
            QCOMPARE(eb[i]->testLoss, ea[i]->testLoss);
        }
        QCOMPARE(b.stage(StageKind::Distillation)->testAccuracy, a.stage(StageKind::Distillation)->testAccuracy);
        // Unequal weights are another target, so other numbers.
        twice.teachers[0] = fromRun(runB_.runDir, 1);
        Recorder rc;
        runExperiment(twice, ws_.path(), rc);
        QVERIFY(studentEpochs(rc)[0]->trainLoss != ea[0]->trainLoss);
    }

    void badFurtherTeachersMakeNoRunFolder_data()
    {
        QTest::addColumn<QString>("what");
        QTest::addColumn<QString>("expected");
        QTest::newRow("missing run") << "run" << "teachers[0].run: ";
        QTest::newRow("missing file") << "torchscript" << "teachers[0].path: ";
        QTest::newRow("feature method") << "at" << "distillation.method: several teachers";
        QTest::newRow("negative weight") << "weight" << "teachers[0].weight: must be >= 0";
    }
    void badFurtherTeachersMakeNoRunFolder()
    {
        QFETCH(QString, what);
        QFETCH(QString, expected);
        QTemporaryDir ws;
        Experiment e = quick();
        e.teachers = {fromRun(ws.path().toStdString() + "/runs/missing", 1)};
        if (what == "torchscript") {
            e.teachers[0].source = "torchscript";
            e.teachers[0].path = ws.path().toStdString() + "/missing.pt";
        } else if (what == "at") {
            e.distillation.method = "at";
        } else if (what == "weight") {
            e.teachers[0].weight = -1;
        }
        Recorder rec;
        const RunResult r = runExperiment(e, ws.path(), rec);
        QCOMPARE(r.status, RunStatus::Invalid);
        QVERIFY2(QString::fromStdString(r.message).contains(expected), r.message.c_str());
        QCOMPARE(rec.errors.size(), std::size_t(1));
        QVERIFY(r.runDir.empty());
        QCOMPARE(runFolderCount(ws.path()), 0);
    }

private:
    QTemporaryDir ws_;
    RunResult runA_, runB_;
    double aFirstSoft_ = 0;
};

QTEST_GUILESS_MAIN(TestSeveralTeachers)
#include "tst_several_teachers.moc"
