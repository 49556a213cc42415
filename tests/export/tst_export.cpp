// Export round trips through core's API: every format, for a student built
// around each layer kind, loaded back and compared within its bound.
#include "testutil.h"

#include "distillery/engine.h"
#include "distillery/export.h"
#include "distillery/modelfiles.h"
#include "distillery/runs.h"

#include <QtTest/QtTest>

#include <atomic>
#include <thread>

using namespace distillery;

using testutil::layer;

class TestExport : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

    // Runs a short synthetic experiment whose student is `layers`; returns the run folder.
    QString train(const QString &name, const Architecture &layers, bool images)
    {
        Experiment e = testutil::syntheticExperiment();
        e.name = name.toStdString();
        e.data.source = images ? "synthetic-images" : "synthetic-vectors";
        e.data.syntheticTrain = 300;
        e.data.syntheticTest = 80;
        e.data.syntheticFeatures = images ? 12 : 16;
        e.teacher.model.hidden = {16};
        if (images)
            e.teacher.model.layers = {layer("flatten"), layer("linear", 16), layer("relu"), layer("linear", 4)};
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 1;
        e.student.preset.clear();
        e.student.layers = layers;
        testutil::Recorder rec;
        const RunResult r = Engine(e, EngineOptions{dir_.path().toStdString()}).run(rec);
        if (r.status != RunStatus::Finished)
            qWarning() << QString::fromStdString(r.message);
        return QString::fromStdString(r.runDir);
    }

