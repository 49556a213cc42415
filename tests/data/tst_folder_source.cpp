// The image-folder source end to end (core/src/data/sources.cpp): Fashion-MNIST
// written out as PNG class folders reads back as the IDX files it came from and
// trains to the same numbers; the decoded-data cache is used, and rebuilt when
// the files change or the cache file is damaged; bad folders stop the run
// before it has a folder.
#include "data/image_files.h"
#include "data/readers.h"
#include "distillery/data.h"
#include "distillery/engine.h"
#include "testutil.h"

#include <QtTest/QtTest>

#include <filesystem>

using namespace distillery;
using namespace distillery::detail;

namespace {

const QString fashion = QStringLiteral("/usr/share/datasets/fashion-mnist");
constexpr int kTrain = 1200, kTest = 400;

QByteArray bigEndian(std::uint32_t v)
{
    const char bytes[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    return QByteArray(bytes, 4);
}

// The first `n` images and labels of a Fashion-MNIST split as IDX files in
// `dir`, and as PNG files in `pngDir`/<label>-<name>/<index>.png.
void writeSplit(const std::string &images, const std::string &labels, int n, const QString &dir,
                const QString &idxStem, const QString &pngDir)
{
    const IdxArray x = readIdx(images), y = readIdx(labels);
    const int h = int(x.dims[1]), w = int(x.dims[2]);
    QByteArray idxImages = bigEndian(0x803) + bigEndian(std::uint32_t(n)) + bigEndian(h) + bigEndian(w);
    idxImages.append(reinterpret_cast<const char *>(x.values.data()), qsizetype(n) * h * w);
    QByteArray idxLabels = bigEndian(0x801) + bigEndian(std::uint32_t(n));
    idxLabels.append(reinterpret_cast<const char *>(y.values.data()), n);
    testutil::writeFile(dir + "/" + idxStem + "-images-idx3-ubyte", idxImages);
    testutil::writeFile(dir + "/" + idxStem + "-labels-idx1-ubyte", idxLabels);
    const char *names[] = {"T-shirt", "Trouser", "Pullover", "Dress", "Coat",
                           "Sandal",  "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    for (int i = 0; i < n; ++i) {
        const int label = y.values[std::size_t(i)];
        const QString classDir = pngDir + QStringLiteral("/%1-%2").arg(label).arg(names[label]);
        QDir().mkpath(classDir);
        Image img;
        img.width = w;
        img.height = h;
        img.channels = 1;
        img.pixels.assign(x.values.begin() + std::ptrdiff_t(i) * h * w, x.values.begin() + std::ptrdiff_t(i + 1) * h * w);
        writePng((classDir + QStringLiteral("/%1.png").arg(i, 5, 10, QLatin1Char('0'))).toStdString(), img);
    }
}

std::string gz(const QString &stem)
{
    const QString plain = fashion + "/" + stem;
    return (QFile::exists(plain) ? plain : plain + ".gz").toStdString();
}

Experiment smallExperiment(const DataConfig &data)
{
    Experiment e = testutil::syntheticExperiment();
    e.data = data;
    e.data.validationFraction = 0.1;
    e.data.seed = 5;
    e.teacher.model.hidden = {64};
    e.teacher.train.epochs = 1;
    e.studentTrain.epochs = 1;
    e.baseline = false;
    return e;
}

} // namespace

class TestFolderSource : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    QString idx_, png_;

private Q_SLOTS:
    void initTestCase()
    {
        if (!QFile::exists(fashion + "/t10k-labels-idx1-ubyte") && !QFile::exists(fashion + "/t10k-labels-idx1-ubyte.gz"))
            QSKIP("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        idx_ = dir_.path() + "/idx";
        png_ = dir_.path() + "/png";
        QDir().mkpath(idx_);
        writeSplit(gz("train-images-idx3-ubyte"), gz("train-labels-idx1-ubyte"), kTrain, idx_, "train", png_ + "/train");
        writeSplit(gz("t10k-images-idx3-ubyte"), gz("t10k-labels-idx1-ubyte"), kTest, idx_, "t10k", png_ + "/test");
    }

    void readsAsTheIdxFiles()
    {
        DataConfig idx, folder;
        idx.source = "idx";
        idx.path = idx_.toStdString();
        folder.source = "folder";
        folder.path = png_.toStdString();
        const DatasetSummary a = inspectDataset(idx), b = inspectDataset(folder);
        QCOMPARE(b.inputShape, (Shape{1, 28, 28}));
        QCOMPARE(b.inputShape, a.inputShape);
        QCOMPARE(b.trainSamples, a.trainSamples);
        QCOMPARE(b.testSamples, qint64(kTest));
        QCOMPARE(b.trainClassCounts, a.trainClassCounts);
        QCOMPARE(b.classNames.at(0), std::string("0-T-shirt"));
        QCOMPARE(b.classNames.at(9), std::string("9-Ankle boot"));
    }

    // The same tensors in the same order: the same run, number for number,
    // with the students' crops and flips drawn alike.
    void trainsToTheSameNumbers()
    {
        DataConfig idx, folder;
        idx.source = "idx";
        idx.path = idx_.toStdString();
        folder.source = "folder";
        folder.path = png_.toStdString();
        QTemporaryDir ws;
        RunResult results[2];
        int i = 0;
        for (const DataConfig &data : {idx, folder}) {
            EngineOptions o;
            o.workspace = ws.path().toStdString();
            testutil::Recorder rec;
            Experiment e = smallExperiment(data);
            e.studentTrain.crop = 2; // augmented as a user would train, and still the same numbers
            e.studentTrain.flip = true;
            results[i++] = Engine(e, o).run(rec);
        }
        QCOMPARE(results[0].status, RunStatus::Finished);
        QCOMPARE(results[1].status, RunStatus::Finished);
        QCOMPARE(results[1].stages.size(), results[0].stages.size());
        for (std::size_t s = 0; s < results[0].stages.size(); ++s) {
            QCOMPARE(results[1].stages[s].testAccuracy, results[0].stages[s].testAccuracy);
            QCOMPARE(results[1].stages[s].bestValAccuracy, results[0].stages[s].bestValAccuracy);
        }
    }

    void cacheIsUsedAndRebuiltWhenStale()
    {
        QTemporaryDir cache;
        DataConfig folder;
        folder.source = "folder";
        folder.path = png_.toStdString();
        DataLoadOptions o;
        o.cacheDir = cache.path().toStdString();
        std::int64_t lastDone = 0, calls = 0;
        o.progress = [&](std::int64_t done, std::int64_t total) {
            ++calls;
            lastDone = done;
            QCOMPARE(total, std::int64_t(kTrain + kTest));
        };
        const auto first = inspectDataset(folder, o);
        QCOMPARE(lastDone, std::int64_t(kTrain + kTest)); // decoded, to the last file
        const QStringList files = QDir(cache.path() + "/data").entryList(QDir::Files);
        QCOMPARE(files.size(), 1);
        const QString cacheFile = cache.path() + "/data/" + files.front();

        calls = 0;
        QElapsedTimer timer;
        timer.start();
        const auto second = inspectDataset(folder, o);
        QCOMPARE(calls, 0); // from the cache: nothing decoded
        QCOMPARE(second.trainClassCounts, first.trainClassCounts);
        qInfo("cached load of %d images: %lld ms", kTrain + kTest, timer.elapsed());

        // A changed file (a new modification time) makes the cache stale.
        const auto touched = std::filesystem::path(png_.toStdString()) / "test";
        for (const auto &entry : std::filesystem::recursive_directory_iterator(touched))
            if (entry.is_regular_file()) {
                std::filesystem::last_write_time(entry.path(), std::filesystem::last_write_time(entry.path()) +
                                                                   std::chrono::seconds(5));
                break;
            }
        calls = 0;
        inspectDataset(folder, o);
        QVERIFY(calls > 0);
        // The folder's cache file is replaced, not joined by a second one.
        QCOMPARE(QDir(cache.path() + "/data").entryList(QDir::Files), QStringList{files.front()});

        // A damaged cache file is decoded again, and replaced.
        const QStringList now = QDir(cache.path() + "/data").entryList(QDir::Files, QDir::Time);
        const QString newest = cache.path() + "/data/" + now.front();
        QByteArray bytes = testutil::readFile(newest);
        bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 0xff);
        testutil::writeFile(newest, bytes);
        calls = 0;
        const auto again = inspectDataset(folder, o);
        QVERIFY(calls > 0);
        QCOMPARE(again.trainClassCounts, first.trainClassCounts);
        QVERIFY(testutil::readFile(newest) != bytes);
        QCOMPARE(newest, cacheFile);

        // A file replaced with its size and modification time kept (as
        // rsync -a or cp -p do) still reads as a change: a new inode and ctime.
        std::filesystem::path victim;
        for (const auto &entry : std::filesystem::recursive_directory_iterator(touched))
            if (entry.is_regular_file()) {
                victim = entry.path();
                break;
            }
        const auto mtime = std::filesystem::last_write_time(victim);
        std::filesystem::copy_file(victim, victim.string() + ".new");
        std::filesystem::rename(victim.string() + ".new", victim);
        std::filesystem::last_write_time(victim, mtime);
        calls = 0;
        inspectDataset(folder, o);
        QVERIFY(calls > 0);
    }

