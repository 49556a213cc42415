// distillery-run as a user runs it: exit codes, messages, the table, --json.
#include "testutil.h"

#include <QtTest/QtTest>

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

#include <cmath>

namespace {

struct Output {
    int code = -1;
    QString out, err;
};

Output run(const QStringList &args, int timeoutMs = 120000, const QProcessEnvironment &env = QProcessEnvironment::systemEnvironment())
{
    QProcess p;
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(DISTILLERY_RUNNER), args);
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        return {};
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

const QString demo = QStringLiteral(DISTILLERY_EXPERIMENTS "/synthetic-demo.json");

} // namespace

class TestRunner : public QObject {
    Q_OBJECT
    QTemporaryDir scratch; // files the bad-input cases point at

private Q_SLOTS:
    void versionAndHelp()
    {
        const Output v = run({"--version"});
        QCOMPARE(v.code, 0);
        QVERIFY(v.out.startsWith("distillery-run "));
        // Model files are read first by the helper next to the runner, as
        // installed, without the variable that CTest sets for the tests.
        QProcessEnvironment plain = QProcessEnvironment::systemEnvironment();
        plain.remove(QStringLiteral("DISTILLERY_CHECK_HELPER"));
        const QString helper = QFileInfo(QStringLiteral(DISTILLERY_RUNNER)).absolutePath() + QStringLiteral("/distillery-check");
        QVERIFY2(run({"--version"}, 120000, plain).out.contains(QStringLiteral("read first by: ") + helper), qPrintable(v.out));
        const Output h = run({"--help"});
        QCOMPARE(h.code, 0);
        QVERIFY(h.out.contains("--workspace") && h.out.contains("--set") && h.out.contains("--json"));
        QCOMPARE(run({}).code, 2); // no experiment given
        QCOMPARE(run({demo, "--no-such-flag"}).code, 2);
    }

    void runsAndPrintsTheTable()
    {
        QTemporaryDir ws;
        const Output o = run({demo, "--workspace", ws.path(), "--set", "teacher.train.epochs=1", "--set",
                              "student.train.epochs=1"});
        QVERIFY2(o.code == 0, qPrintable(o.err));
        for (const char *row : {"teacher", "baseline", "student", "compression", "distilled student vs baseline"})
            QVERIFY2(o.out.contains(row), qPrintable(o.out));
        QVERIFY(o.err.contains("[3/3] student"));
    }

    // Several teachers: the first trained, a further one reused from a run;
    // the table lists each with its weight and test accuracy.
    void severalTeachersInTheTable()
    {
        QTemporaryDir ws;
        const QStringList quick{"--workspace", ws.path(), "--set", "teacher.train.epochs=1", "--set",
                                "student.train.epochs=1", "--set", "baseline=false"};
        const Output first = run(QStringList{demo} + quick);
        QVERIFY2(first.code == 0, qPrintable(first.err));
        const QStringList runs = QDir(ws.path() + "/runs").entryList(QDir::Dirs | QDir::NoDotAndDotDot);
        QCOMPARE(runs.size(), 1);
        const QString earlier = ws.path() + "/runs/" + runs[0];
        const Output o = run(QStringList{demo} + quick +
                             QStringList{"--set", "teacher.weight=3", "--set",
                                         R"(teachers=[{"source": "run", "run": ")" + earlier + R"("}])"});
        QVERIFY2(o.code == 0, qPrintable(o.err));
        QVERIFY2(o.out.contains(QRegularExpression(R"(\nteachers\s+model\s+weight)")) &&
                     o.out.contains(QRegularExpression(R"(\nteacher\s+\S+\s+0\.750\s+\d+\.\d+%)")) &&
                     o.out.contains(QRegularExpression(R"(\nteachers\[0\]\s+\S+\s+0\.250\s+\d+\.\d+%)")),
                 qPrintable(o.out));
    }

    // precision fp16: trained under float16 autocast with a loss scale where
    // the CPU's autocast has float16 (LibTorch 2.x); refused before any run
    // folder with 1.13's, whose CPU autocast turns itself off for float16.
    void float16()
    {
        QTemporaryDir ws;
        const Output o = run({demo, "--workspace", ws.path(), "--set", "precision=fp16", "--set",
                              "teacher.train.epochs=1", "--set", "student.train.epochs=1"});
        if (run({"--version"}).out.contains("(LibTorch 1.")) {
            QCOMPARE(o.code, 2);
            QVERIFY2(o.err.contains("precision: fp16 on the CPU needs LibTorch 2"), qPrintable(o.err));
            QVERIFY(!QDir(ws.path() + "/runs").exists() || QDir(ws.path() + "/runs").isEmpty());
            return;
        }
        QVERIFY2(o.code == 0, qPrintable(o.err));
        const QStringList runs = QDir(ws.path() + "/runs").entryList(QDir::Dirs | QDir::NoDotAndDotDot);
        QCOMPARE(runs.size(), 1);
        const auto summary = QJsonDocument::fromJson(testutil::readFile(ws.path() + "/runs/" + runs[0] + "/summary.json"));
        const QJsonObject stages = summary.object()["stages"].toObject();
        QCOMPARE(stages.size(), 3);
        for (const auto &v : stages) {
            const QJsonObject stage = v.toObject();
            // Fewer than 2,000 steps: the scale only halves, from 2^16, once per skipped step.
            const double skipped = stage["skipped_steps"].toDouble(-1);
            QVERIFY2(skipped >= 0 && stage["loss_scale"].toDouble() == std::ldexp(65536.0, -int(skipped)),
                     qPrintable(QJsonDocument(stage).toJson()));
            QVERIFY2(stage["test_accuracy"].toDouble() > 0.5, qPrintable(QJsonDocument(stage).toJson()));
        }
    }

