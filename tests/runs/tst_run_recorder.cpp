// The run recorder (core/src/runs/run_recorder.cpp): each event reaches the
// observer and metrics.jsonl, as the runs panel reads it back; summary.json
// follows the result; nothing is written before the folder is open.
#include "distillery/runs.h"
#include "runs/run_recorder.h"
#include "support/errors.h"
#include "testutil.h"

#include <QtTest/QtTest>

#include <QJsonDocument>
#include <QJsonObject>

using namespace distillery;
using namespace distillery::detail;

class TestRunRecorder : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void eventsReachTheFileAndTheObserver()
    {
        QTemporaryDir tmp;
        testutil::Recorder observer;
        RunRecorder recorder(observer);
        recorder.write("{\"event\": \"before\"}"); // not open yet: nowhere
        recorder.stageStarted(StageInfo{});        // the observer only
        QCOMPARE(int(observer.stages.size()), 1);
        recorder.open(tmp.path().toStdString());
        QCOMPARE(QString::fromStdString(recorder.result().runDir), tmp.path());

        StageInfo teacher;
        teacher.kind = StageKind::Teacher;
        teacher.epochs = 1;
        recorder.stageStarted(teacher);
        StepMetrics step;
        step.stage = StageKind::Teacher;
        step.step = 7;
        step.loss = 0.25;
        recorder.stepReported(step);
        recorder.stepReported(step, false); // replayed: the file has it
        recorder.pausedChanged(true);
        recorder.pausedChanged(false);
        EpochMetrics epoch;
        epoch.stage = StageKind::Teacher;
        epoch.epoch = 1;
        epoch.valAccuracy = 0.75;
        recorder.epochFinished(epoch);
        StageResult done;
        done.kind = StageKind::Teacher;
        done.status = RunStatus::Finished;
        done.testAccuracy = 0.7;
        done.parameters = 1234;
        done.multiplyAdds = 56789;
        recorder.result().status = RunStatus::Running;
        recorder.result().seconds = 3.5;
        recorder.stageFinished(done);
        recorder.errorOccurred("something went wrong");

        QCOMPARE(int(observer.stages.size()), 2);
        QCOMPARE(int(observer.steps.size()), 2);
        QCOMPARE(observer.pauseEvents(), (std::vector<bool>{true, false}));
        QCOMPARE(int(observer.epochs.size()), 1);
        QCOMPARE(int(observer.results.size()), 1);
        QCOMPARE(observer.errors, std::vector<std::string>{"something went wrong"});
        QCOMPARE(int(recorder.result().stages.size()), 1);

        // The file, as the runs panel and a resume read it.
        const RunMetrics back = readRunMetrics(tmp.path().toStdString());
        QCOMPARE(int(back.steps.size()), 1);
        QCOMPARE(back.steps[0].loss, 0.25);
        QCOMPARE(int(back.epochs.size()), 1);
        QCOMPARE(back.epochs[0].valAccuracy, 0.75);
        QCOMPARE(int(back.stageResults.size()), 1);
        QCOMPARE(back.stageResults[0].testAccuracy, 0.7);
        const QByteArray text = testutil::readFile(tmp.path() + "/metrics.jsonl");
        QCOMPARE(text.count('\n'), 7); // stage, step, 2 pauses, epoch, stage end, error
        QVERIFY(!text.contains("before"));
        QVERIFY(text.contains("something went wrong"));

        const QJsonObject summary = QJsonDocument::fromJson(testutil::readFile(tmp.path() + "/summary.json")).object();
        QCOMPARE(summary["status"].toString(), QString("running"));
        QCOMPARE(summary["seconds"].toDouble(), 3.5);
        QCOMPARE(summary["stages"].toObject()["teacher"].toObject()["test_accuracy"].toDouble(), 0.7);
        // The stages' results from summary.json, as the Runs panel's scatter reads them.
        const std::vector<StageResult> stages = readStageResults(tmp.path().toStdString());
        QCOMPARE(int(stages.size()), 1);
        QCOMPARE(stages[0].kind, StageKind::Teacher);
        QCOMPARE(stages[0].status, RunStatus::Finished);
        QCOMPARE(stages[0].testAccuracy, 0.7);
        QCOMPARE(stages[0].parameters, std::int64_t(1234));
        QCOMPARE(stages[0].multiplyAdds, std::int64_t(56789));
        QVERIFY(readStageResults((tmp.path() + "/nowhere").toStdString()).empty());

        recorder.close();
        recorder.write("{\"event\": \"after\"}");
        QVERIFY(!testutil::readFile(tmp.path() + "/metrics.jsonl").contains("after"));
    }

    void aFinishedStageReplaysWithoutWriting()
    {
        QTemporaryDir tmp;
        testutil::Recorder observer;
        RunRecorder recorder(observer);
        recorder.open(tmp.path().toStdString());
        RunMetrics kept;
        StepMetrics step;
        step.stage = StageKind::Baseline;
        kept.steps = {step, step};
        step.stage = StageKind::Teacher;
        kept.steps.push_back(step);
        StageInfo info;
        info.kind = StageKind::Baseline;
        StageResult done;
        done.kind = StageKind::Baseline;
        done.status = RunStatus::Finished;
        recorder.replayStage(info, done, kept);
        QCOMPARE(int(observer.stages.size()), 1);
        QCOMPARE(int(observer.steps.size()), 2); // the baseline's only
        QCOMPARE(int(observer.results.size()), 1);
        QCOMPARE(int(recorder.result().stages.size()), 1);
        QCOMPARE(testutil::readFile(tmp.path() + "/metrics.jsonl"), QByteArray());
    }

    void anUnwritableFolderIsNamed()
    {
        testutil::Recorder observer;
        RunRecorder recorder(observer);
        try {
            recorder.open("/proc/no-such-folder");
            QFAIL("opened a folder that cannot be written");
        } catch (const InvalidInput &e) {
            QVERIFY2(QString(e.what()).contains("cannot write in /proc/no-such-folder"), e.what());
        }
        QVERIFY(!recorder.isOpen());
    }
};

QTEST_GUILESS_MAIN(TestRunRecorder)
#include "tst_run_recorder.moc"