    // The engine keeps the cache in the workspace and reports decoding.
    void engineReportsDecodingAndCaches()
    {
        DataConfig folder;
        folder.source = "folder";
        folder.path = png_.toStdString();
        QTemporaryDir ws;
        EngineOptions o;
        o.workspace = ws.path().toStdString();
        Experiment e = smallExperiment(folder);
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 1;
        testutil::Recorder rec;
        QCOMPARE(Engine(e, o).run(rec).status, RunStatus::Finished);
        QVERIFY(!rec.decoded.empty());
        QCOMPARE(rec.decoded.back(), (std::pair<std::int64_t, std::int64_t>(kTrain + kTest, kTrain + kTest)));
        QCOMPARE(QDir(ws.path() + "/cache/data").entryList(QDir::Files).size(), 1);
        testutil::Recorder second;
        QCOMPARE(Engine(e, o).run(second).status, RunStatus::Finished);
        QVERIFY(second.decoded.empty()); // cached
    }

    // The runner shows the decoding and which teacher outputs the students get.
    void runnerShowsDecoding()
    {
        QTemporaryDir ws;
        DataConfig folder;
        folder.source = "folder";
        folder.path = png_.toStdString();
        Experiment e = smallExperiment(folder);
        e.studentTrain.crop = 2;
        e.studentTrain.flip = true;
        const QString file = ws.path() + "/folder.json";
        saveExperiment(e, file.toStdString());
        QProcess p;
        p.start(QStringLiteral(DISTILLERY_RUNNER), {file, "--workspace", ws.path()});
        QVERIFY(p.waitForFinished(120000));
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(p.exitCode() == 0, qPrintable(err));
        QVERIFY2(err.contains(QStringLiteral("decoding images: %1 of %1").arg(kTrain + kTest)), qPrintable(err));
        QVERIFY2(err.contains("teacher outputs: computed per batch"), qPrintable(err));
    }