    // An allocation that fails (here under a 3 GB address-space limit, as a
    // GPU's memory runs out) ends the run with the usual message naming the
    // batch sizes, not a crash. CUDA's "out of memory" error takes the same path.
    void outOfMemoryIsAClearMessage()
    {
        QTemporaryDir ws;
        QProcess p;
        p.start(QStringLiteral("/bin/sh"),
                {QStringLiteral("-c"), QStringLiteral("ulimit -v 3000000; exec \"$0\" \"$@\""),
                 QStringLiteral(DISTILLERY_RUNNER), demo, "--workspace", ws.path(), "--set", "teacher.train.epochs=1",
                 "--set", R"(teacher.model={"layers": [{"type": "flatten"}, {"type": "linear", "out": 20000000}, {"type": "relu"}, {"type": "linear", "out": 4}]})"});
        QVERIFY(p.waitForFinished(120000));
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QVERIFY2(p.exitCode() != 0, qPrintable(err));
        QVERIFY2(err.contains(QStringLiteral("out of memory")) &&
                     err.contains(QStringLiteral("Try a smaller batch size (teacher.train.batch_size is")),
                 qPrintable(err));
        QVERIFY(!err.contains(QStringLiteral("terminate called")));
    }

    void jsonEvents()
    {
        QTemporaryDir ws;
        const Output o = run({demo, "--workspace", ws.path(), "--json", "--set", "teacher.train.epochs=1", "--set",
                              "student.train.epochs=1"});
        QCOMPARE(o.code, 0);
        QStringList events;
        for (const QString &line : o.out.split('\n', Qt::SkipEmptyParts)) {
            QJsonParseError err;
            const auto doc = QJsonDocument::fromJson(line.toUtf8(), &err);
            QVERIFY2(err.error == QJsonParseError::NoError && doc.isObject(), qPrintable(line));
            events << doc.object()["event"].toString();
        }
        QCOMPARE(events.first(), QString("run_started"));
        QCOMPARE(events.last(), QString("run_finished"));
        QCOMPARE(events.count("stage_started"), 3);
        QCOMPARE(events.count("epoch"), 3);
        QVERIFY(events.contains("step"));
    }

