// Model files read first in another process (core/src/isolation/isolate.cpp):
// crashes and refusals through the helper and through the forked fallback,
// and the helper protocol itself.
#include "distillery/engine.h"
#include "distillery/modelfiles.h"
#include "isolation/isolate.h"
#include "models/model_io.h"
#include "testutil.h"

#include <cstdio>

#include <QtTest/QtTest>

using namespace distillery;
using namespace distillery::detail;

class TestIsolate : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // A file that crashes LibTorch's reader is reported, not fatal, and a file
    // it refuses comes back with the reader's message: through the helper, and
    // through a forked child when the helper is missing or is not the helper
    // (a program that does not say it started is not trusted to judge a file).
    void modelFilesAreReadFirstInAnotherProcess()
    {
        const std::string crashing =
            DISTILLERY_SOURCE_DIR "/fuzz/regressions/fuzz_model_files/torchscript-crashes-libtorch-parser.pt";
        QTemporaryDir dir;
        const std::string garbage = (dir.path() + QStringLiteral("/garbage.pt")).toStdString();
        testutil::writeFile(QString::fromStdString(garbage), "not a zip archive");
        const QByteArray helper = qgetenv("DISTILLERY_CHECK_HELPER");
        if (helper.isEmpty())
            QSKIP("no distillery-check helper (CTest sets DISTILLERY_CHECK_HELPER)");
        namespace dd = distillery::detail;
        using distillery::ModelFileKind;
        for (const QByteArray &checker : {helper, QByteArray("/bin/true"), QByteArray("/no/such/helper")}) {
            qputenv("DISTILLERY_CHECK_HELPER", checker);
            // Output of this process still in stdio's buffer stays out of the
            // report (a forked child inherits the buffer).
            std::fputs("QDEBUG : unflushed output before a model-file check", stdout);
            const std::string crash = dd::crashOfRead(ModelFileKind::TorchScript, crashing);
            std::fputs("\n", stdout);
            // LibTorch 1.13's reader crashes on the file; 2.x's refuses it.
            if (distillery::libtorchVersion().rfind("1.", 0) == 0)
                QVERIFY2(crash.find("crashed") != std::string::npos, (checker + ": " + crash.c_str()).constData());
            else
                QVERIFY2(crash.empty(), (checker + ": " + crash.c_str()).constData());
            // A reader that throws is not a crash; its message comes back, so
            // the file need not be read again in this process.
            std::string refused;
            QCOMPARE(dd::crashOfRead(ModelFileKind::Checkpoint, garbage, &refused), std::string());
            QVERIFY2(refused.find("zip archive") != std::string::npos, (checker + ": " + refused.c_str()).constData());
        }
        // The protocol, from helpers that are scripts: after the started line,
        // exit status 3 is a refusal with the reader's message, any other
        // failure (a sanitizer's report exits with 1) is the file's doing.
        auto script = [&](const QString &name, const QByteArray &body) {
            const QString path = dir.path() + QLatin1Char('/') + name;
            testutil::writeFile(path, "#!/bin/sh\n" + body);
            QFile::setPermissions(path, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
            return path.toLocal8Bit();
        };
        qputenv("DISTILLERY_CHECK_HELPER", script(QStringLiteral("refuses"), "printf 'reading\\nno zip here'\nexit 3\n"));
        std::string refused;
        QCOMPARE(dd::crashOfRead(ModelFileKind::Checkpoint, garbage, &refused), std::string());
        QCOMPARE(refused, std::string("no zip here"));
        qputenv("DISTILLERY_CHECK_HELPER", script(QStringLiteral("fails"), "echo reading\nexit 1\n"));
        QVERIFY(dd::crashOfRead(ModelFileKind::Checkpoint, garbage, &refused).find("exit status 1") != std::string::npos);
        qputenv("DISTILLERY_CHECK_HELPER", script(QStringLiteral("hangs"), "echo reading\nexec sleep 30\n"));
        QElapsedTimer timer;
        timer.start();
        QVERIFY(dd::crashOfRead(ModelFileKind::Checkpoint, garbage, &refused, 1).find("did not finish in 1 s") != std::string::npos);
        QVERIFY(timer.elapsed() < 10000);

        qputenv("DISTILLERY_CHECK_HELPER", helper);
        QCOMPARE(QString::fromStdString(distillery::modelFileChecker()), QString::fromLocal8Bit(helper));
        std::string error;
        QVERIFY(!dd::readModelFileUnguarded(ModelFileKind::Checkpoint, garbage, &error));
        QVERIFY2(error.find("zip") != std::string::npos, error.c_str());
    }
};

QTEST_APPLESS_MAIN(TestIsolate)
#include "tst_isolate.moc"
