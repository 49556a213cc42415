// Export round trips through core's API: every format, for a student built
// around each layer kind, loaded back and compared within its bound.
#include "testutil.h"

#include "distillery/analysis.h"
#include "distillery/engine.h"
#include "distillery/export.h"
#include "distillery/modelfiles.h"
#include "distillery/runs.h"

#include <QtTest/QtTest>
#include <QXmlStreamReader>

#include <atomic>
#include <cmath>
#include <set>
#include <thread>

using namespace distillery;

using testutil::layer;

namespace {

// Figures as the model card writes them.
QString cardPercent(double v)
{
    return std::isfinite(v) ? QString::number(100.0 * v, 'f', 2) + QLatin1Char('%') : QStringLiteral("-");
}

QString cardFixed(double v, int digits)
{
    return std::isfinite(v) ? QString::number(v, 'f', digits) : QStringLiteral("-");
}

QString cardCount(std::int64_t v)
{
    QString s = QString::number(v);
    for (int i = s.size() - 3; i > 0; i -= 3)
        s.insert(i, QLatin1Char(','));
    return s;
}

struct SvgBar {
    double y, height, base, value;
};

// The bars of class "bar <series>" in an SVG file; `ok` false when the file
// is missing or not well-formed XML with an <svg> root.
QList<SvgBar> svgBars(const QString &path, const QString &series, bool &ok)
{
    QFile f(path);
    ok = f.open(QIODevice::ReadOnly);
    QXmlStreamReader xml(&f);
    QList<SvgBar> bars;
    bool root = false;
    while (ok && !xml.atEnd()) {
        if (xml.readNext() != QXmlStreamReader::StartElement)
            continue;
        if (!root && xml.name() != QLatin1String("svg"))
            ok = false;
        root = true;
        const auto a = xml.attributes();
        if (xml.name() == QLatin1String("rect") && a.value(QStringLiteral("class")) == QStringLiteral("bar ") + series)
            bars << SvgBar{a.value(QStringLiteral("y")).toDouble(), a.value(QStringLiteral("height")).toDouble(),
                           a.value(QStringLiteral("data-base")).toDouble(), a.value(QStringLiteral("data-value")).toDouble()};
    }
    ok = ok && root && !xml.hasError();
    return bars;
}

// Each bar stands on its base and is as high as its value times one scale.
bool proportional(const QList<SvgBar> &bars, double scale)
{
    for (const SvgBar &b : bars)
        if (std::abs(b.height - b.value * scale) > 0.01 || std::abs(b.y + b.height - b.base) > 0.011)
            return false;
    return true;
}

} // namespace