private Q_SLOTS:
    void everyFormatForEachLayerKind_data()
    {
        QTest::addColumn<bool>("images");
        QTest::addColumn<Architecture>("layers");
        const Architecture head{layer("flatten"), layer("linear", 4)};
        auto withHead = [&](Architecture a) {
            a.insert(a.end(), head.begin(), head.end());
            return a;
        };
        QTest::newRow("linear") << false << Architecture{layer("linear", 8), layer("linear", 4)};
        LayerSpec noBias = layer("linear", 4);
        noBias.bias = false;
        QTest::newRow("linear without bias") << false << Architecture{layer("linear", 8), noBias};
        QTest::newRow("batchnorm 1d") << false << Architecture{layer("linear", 8), layer("batchnorm"), layer("linear", 4)};
        QTest::newRow("relu") << false << Architecture{layer("linear", 8), layer("relu"), layer("linear", 4)};
        QTest::newRow("gelu") << false << Architecture{layer("linear", 8), layer("gelu"), layer("linear", 4)};
        LayerSpec dropout = layer("dropout");
        dropout.p = 0.3;
        QTest::newRow("dropout") << false << Architecture{layer("linear", 8), dropout, layer("linear", 4)};
        QTest::newRow("conv2d") << true << withHead({layer("conv2d", 4, 3, 2)});
        QTest::newRow("batchnorm 2d") << true << withHead({layer("conv2d", 4, 3), layer("batchnorm")});
        QTest::newRow("maxpool") << true << withHead({layer("conv2d", 4, 3), layer("maxpool", 0, 3, 2)});
        QTest::newRow("avgpool") << true << withHead({layer("conv2d", 4, 3), layer("avgpool", 0, 2)});
        QTest::newRow("global-avgpool") << true
                                        << Architecture{layer("conv2d", 6, 3), layer("global-avgpool"), layer("linear", 4)};
        QTest::newRow("flatten") << true << head;
        QTest::newRow("residual") << true << withHead({layer("residual", 4)});
        QTest::newRow("residual with projection") << true << withHead({layer("conv2d", 4, 3), layer("residual", 6, 0, 2)});
    }

    void everyFormatForEachLayerKind()
    {
        QFETCH(bool, images);
        QFETCH(Architecture, layers);
        const QString run = train(QString::fromUtf8(QTest::currentDataTag()).replace(QLatin1Char(' '), QLatin1Char('-')),
                                  layers, images);
        QVERIFY(!run.isEmpty());
        ExportRequest request;
        request.runDir = run.toStdString();
        request.outDir = (run + QStringLiteral("/export")).toStdString();
        const ExportReport report = exportRun(request);
        QVERIFY(report.ok());
        QCOMPARE(report.files.size(), exportFormats().size());
        for (const auto &f : report.files) {
            QVERIFY2(f.ok, (f.format + ": " + f.message).c_str());
            QVERIFY(QFileInfo::exists(QString::fromStdString(f.path)));
            if (f.format == "card")
                continue;
            QVERIFY2(f.maxAbsDifference >= 0 && f.maxAbsDifference <= f.bound, f.format.c_str());
            QCOMPARE(f.agreeingPredictions, f.samples);
            QVERIFY(f.samples > 0);
        }
        // No temporary file is left behind.
        const auto left = QDir(run + QStringLiteral("/export")).entryList({QStringLiteral("*.partial"), QStringLiteral("*.tmp")});
        QVERIFY2(left.isEmpty(), qPrintable(left.join(QLatin1Char(' '))));
    }

    void badRequestsAreRefused()
    {
        const QString run = train(QStringLiteral("refusals"), {layer("linear", 4)}, false);
        auto refused = [&](ExportRequest r, const QString &needle) {
            try {
                exportRun(r);
            } catch (const ExportError &e) {
                QVERIFY2(QString::fromUtf8(e.what()).contains(needle), e.what());
                return;
            }
            QFAIL(qPrintable(QStringLiteral("no error containing ") + needle));
        };
        ExportRequest r;
        r.runDir = run.toStdString();
        r.outDir = (dir_.path() + QStringLiteral("/out")).toStdString();
        ExportRequest noRun = r;
        noRun.runDir = (dir_.path() + QStringLiteral("/missing")).toStdString();
        refused(noRun, QStringLiteral("no such run folder"));
        ExportRequest badModel = r;
        badModel.model = "assistant";
        refused(badModel, QStringLiteral("model"));
        ExportRequest badFormat = r;
        badFormat.formats = {"tflite"};
        refused(badFormat, QStringLiteral("tflite"));
        // Damaged run files (fields of the wrong type, found by fuzzing): a
        // message from the export, and the runs list shows the run as failed.
        {
            const QString copy = dir_.path() + QStringLiteral("/damaged");
            QVERIFY(QDir().mkpath(copy));
            testutil::writeFile(copy + QStringLiteral("/config.json"), testutil::readFile(run + QStringLiteral("/config.json")));
            testutil::writeFile(copy + QStringLiteral("/summary.json"), R"({"status": 5, "stages": {"student": {"status": []}}})");
            testutil::writeFile(copy + QStringLiteral("/metrics.jsonl"), R"({"event": 3})" "\n" R"({"event": "epoch", "epoch": "x"})" "\n");
            QCOMPARE(readRunInfo(copy.toStdString()).status, RunStatus::Failed);
            QVERIFY(readRunMetrics(copy.toStdString()).epochs.empty());
            ExportRequest damaged = r;
            damaged.runDir = copy.toStdString();
            refused(damaged, QStringLiteral("damaged summary.json"));
        }
        // A checkpoint that is not one.
        testutil::writeFile(run + QStringLiteral("/checkpoints/student.pt"), "garbage");
        refused(r, QStringLiteral("student.pt"));
        QVERIFY(!QFileInfo::exists(dir_.path() + QStringLiteral("/out/student.onnx")));
    }

    // The window exports one run while others train. The export reads the
    // checkpoint first in the helper process: a forked copy of this process
    // would inherit any LibTorch lock a training thread held at that moment
    // (setting the thread count at a stage's start takes one), wait on it
    // until the timeout, and then blame the file.
    void exportWhileOtherRunsTrain()
    {
        if (modelFileChecker().empty())
            QSKIP("no distillery-check helper (CTest sets DISTILLERY_CHECK_HELPER)");
        const QString run = train(QStringLiteral("finished"), {layer("linear", 4)}, false);
        Experiment e = testutil::syntheticExperiment();
        e.name = "busy";
        e.data.syntheticTrain = 200;
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 1;
        std::atomic<bool> stop{false};
        std::atomic<int> runs{0};
        struct Training {
            std::atomic<bool> &stop;
            std::thread thread;
            ~Training()
            {
                stop = true;
                thread.join();
            }
        } training{stop, std::thread([&] {
                       while (!stop) {
                           testutil::Recorder rec;
                           Engine(e, EngineOptions{dir_.path().toStdString()}).run(rec);
                           ++runs;
                       }
                   })};
        QTRY_VERIFY_WITH_TIMEOUT(runs > 0, 30000);

        ExportRequest r;
        r.runDir = run.toStdString();
        r.outDir = (dir_.path() + QStringLiteral("/while-training")).toStdString();
        r.formats = {"torchscript", "safetensors"};
        for (int i = 0; i < 3; ++i) {
            QElapsedTimer timer;
            timer.start();
            ExportReport report;
            try {
                report = exportRun(r);
            } catch (const ExportError &e) {
                QFAIL(e.what());
            }
            for (const auto &f : report.files)
                QVERIFY2(f.ok, f.message.c_str());
            QVERIFY2(timer.elapsed() < 20000, qPrintable(QString::number(timer.elapsed())));
        }
    }
};

QTEST_MAIN(TestExport)
#include "tst_export.moc"
