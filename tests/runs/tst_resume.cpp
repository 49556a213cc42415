// Resuming a run (core/src/runs/resume.cpp) on run folders written here: which
// stages count as done, where the next one starts, and what of metrics.jsonl
// is kept. The engine's resume from real checkpoints is checked end to end by
// tests/python/test_reliability.py and the GUI suite.
#include "distillery/runs.h"
#include "runs/resume.h"
#include "support/errors.h"
#include "testutil.h"

#include <QtTest/QtTest>

using namespace distillery;
using namespace distillery::detail;

namespace {

const std::vector<StageKind> kPipeline{StageKind::Teacher, StageKind::Baseline, StageKind::Distillation};

StageInfo stage(StageKind kind)
{
    StageInfo s;
    s.kind = kind;
    s.epochs = 2;
    return s;
}

EpochMetrics epoch(StageKind kind, int n)
{
    EpochMetrics e;
    e.stage = kind;
    e.epoch = n;
    e.epochs = 2;
    e.valAccuracy = 0.5 + 0.1 * n;
    return e;
}

StageResult finished(StageKind kind, const QString &checkpoint)
{
    StageResult r;
    r.kind = kind;
    r.status = RunStatus::Finished;
    r.epochsDone = 2;
    r.checkpoint = checkpoint.toStdString();
    return r;
}

QStringList lines(const QString &path)
{
    QStringList out = QString::fromUtf8(testutil::readFile(path)).split(QLatin1Char('\n'));
    out.removeAll(QString());
    return out;
}

// A run folder whose teacher finished and whose baseline trained one epoch
// before the session ended with an error; the last line was cut by a kill.
struct RunFolder {
    QTemporaryDir tmp;
    QString dir = tmp.path();
    QString metrics = dir + "/metrics.jsonl";

    RunFolder(const QString &status = "failed")
    {
        QDir().mkpath(dir + "/checkpoints");
        testutil::writeFile(dir + "/checkpoints/teacher.pt", "weights");
        RunResult end;
        end.status = RunStatus::Failed;
        const std::vector<std::string> events{
            eventJson(RunStartInfo{}),
            eventJson(stage(StageKind::Teacher)),
            eventJson(epoch(StageKind::Teacher, 1)),
            eventJson(epoch(StageKind::Teacher, 2)),
            eventJson(finished(StageKind::Teacher, dir + "/checkpoints/teacher.pt")),
            eventJson(stage(StageKind::Baseline)),
            eventJson(epoch(StageKind::Baseline, 1)),
            errorEventJson("disk full"),
            eventJson(end),
        };
        QByteArray text;
        for (const auto &e : events)
            text += QByteArray::fromStdString(e) + "\n";
        text += "{\"event\": \"ep"; // cut short
        testutil::writeFile(metrics, text);
        testutil::writeFile(dir + "/summary.json",
                            "{\"status\": \"" + status.toUtf8() + "\", \"seconds\": 12.5, \"started\": \"then\"}");
    }
};

} // namespace

class TestResume : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void theStageAfterTheLastFinishedOneStartsOver()
    {
        RunFolder run;
        const ResumePlan plan = prepareResume(run.dir.toStdString(), kPipeline);
        QVERIFY(plan.active);
        QVERIFY(!plan.allDone);
        QCOMPARE(plan.stage, StageKind::Baseline);
        QCOMPARE(plan.epoch, 0); // no state checkpoint: the baseline starts over
        QVERIFY(plan.finishedStage(StageKind::Teacher));
        QVERIFY(!plan.finishedStage(StageKind::Baseline));
        QCOMPARE(plan.previousSeconds, 12.5);
        QCOMPARE(QString::fromStdString(plan.previousSummary.value("started", std::string())), QString("then"));
        // Kept: up to the baseline's start; its epoch, the ending and the cut line are gone.
        const QStringList kept = lines(run.metrics);
        QCOMPARE(kept.size(), 5);
        QVERIFY2(kept.last().contains("stage_finished"), qPrintable(kept.last()));
        QCOMPARE(int(plan.kept.epochs.size()), 2);
        for (const auto &e : plan.kept.epochs)
            QCOMPARE(e.stage, StageKind::Teacher);
    }

    void aStageWhoseModelIsGoneIsNotDone()
    {
        RunFolder run;
        QFile::remove(run.dir + "/checkpoints/teacher.pt");
        const ResumePlan plan = prepareResume(run.dir.toStdString(), kPipeline);
        QCOMPARE(plan.stage, StageKind::Teacher);
        QVERIFY(plan.finished.empty());
        QCOMPARE(lines(run.metrics).size(), 1); // the run's start only
    }

    void everyStageDoneKeepsAllButTheEnding()
    {
        RunFolder run;
        QByteArray text;
        for (const auto &e : {eventJson(RunStartInfo{}),
                              eventJson(finished(StageKind::Teacher, run.dir + "/checkpoints/teacher.pt")),
                              eventJson(finished(StageKind::Distillation, run.dir + "/checkpoints/teacher.pt")),
                              errorEventJson("killed while writing the summary")})
            text += QByteArray::fromStdString(e) + "\n";
        testutil::writeFile(run.metrics, text);
        const ResumePlan plan = prepareResume(run.dir.toStdString(), {StageKind::Teacher, StageKind::Distillation});
        QVERIFY(plan.allDone);
        QCOMPARE(plan.epoch, 0);
        QCOMPARE(lines(run.metrics).size(), 3);
    }

    void refusals_data()
    {
        QTest::addColumn<QString>("damage");
        QTest::addColumn<QString>("message");
        QTest::newRow("finished") << "finished" << "finished; there is nothing to resume";
        QTest::newRow("no metrics") << "no metrics" << "metrics.jsonl not found (is this a run folder?)";
        QTest::newRow("bad state") << "bad state" << "baseline.state.pt: not a readable checkpoint";
    }
    void refusals()
    {
        QFETCH(QString, damage);
        QFETCH(QString, message);
        RunFolder run(damage == "finished" ? "finished" : "failed");
        if (damage == "no metrics")
            QFile::remove(run.metrics);
        if (damage == "bad state")
            testutil::writeFile(run.dir + "/checkpoints/baseline.state.pt", "not a zip archive");
        const QByteArray before = testutil::readFile(run.metrics);
        try {
            prepareResume(run.dir.toStdString(), kPipeline);
            QFAIL("resumed a folder that cannot be resumed");
        } catch (const InvalidInput &e) {
            QVERIFY2(QString(e.what()).contains(message), e.what());
        }
        QCOMPARE(testutil::readFile(run.metrics), before); // nothing trimmed
    }
};

QTEST_GUILESS_MAIN(TestResume)
#include "tst_resume.moc"