class TestExport : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

    // The per-class table: each class's accuracy of the three models and the gain.
    void checkClassTable(const QString &card, const AnalysisSummary &summary)
    {
        const StageAnalysis *t = summary.stage("teacher"), *b = summary.stage("baseline"), *s = summary.stage("student");
        for (std::size_t k = 0; k < std::size_t(summary.classes); ++k) {
            const double gain = 100.0 * (s->perClassAccuracy[k] - b->perClassAccuracy[k]);
            QString name = QString::number(k);
            if (k < summary.classNames.size() && !summary.classNames[k].empty() &&
                summary.classNames[k] != name.toStdString())
                name += QLatin1Char(' ') + QString::fromStdString(summary.classNames[k]);
            const QString line = QStringLiteral("| %1 | %2 | %3 | %4 | %5%6 |")
                                     .arg(name, cardPercent(t->perClassAccuracy[k]), cardPercent(b->perClassAccuracy[k]),
                                          cardPercent(s->perClassAccuracy[k]),
                                          gain > 0 ? QStringLiteral("+") : QString(), cardFixed(gain, 2));
            QVERIFY2(card.contains(line), qPrintable(line));
        }
    }

    // The SVG files: well-formed, a bar per non-empty bin and per class and
    // stage, each as high as its value from summary.json on one scale.
    void checkFigures(const QString &reliability, const QString &perClass, const AnalysisSummary &summary,
                      const StageAnalysis &a)
    {
        bool ok = false;
        const QList<SvgBar> bins = svgBars(reliability, QStringLiteral("accuracy"), ok);
        QVERIFY2(ok, qPrintable(reliability));
        QList<double> filled;
        for (const CalibrationBin &bin : a.calibration.bins)
            if (bin.count > 0)
                filled << bin.accuracy;
        QCOMPARE(bins.size(), filled.size());
        QVERIFY(!bins.isEmpty());
        for (int i = 0; i < bins.size(); ++i)
            QCOMPARE(bins[i].value, filled[i]);
        double scale = 0;
        for (const SvgBar &b : bins)
            if (b.value > 0)
                scale = b.height / b.value;
        QVERIFY(scale > 0 && proportional(bins, scale));
        for (const char *stage : {"teacher", "baseline", "student"}) {
            const QList<SvgBar> bars = svgBars(perClass, QString::fromLatin1(stage), ok);
            QVERIFY2(ok, qPrintable(perClass));
            QList<double> values;
            for (double v : summary.stage(stage)->perClassAccuracy)
                if (std::isfinite(v))
                    values << v;
            QCOMPARE(bars.size(), values.size());
            for (int i = 0; i < bars.size(); ++i)
                QCOMPARE(bars[i].value, values[i]);
            QVERIFY(proportional(bars, scale)); // the same 0-1 axis as the reliability diagram's
        }
    }

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
        std::set<std::string> formats;
        for (const auto &f : report.files)
            formats.insert(f.format);
        QCOMPARE(formats.size(), exportFormats().size());
        QCOMPARE(report.files.size(), exportFormats().size() + 2); // the card's two figures
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

    // The card of each model gains the key figures of the run's analysis,
    // equal to analysis/summary.json's, and its figures as SVG beside it.
    void cardShowsTheAnalysis()
    {
        const QString run = train(QStringLiteral("card"), {layer("linear", 8), layer("relu"), layer("linear", 4)}, false);
        QVERIFY(!run.isEmpty());
        const AnalysisSummary summary = readAnalysisSummary(run.toStdString());
        for (const std::string model : {"student", "baseline", "teacher"}) {
            const QString out = run + QStringLiteral("/card-") + QString::fromStdString(model);
            ExportRequest r;
            r.runDir = run.toStdString();
            r.outDir = out.toStdString();
            r.model = model;
            r.formats = {"card"};
            const ExportReport report = exportRun(r);
            QVERIFY(report.ok());
            // The card and its two figures, listed among the exported files.
            QCOMPARE(report.files.size(), std::size_t(3));
            QStringList names;
            for (const auto &f : report.files) {
                QCOMPARE(f.format, std::string("card"));
                QVERIFY2(QFileInfo::exists(QString::fromStdString(f.path)), f.path.c_str());
                names << QFileInfo(QString::fromStdString(f.path)).fileName();
            }
            const QString m = QString::fromStdString(model);
            QCOMPARE(names, QStringList({m + QStringLiteral("-model-card.md"), m + QStringLiteral("-reliability.svg"),
                                         m + QStringLiteral("-per-class.svg")}));
            const QString card = QString::fromUtf8(testutil::readFile(out + QStringLiteral("/") + names[0]));
            const StageAnalysis *a = summary.stage(model);
            QVERIFY(a);
            QVERIFY(card.contains(QStringLiteral("## Analysis")));
            auto row = [&](const QString &label, const QString &value) {
                const QString line = QStringLiteral("| %1 | %2 |").arg(label, value);
                QVERIFY2(card.contains(line), qPrintable(line));
            };
            row(QStringLiteral("Test accuracy"), cardPercent(a->accuracy));
            row(QStringLiteral("Negative log-likelihood (NLL)"), cardFixed(a->nll, 4));
            row(QStringLiteral("Brier score"), cardFixed(a->brier, 4));
            row(QStringLiteral("Expected calibration error (ECE, 15 bins)"), cardFixed(a->calibration.ece, 4));
            QCOMPARE(bool(a->teacher), model != "teacher");
            if (a->teacher) {
                row(QStringLiteral("Agreement with the teacher"), cardPercent(a->teacher->agreement));
                row(QStringLiteral("KL(teacher \u2016 model), T = 1"), cardFixed(a->teacher->kl, 4));
            }
            QCOMPARE(bool(a->baseline), model == "student");
            if (a->baseline) {
                row(QStringLiteral("Fixed against the baseline (baseline wrong, student right)"),
                    QString::number(a->baseline->fixed.count));
                row(QStringLiteral("Broken against the baseline (baseline right, student wrong)"),
                    QString::number(a->baseline->broken.count));
            }
            row(QStringLiteral("Latency, batch of 1 (CPU, %1 threads, median of %2 passes)")
                    .arg(a->latency.threads).arg(a->latency.passes),
                cardFixed(a->latency.medianMs, 3) + QStringLiteral(" ms"));
            row(QStringLiteral("Parameters"), cardCount(a->parameters));
            row(QStringLiteral("Multiply-adds per sample"), cardCount(a->multiplyAdds));
            checkClassTable(card, summary);
            if (QTest::currentTestFailed())
                return;
            QVERIFY(card.contains(QStringLiteral("](%1)").arg(names[1])));
            QVERIFY(card.contains(QStringLiteral("](%1)").arg(names[2])));
            checkFigures(out + QStringLiteral("/") + names[1], out + QStringLiteral("/") + names[2], summary, *a);
            if (QTest::currentTestFailed())
                return;
        }
        // A run without analysis/ gets the card as before, saying so, and no figures.
        QVERIFY(QDir(run).rename(QStringLiteral("analysis"), QStringLiteral("analysis-away")));
        ExportRequest r;
        r.runDir = run.toStdString();
        r.outDir = (run + QStringLiteral("/card-none")).toStdString();
        r.formats = {"card"};
        const ExportReport report = exportRun(r);
        QVERIFY(report.ok());
        QCOMPARE(report.files.size(), std::size_t(1));
        const QString card = QString::fromUtf8(testutil::readFile(QString::fromStdString(report.files[0].path)));
        QVERIFY(card.contains(QStringLiteral("## Results")));
        QVERIFY2(card.contains(QStringLiteral("## Analysis\n\nNo analysis: this run has no `analysis/summary.json`")),
                 qPrintable(card));
        QVERIFY(!card.contains(QStringLiteral(".svg")));
        QVERIFY(!QFileInfo::exists(run + QStringLiteral("/card-none/student-reliability.svg")));
        // A damaged summary: the card names it instead.
        QVERIFY(QDir(run).mkpath(QStringLiteral("analysis")));
        testutil::writeFile(run + QStringLiteral("/analysis/summary.json"), "{\"version\": 1, \"stages\": [");
        const QString damaged = QString::fromUtf8(testutil::readFile(QString::fromStdString(exportRun(r).files[0].path)));
        QVERIFY2(damaged.contains(QStringLiteral("No analysis: ")) && damaged.contains(QStringLiteral("summary.json")),
                 qPrintable(damaged));
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