    void badInput_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("expected");
        const QString broken = scratch.path() + "/broken.json";
        testutil::writeFile(broken, "{ \"name\": \"x\", ");
        const QString file = scratch.path() + "/plainfile";
        testutil::writeFile(file, "x");
        QTest::newRow("missing file") << QStringList{"/nonexistent/e.json"} << "/nonexistent/e.json: cannot open";
        QTest::newRow("malformed") << QStringList{broken} << "broken.json: malformed JSON at line 1";
        QTest::newRow("unknown key") << QStringList{demo, "--set", "distillation.alfa=0.3"} << "did you mean 'alpha'";
        QTest::newRow("T <= 0") << QStringList{demo, "--set", "distillation.temperature=0"}
                                << "synthetic-demo.json: distillation.temperature: must be > 0";
        QTest::newRow("alpha") << QStringList{demo, "--set", "distillation.alpha=1.2"} << "distillation.alpha";
        QTest::newRow("lr") << QStringList{demo, "--set", "student.train.lr=-1"} << "student.train.lr";
        QTest::newRow("batch") << QStringList{demo, "--set", "teacher.train.batch_size=0"} << "teacher.train.batch_size";
        QTest::newRow("epochs") << QStringList{demo, "--set", "student.train.epochs=0"} << "student.train.epochs";
        QTest::newRow("misfit") << QStringList{demo, "--set", R"(student.model={"layers": [{"type": "linear", "out": 4}]})"}
                                << "student.model: layer 1 (linear): needs a flat input";
        QTest::newRow("missing data") << QStringList{demo, "--set", "data.source=mnist", "--set", "data.path=/nonexistent/mnist"}
                                      << "/nonexistent/mnist";
        QTest::newRow("workspace") << QStringList{demo, "--workspace", file} << "workspace: cannot create";
        QTest::newRow("every class omitted") << QStringList{demo, "--set", "data.omit_classes=[0,1,2,3]"}
                                             << "data.omit_classes: every class is omitted";
        QTest::newRow("no such class") << QStringList{demo, "--set", "data.omit_classes=[7]"}
                                       << "data.omit_classes: there is no class 7 (the data set has 4 classes, 0 to 3)";
        QTest::newRow("negative max-norm") << QStringList{demo, "--set", "teacher.train.max_norm=-1"}
                                           << "teacher.train.max_norm: must be >= 0";
        QTest::newRow("jitter on vectors") << QStringList{demo, "--set", "data.source=synthetic-vectors", "--set",
                                                          R"(teacher.model={"preset": "mlp"})", "--set",
                                                          "student.train.jitter=2"}
                                           << "student.train.jitter: jitter works on images";
        QTest::newRow("flip on vectors") << QStringList{demo, "--set", "data.source=synthetic-vectors", "--set",
                                                        R"(teacher.model={"preset": "mlp"})", "--set", "student.train.flip=true"}
                                         << "student.train.flip: flip works on images";
        QTest::newRow("erase > 1") << QStringList{demo, "--set", "student.train.erase=2"}
                                   << "student.train.erase: is a probability, between 0 (off) and 1 (got 2)";
        QTest::newRow("teachers: negative weight") << QStringList{demo, "--set", R"(teachers=[{"source": "run", "run": "r", "weight": -2}])"}
                                                   << "synthetic-demo.json: teachers[0].weight: must be >= 0 (got -2)";
        QTest::newRow("teachers: no such run") << QStringList{demo, "--set", R"(teachers=[{"source": "run", "run": "/nonexistent/run"}])"}
                                               << "teachers[0].run: ";
        QTest::newRow("teachers: a typo") << QStringList{demo, "--set", R"(teachers=[{"source": "run", "run": "r", "weigth": 1}])"}
                                          << "teachers[0].weigth: unknown key; did you mean 'weight'?";
        // Image folders and CIFAR-100: the message names the file or folder.
        QDir().mkpath(scratch.path() + "/empty-classes/a");
        QDir().mkpath(scratch.path() + "/empty-classes/b");
        QTest::newRow("empty class folder") << QStringList{demo, "--set", "data.source=folder", "--set",
                                                           "data.path=" + scratch.path() + "/empty-classes"}
                                            << "/empty-classes/a";
        QDir().mkpath(scratch.path() + "/not-images/a");
        testutil::writeFile(scratch.path() + "/not-images/a/picture.png", "this is text, not a PNG");
        QTest::newRow("not an image") << QStringList{demo, "--set", "data.source=folder", "--set",
                                                     "data.path=" + scratch.path() + "/not-images"}
                                      << "/not-images/a/picture.png";
        QDir().mkpath(scratch.path() + "/cifar100");
        testutil::writeFile(scratch.path() + "/cifar100/train.bin", QByteArray(3074 * 2 + 5, '\0'));
        testutil::writeFile(scratch.path() + "/cifar100/test.bin", QByteArray(3074, '\0'));
        QTest::newRow("CIFAR-100 length") << QStringList{demo, "--set", "data.source=cifar100", "--set",
                                                         "data.path=" + scratch.path() + "/cifar100"}
                                          << "/cifar100/train.bin: not a CIFAR-100 binary file";
    }
    void badInput()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, expected);
        QTemporaryDir ws;
        if (!args.contains("--workspace"))
            args << "--workspace" << ws.path();
        const Output o = run(args);
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains("error: ") && o.err.contains(expected), qPrintable(o.err));
        QVERIFY(!o.err.contains("terminate called"));
        // No run folder claims to have finished.
        QVERIFY(!QDir(ws.path() + "/runs").exists() || QDir(ws.path() + "/runs").isEmpty());
    }

    void interruptStopsCleanly()
    {
        QTemporaryDir ws;
        QProcess p;
        p.start(QStringLiteral(DISTILLERY_RUNNER),
                {demo, "--workspace", ws.path(), "--json", "--set", "teacher.train.epochs=500", "--set", "log_every_steps=1"});
        QVERIFY(p.waitForStarted());
        QByteArray seen;
        QTRY_VERIFY_WITH_TIMEOUT((seen += p.readAllStandardOutput(), seen.contains("\"event\":\"step\"")), 20000);
        p.terminate(); // SIGTERM, as Ctrl-C or a batch system would send
        QVERIFY(p.waitForFinished(20000));
        QCOMPARE(p.exitCode(), 130);
        const QStringList runs = QDir(ws.path() + "/runs").entryList(QDir::Dirs | QDir::NoDotAndDotDot);
        QCOMPARE(runs.size(), 1);
        const auto summary = QJsonDocument::fromJson(testutil::readFile(ws.path() + "/runs/" + runs[0] + "/summary.json"));
        QCOMPARE(summary.object()["status"].toString(), QString("stopped"));
    }
};

QTEST_GUILESS_MAIN(TestRunner)
#include "tst_runner.moc"