    void badFoldersStopBeforeTheRun_data()
    {
        QTest::addColumn<int>("damage");
        QTest::addColumn<QString>("message");
        QTest::newRow("empty class folder") << 0 << "/train/7-Empty";
        QTest::newRow("corrupt PNG") << 1 << "/train/0-T-shirt/00001.png";
        QTest::newRow("not an image") << 2 << "notes.txt";
        QTest::newRow("no class folders") << 3 << "";
    }
    void badFoldersStopBeforeTheRun()
    {
        QFETCH(int, damage);
        QFETCH(QString, message);
        QTemporaryDir data, ws;
        const QString train = data.path() + "/train";
        for (const char *c : {"0-T-shirt", "1-Trouser"}) {
            QDir().mkpath(train + "/" + c);
            for (int i = 0; i < 12; ++i) {
                Image img;
                img.width = img.height = 8;
                img.channels = 1;
                img.pixels.assign(64, std::uint8_t(i * 20 + (c[0] - '0') * 7));
                writePng((train + QStringLiteral("/%1/%2.png").arg(c).arg(i, 5, 10, QLatin1Char('0'))).toStdString(), img);
            }
        }
        QString path = data.path() + "/train";
        if (damage == 0) {
            QDir().mkpath(train + "/7-Empty");
        } else if (damage == 1) {
            QByteArray bytes = testutil::readFile(train + "/0-T-shirt/00001.png");
            for (qsizetype i = 40; i < bytes.size() - 12; ++i)
                bytes[i] = char(bytes[i] ^ 0x5a);
            testutil::writeFile(train + "/0-T-shirt/00001.png", bytes);
        } else if (damage == 2) {
            testutil::writeFile(train + "/1-Trouser/notes.txt", "not an image");
        } else {
            path = data.path() + "/train/0-T-shirt"; // images, but no class folders
            message = path;
        }
        DataConfig folder;
        folder.source = "folder";
        folder.path = path.toStdString();
        EngineOptions o;
        o.workspace = ws.path().toStdString();
        testutil::Recorder rec;
        const RunResult r = Engine(smallExperiment(folder), o).run(rec);
        QCOMPARE(r.status, RunStatus::Invalid);
        QVERIFY2(QString::fromStdString(r.message).contains(message), r.message.c_str());
        QVERIFY(r.runDir.empty());
        QVERIFY(!QDir(ws.path() + "/runs").exists() || QDir(ws.path() + "/runs").isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestFolderSource)
#include "tst_folder_source.moc"
