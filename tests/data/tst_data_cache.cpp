// The decoded-data cache (core/src/data/data_cache.cpp): a set comes back as
// it was saved, and a file that is stale, damaged or not a cache file is
// refused (so the caller decodes again), never trusted.
#include "data/data_cache.h"
#include "testutil.h"

#include <QtTest/QtTest>

using namespace distillery::detail;
using testutil::readFile;
using testutil::writeFile;

namespace {

ByteImages images(std::int64_t n, int c, int h, int w, int seed)
{
    ByteImages b;
    b.count = n;
    b.channels = c;
    b.height = h;
    b.width = w;
    for (std::int64_t i = 0; i < n * c * h * w; ++i)
        b.pixels.push_back(std::uint8_t((i * 31 + seed) % 251));
    for (std::int64_t i = 0; i < n; ++i)
        b.labels.push_back((i + seed) % 3);
    return b;
}

DecodedSet sampleSet(bool withTest)
{
    DecodedSet s;
    s.classNames = {"cat", "dog", "süßer Vogel"};
    s.train = images(7, 3, 5, 4, 1);
    if (withTest)
        s.test = images(2, 3, 5, 4, 2);
    return s;
}

void compare(const ByteImages &a, const ByteImages &b)
{
    QCOMPARE(a.count, b.count);
    QCOMPARE(a.channels, b.channels);
    QCOMPARE(a.height, b.height);
    QCOMPARE(a.width, b.width);
    QVERIFY(a.pixels == b.pixels);
    QVERIFY(a.labels == b.labels);
}

} // namespace

class TestDataCache : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void roundTrip()
    {
        QTemporaryDir dir;
        for (bool withTest : {true, false}) {
            const std::string key = withTest ? "key with test" : "key without";
            const std::string path = cacheFilePath(dir.path().toStdString(), key);
            QVERIFY(QString::fromStdString(path).startsWith(dir.path() + "/data/"));
            QVERIFY(!loadCachedSet(path, key)); // not cached yet
            const DecodedSet saved = sampleSet(withTest);
            saveCachedSet(path, key, saved);
            const auto back = loadCachedSet(path, key);
            QVERIFY(back);
            QVERIFY(back->classNames == saved.classNames);
            compare(back->train, saved.train);
            QCOMPARE(bool(back->test), withTest);
            if (withTest)
                compare(*back->test, *saved.test);
        }
    }

    void keysNameTheirFiles()
    {
        QVERIFY(cacheFilePath("/w", "a") != cacheFilePath("/w", "b"));
        QCOMPARE(cacheFilePath("/w", "a"), cacheFilePath("/w", "a")); // stable between runs
    }

    void staleKeyIsRefused()
    {
        QTemporaryDir dir;
        const std::string path = cacheFilePath(dir.path().toStdString(), "old");
        saveCachedSet(path, "old", sampleSet(true));
        std::string why;
        QVERIFY(!loadCachedSet(path, "new", &why));
        QVERIFY2(why.find("stale") != std::string::npos, why.c_str());
    }

    void damagedFilesAreRefused_data()
    {
        QTest::addColumn<int>("damage");
        QTest::addColumn<QString>("reason");
        QTest::newRow("a flipped pixel") << 0 << "checksum";
        QTest::newRow("truncated") << 1 << "checksum";
        QTest::newRow("not a cache file") << 2 << "not a Distillery data cache file";
        QTest::newRow("empty") << 3 << "not a Distillery data cache file";
    }
    void damagedFilesAreRefused()
    {
        QFETCH(int, damage);
        QFETCH(QString, reason);
        QTemporaryDir dir;
        const std::string path = cacheFilePath(dir.path().toStdString(), "k");
        saveCachedSet(path, "k", sampleSet(true));
        QByteArray bytes = readFile(QString::fromStdString(path));
        if (damage == 0)
            bytes[bytes.size() - 40] = char(bytes[bytes.size() - 40] ^ 0x10);
        else if (damage == 1)
            bytes.chop(100);
        else if (damage == 2)
            bytes = "P5\n28 28\n255\n" + bytes;
        else
            bytes.clear();
        writeFile(QString::fromStdString(path), bytes);
        std::string why;
        QVERIFY(!loadCachedSet(path, "k", &why));
        QVERIFY2(QString::fromStdString(why).contains(reason), why.c_str());
        QVERIFY(QString::fromStdString(why).startsWith(QString::fromStdString(path)));
    }

    // Sizes that promise more than the file holds are caught before any allocation.
    void lyingSizesAreRefused()
    {
        QTemporaryDir dir;
        const std::string path = cacheFilePath(dir.path().toStdString(), "k");
        DecodedSet s = sampleSet(false);
        s.train.count = std::int64_t(1) << 40; // claims a trillion images, holds seven
        s.train.labels.resize(7);
        saveCachedSet(path, "k", s);
        std::string why;
        QVERIFY(!loadCachedSet(path, "k", &why));
        QVERIFY2(why.find("damaged") != std::string::npos, why.c_str());
    }

    void unwritableCacheFolderThrows()
    {
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, saveCachedSet("/proc/no-such/data/x.dset", "k", sampleSet(false)));
    }
};

QTEST_GUILESS_MAIN(TestDataCache)
#include "tst_data_cache.moc"
