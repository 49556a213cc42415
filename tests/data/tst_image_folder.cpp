// The user's own images: PNG and JPEG files in class folders, read back exactly
// (Fashion-MNIST's test set written out and read again), the folder layouts,
// colour conversion, resizing, and bad files and folders.
#include "data/image_files.h"
#include "data/image_folder.h"
#include "data/readers.h"
#include "distillery/data.h"
#include "testutil.h"

#include <QtTest/QtTest>

#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

using namespace distillery;
using namespace distillery::detail;
using testutil::readFile;
using testutil::writeFile;

namespace {

// The largest difference of a JPEG at quality 100 (grey or 4:4:4, accurate DCT)
// from its source: 2, measured on 20 of Fashion-MNIST's test images.
constexpr int kJpegTolerance = 2;

std::string str(const QString &s)
{
    return s.toStdString();
}

Image pattern(int width, int height, int channels, int seed = 0)
{
    Image im{width, height, channels, {}};
    for (int i = 0; i < width * height * channels; ++i)
        im.pixels.push_back(std::uint8_t((i * 37 + seed * 11 + (i / (width * channels)) * 5) % 256));
    return im;
}

Image uniform(int width, int height, int channels, std::vector<std::uint8_t> colour)
{
    Image im{width, height, channels, {}};
    for (int i = 0; i < width * height; ++i)
        im.pixels.insert(im.pixels.end(), colour.begin(), colour.end());
    return im;
}

// Writes `image` at dir/relative, making its folders; PNG or JPEG by the name.
void put(const QString &dir, const QString &relative, const Image &image)
{
    const QString path = dir + "/" + relative;
    QDir().mkpath(QFileInfo(path).path());
    if (relative.endsWith(".png"))
        writePng(str(path), image);
    else
        writeJpeg(str(path), image, 100);
}

void putBytes(const QString &dir, const QString &relative, const QByteArray &bytes)
{
    const QString path = dir + "/" + relative;
    QDir().mkpath(QFileInfo(path).path());
    writeFile(path, bytes);
}

QByteArray encoded(const Image &image, const char *suffix)
{
    QTemporaryDir dir;
    put(dir.path(), QString("x") + suffix, image);
    return readFile(dir.path() + "/x" + suffix);
}

// The message of the DataError that `f` throws; empty when it throws none.
template <class F>
QString errorOf(F &&f)
{
    try {
        f();
    } catch (const DataError &e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

ByteImages readFolder(const QString &dir, const ImageFolderSettings &settings = {})
{
    return decodeImageFolder(listImageFolders(str(dir)).train, settings);
}

QString folderError(const QString &dir, const ImageFolderSettings &settings = {})
{
    return errorOf([&] { readFolder(dir, settings); });
}

QByteArray be32(quint32 v)
{
    const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    return QByteArray(b, 4);
}

QByteArray chunk(const char *type, const QByteArray &data)
{
    const QByteArray typed = QByteArray(type, 4) + data;
    return be32(quint32(data.size())) + typed +
           be32(quint32(crc32(0, reinterpret_cast<const Bytef *>(typed.constData()), uInt(typed.size()))));
}

// A PNG made by hand (8 bits, filter 0 on each row), so that the decoder is not
// checked against its own library's writer only. Colour types: 0 grey, 2 RGB,
// 4 grey + alpha, 6 RGBA.
QByteArray handMadePng(int width, int height, int colourType, const QByteArray &pixels)
{
    const int channels = colourType == 0 ? 1 : colourType == 2 ? 3 : colourType == 4 ? 2 : 4;
    QByteArray raw;
    for (int y = 0; y < height; ++y)
        raw += QByteArray(1, 0) + pixels.mid(y * width * channels, width * channels);
    uLongf size = compressBound(uLong(raw.size()));
    QByteArray z(int(size), 0);
    compress(reinterpret_cast<Bytef *>(z.data()), &size, reinterpret_cast<const Bytef *>(raw.constData()),
             uLong(raw.size()));
    z.resize(int(size));
    const QByteArray ihdr = be32(quint32(width)) + be32(quint32(height)) + QByteArray(1, 8) +
                            QByteArray(1, char(colourType)) + QByteArray(3, 0);
    return QByteArray::fromHex("89504e470d0a1a0a") + chunk("IHDR", ihdr) + chunk("IDAT", z) + chunk("IEND", {});
}

// A valid PNG whose IHDR is patched to declare width x height, its CRC fixed
// with zlib's crc32 so that libpng takes the header as good.
QByteArray withDeclaredSize(QByteArray png, quint32 width, quint32 height)
{
    Q_ASSERT(png.mid(12, 4) == "IHDR");
    png.replace(16, 4, be32(width));
    png.replace(20, 4, be32(height));
    const quint32 crc = quint32(crc32(0, reinterpret_cast<const Bytef *>(png.constData() + 12), 17));
    png.replace(29, 4, be32(crc));
    return png;
}

// The PNG with bytes in the middle of its image data inverted.
QByteArray corrupted(QByteArray png)
{
    const int at = png.indexOf("IDAT");
    const int length = int(png.mid(at - 4, 4).toHex().toUInt(nullptr, 16));
    for (int i = 0; i < 4; ++i)
        png[at + 4 + length / 2 + i] = char(~png[at + 4 + length / 2 + i]);
    return png;
}

QString idxFile(const QString &name)
{
    const QString base = QString("/usr/share/datasets/fashion-mnist/") + name;
    return QFile::exists(base) ? base : QFile::exists(base + ".gz") ? base + ".gz" : QString();
}

int maxDifference(const std::uint8_t *a, const std::uint8_t *b, std::size_t n)
{
    int most = 0;
    for (std::size_t i = 0; i < n; ++i)
        most = std::max(most, std::abs(int(a[i]) - int(b[i])));
    return most;
}

} // namespace

class TestImageFolder : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // Fashion-MNIST's 10,000 test images as files in class folders: every PNG
    // reads back equal to the IDX bytes, the JPEGs within kJpegTolerance, in
    // the IDX order with its labels.
    void fashionMnistRoundTrip()
    {
        const QString imagesPath = idxFile("t10k-images-idx3-ubyte"), labelsPath = idxFile("t10k-labels-idx1-ubyte");
        if (imagesPath.isEmpty() || labelsPath.isEmpty())
            QSKIP("Fashion-MNIST's test set is not in /usr/share/datasets/fashion-mnist "
                  "(apt-get install dataset-fashion-mnist)");
        const IdxArray images = readIdx(str(imagesPath)), labels = readIdx(str(labelsPath));
        const auto n = images.dims[0];
        const int h = int(images.dims[1]), w = int(images.dims[2]);
        QCOMPARE(n, std::int64_t(10000));
        const QStringList names = {"0-T-shirt", "1-Trouser", "2-Pullover", "3-Dress", "4-Coat",
                                   "5-Sandal",  "6-Shirt",   "7-Sneaker",  "8-Bag",   "9-Ankle boot"};
        QTemporaryDir dir;
        const auto isJpeg = [](std::int64_t i) { return i % 500 == 7; };   // 20 of them
        for (std::int64_t i = 0; i < n; ++i) {
            const std::uint8_t *p = &images.values[std::size_t(i * h * w)];
            const QString file = QString("%1").arg(i, 5, 10, QChar('0')) + (isJpeg(i) ? ".jpg" : ".png");
            put(dir.path(), names[labels.values[std::size_t(i)]] + "/" + file, Image{w, h, 1, {p, p + h * w}});
        }

        QElapsedTimer timer;
        timer.start();
        const ImageFolderLayout layout = listImageFolders(str(dir.path()));
        std::vector<std::pair<std::int64_t, std::int64_t>> calls;
        bool onCaller = true;
        const auto caller = std::this_thread::get_id();
        const ByteImages b = decodeImageFolder(layout.train, {}, [&](std::int64_t done, std::int64_t total) {
            calls.emplace_back(done, total);
            onCaller = onCaller && std::this_thread::get_id() == caller;
        });
        qInfo("listed and decoded %lld PNG and JPEG files in %lld ms on %u threads", qlonglong(n),
              qlonglong(timer.elapsed()), std::max(1u, std::thread::hardware_concurrency()));

        QVERIFY(!layout.test);
        QCOMPARE(layout.train.classNames.size(), std::size_t(10));
        for (int c = 0; c < 10; ++c)
            QCOMPARE(QString::fromStdString(layout.train.classNames[std::size_t(c)]), names[c]);
        QCOMPARE(b.count, n);
        QCOMPARE(b.channels, 1);
        QCOMPARE(b.height, h);
        QCOMPARE(b.width, w);
        QVERIFY(std::equal(b.labels.begin(), b.labels.end(), labels.values.begin()));
        int jpegDifference = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            const std::size_t at = std::size_t(i * h * w);
            const int d = maxDifference(&b.pixels[at], &images.values[at], std::size_t(h * w));
            if (isJpeg(i))
                jpegDifference = std::max(jpegDifference, d);
            else if (d != 0)
                QFAIL(qPrintable(QString("PNG %1 differs from the IDX image by up to %2").arg(i).arg(d)));
        }
        qInfo("JPEG at quality 100: largest difference from the IDX bytes %d", jpegDifference);
        QVERIFY2(jpegDifference <= kJpegTolerance, qPrintable(QString::number(jpegDifference)));
        QVERIFY(!calls.empty());
        QVERIFY(onCaller);
        QCOMPARE(calls.back(), std::make_pair(n, n));
        QVERIFY(std::is_sorted(calls.begin(), calls.end()));
    }

    void trainAndTestFolders()
    {
        QTemporaryDir dir;
        const QString root = dir.path();
        for (const char *c : {"cat", "dog", "emu"})
            for (int i = 0; i < 2; ++i)
                put(root, QString("train/%1/%2.png").arg(c).arg(i), pattern(6, 4, 3, i));
        put(root, "test/cat/t0.png", pattern(6, 4, 3));
        put(root, "test/emu/t1.jpg", pattern(6, 4, 3));
        put(root, "test/emu/t0.png", pattern(6, 4, 3));
        putBytes(root, "README.txt", "not an image, and not in a class folder: ignored");
        putBytes(root, "test/emu/.DS_Store", "hidden: skipped");
        const ImageFolderLayout layout = listImageFolders(str(root));
        QCOMPARE(layout.train.classNames, (std::vector<std::string>{"cat", "dog", "emu"}));
        QCOMPARE(layout.train.files.size(), std::size_t(6));
        QVERIFY(layout.test);
        QCOMPARE(layout.test->classNames, layout.train.classNames);
        // By file name, then class; labels as in train (emu is 2, not 1).
        QCOMPARE(layout.test->files.size(), std::size_t(3));
        QVERIFY(QString::fromStdString(layout.test->files[0].path).endsWith("test/cat/t0.png"));
        QVERIFY(QString::fromStdString(layout.test->files[1].path).endsWith("test/emu/t0.png"));
        QVERIFY(QString::fromStdString(layout.test->files[2].path).endsWith("test/emu/t1.jpg"));
        QCOMPARE(layout.test->files[0].label, std::int64_t(0));
        QCOMPARE(layout.test->files[2].label, std::int64_t(2));
        QCOMPARE(layout.train.files[1].label, std::int64_t(1));   // dog/0.png between cat/0 and emu/0
        QVERIFY(layout.test->files[0].size > 0 && layout.test->files[0].mtime > 0);
        const ByteImages test = decodeImageFolder(*layout.test, {});
        QCOMPARE(test.count, std::int64_t(3));
        QCOMPARE(test.labels, (std::vector<std::int64_t>{0, 2, 2}));

        put(root, "test/fox/0.png", pattern(6, 4, 3));
        const QString msg = errorOf([&] { listImageFolders(str(root)); });
        QVERIFY2(msg.contains(root + "/test/fox") && msg.contains("not among the training classes (cat, dog, emu)"),
                 qPrintable(msg));
    }

    void greyAndColour()
    {
        QTemporaryDir dir;
        const QString root = dir.path();
        const Image grey = pattern(9, 7, 1);
        put(root, "a/0.png", grey);
        put(root, "a/1.jpg", grey);
        ImageFolderSettings rgb;
        rgb.channels = 3;
        const ByteImages asRgb = readFolder(root, rgb);
        QCOMPARE(asRgb.channels, 3);
        const std::size_t plane = 9 * 7;
        for (std::size_t c = 0; c < 3; ++c) {
            QVERIFY(std::equal(grey.pixels.begin(), grey.pixels.end(), asRgb.pixels.begin() + long(c * plane)));
            QVERIFY(maxDifference(&asRgb.pixels[3 * plane + c * plane], grey.pixels.data(), plane) <= kJpegTolerance);
        }

        // RGB with equal channels reads as the same grey; colour by BT.601 luma
        // (as PIL and libjpeg), the same from PNG and from JPEG.
        QTemporaryDir colour;
        Image equal{9, 7, 3, {}};
        for (auto v : grey.pixels)
            equal.pixels.insert(equal.pixels.end(), {v, v, v});
        put(colour.path(), "a/0.png", equal);
        put(colour.path(), "b/0.png", uniform(4, 4, 3, {255, 0, 0}));
        put(colour.path(), "b/1.jpg", uniform(4, 4, 3, {255, 0, 0}));
        QCOMPARE(readFolder(colour.path()).channels, 3);   // as the first image
        ImageFolderSettings asGrey;
        asGrey.channels = 1;
        const ByteImages g = readFolder(colour.path(), asGrey);
        QCOMPARE(g.channels, 1);
        QVERIFY(std::equal(grey.pixels.begin(), grey.pixels.end(), g.pixels.begin()));
        QCOMPARE(int(g.pixels[plane]), 76);                              // b/0.png: 0.299 x 255
        QVERIFY(std::abs(int(g.pixels[2 * plane]) - 76) <= kJpegTolerance);   // b/1.jpg
    }

    // Alpha is composed onto black: v x a / 255, in PNGs made by hand.
    void alphaOntoBlack()
    {
        const QByteArray rgba = QByteArray::fromHex("c8643280" "ffffffff" "0a141e00" "00000040");
        const Image c = decodeImage(reinterpret_cast<const std::uint8_t *>(handMadePng(2, 2, 6, rgba).constData()),
                                    std::size_t(handMadePng(2, 2, 6, rgba).size()), 3, "rgba.png");
        QCOMPARE(c.pixels, (std::vector<std::uint8_t>{100, 50, 25, 255, 255, 255, 0, 0, 0, 0, 0, 0}));
        const QByteArray ga = handMadePng(2, 1, 4, QByteArray::fromHex("c880ffff"));
        const Image g = decodeImage(reinterpret_cast<const std::uint8_t *>(ga.constData()), std::size_t(ga.size()), 1,
                                    "ga.png");
        QCOMPARE(g.pixels, (std::vector<std::uint8_t>{100, 255}));
        const QByteArray plain = handMadePng(3, 1, 0, QByteArray::fromHex("00807f"));
        const auto *p = reinterpret_cast<const std::uint8_t *>(plain.constData());
        QCOMPARE(decodeImage(p, std::size_t(plain.size()), 1, "g.png").pixels, (std::vector<std::uint8_t>{0, 128, 127}));
        QCOMPARE(readImageHeader(p, std::size_t(plain.size()), "g.png").channels, 1);
    }

    void resizing()
    {
        QTemporaryDir dir;
        const QString root = dir.path();
        put(root, "a/0.png", uniform(8, 8, 1, {100}));
        put(root, "a/1.png", uniform(12, 6, 1, {100}));
        put(root, "b/2.jpg", pattern(5, 9, 3));
        const ByteImages same = readFolder(root);   // 8 x 8, as the first image
        QCOMPARE(same.count, std::int64_t(3));
        QCOMPARE(same.width, 8);
        QCOMPARE(same.height, 8);
        QVERIFY(std::all_of(same.pixels.begin() + 64, same.pixels.begin() + 128, [](auto v) { return v == 100; }));
        ImageFolderSettings small;
        small.width = 4;
        small.height = 3;
        const ByteImages s = readFolder(root, small);
        QCOMPARE(s.width, 4);
        QCOMPARE(s.height, 3);
        QCOMPARE(s.pixels.size(), std::size_t(3 * 4 * 3));

        ImageFolderSettings strict;
        strict.resize = false;
        const QString msg = folderError(root, strict);
        QVERIFY2(msg.contains(root + "/a/1.png") && msg.contains("is 12 x 6 pixels, not 8 x 8"), qPrintable(msg));
    }

    // The same bytes on one thread and on several; progress on the caller only.
    void threadsAndProgress()
    {
        QTemporaryDir dir;
        for (int i = 0; i < 60; ++i)
            put(dir.path(), QString("c%1/%2.%3").arg(i % 3).arg(i, 3, 10, QChar('0')).arg(i % 4 ? "png" : "jpg"),
                pattern(16, 16, 3, i));
        const ImageFolderListing listing = listImageFolders(str(dir.path())).train;
        ImageFolderSettings one, many;
        one.threads = 1;
        many.threads = 5;
        std::int64_t lastDone = -1, lastTotal = -1;
        int calls = 0;
        const ByteImages a = decodeImageFolder(listing, one);
        const ByteImages b = decodeImageFolder(listing, many, [&](std::int64_t done, std::int64_t total) {
            ++calls;
            lastDone = done;
            lastTotal = total;
        });
        QCOMPARE(a.pixels, b.pixels);
        QCOMPARE(a.labels, b.labels);
        QVERIFY(calls >= 1);
        QCOMPARE(lastDone, std::int64_t(60));
        QCOMPARE(lastTotal, std::int64_t(60));
        // An exception from `progress` stops the decoding and comes out.
        const QString stopped = errorOf([&] {
            decodeImageFolder(listing, many, [](std::int64_t, std::int64_t) { throw DataError("cancelled"); });
        });
        QCOMPARE(stopped, QString("cancelled"));
    }

    // Settings that cannot work are refused before any file is read.
    void settingsChecked()
    {
        ImageFolderListing listing;
        listing.root = "/nowhere";
        for (int i = 0; i < 22; ++i)   // never read: the total is refused first
            listing.files.push_back({"/nowhere/a/" + std::to_string(i) + ".png", 0, 0, 0});
        ImageFolderSettings s;
        s.channels = 3;
        s.width = s.height = 16384;   // 22 x 768 MiB
        QString msg = errorOf([&] { decodeImageFolder(listing, s); });
        QCOMPARE(msg, QString("/nowhere: 22 images of 3 x 16384 x 16384 bytes would take 16.5 GiB, "
                              "more than Distillery reads at once (16 GiB)"));
        s.channels = 2;
        msg = errorOf([&] { decodeImageFolder(listing, s); });
        QVERIFY2(msg.contains("1 (grey) or 3 (RGB) channels, not 2"), qPrintable(msg));
        s.channels = 1;
        s.width = 16385;
        msg = errorOf([&] { decodeImageFolder(listing, s); });
        QVERIFY2(msg.contains("more than Distillery reads (at most 16384 x 16384)"), qPrintable(msg));
    }

    void headers()
    {
        const QByteArray png = encoded(pattern(5, 3, 3), ".png"), jpeg = encoded(pattern(5, 3, 1), ".jpg");
        const auto *p = reinterpret_cast<const std::uint8_t *>(png.constData());
        const auto *j = reinterpret_cast<const std::uint8_t *>(jpeg.constData());
        QCOMPARE(int(sniffImageFormat(p, std::size_t(png.size()))), int(ImageFormat::Png));
        QCOMPARE(int(sniffImageFormat(j, std::size_t(jpeg.size()))), int(ImageFormat::Jpeg));
        QCOMPARE(int(sniffImageFormat(p, 4)), int(ImageFormat::Unknown));
        const ImageHeader hp = readImageHeader(p, std::size_t(png.size()), "p"), hj = readImageHeader(j, std::size_t(jpeg.size()), "j");
        QVERIFY(hp.width == 5 && hp.height == 3 && hp.channels == 3);
        QVERIFY(hj.width == 5 && hj.height == 3 && hj.channels == 1);

        // The largest size is read from the header alone; past it, refused quickly.
        const QByteArray largest = withDeclaredSize(png, 16384, 16384);
        QCOMPARE(readImageHeader(reinterpret_cast<const std::uint8_t *>(largest.constData()),
                                 std::size_t(largest.size()), "l").width, 16384);
        for (auto size : {std::pair<quint32, quint32>{16385, 16384}, {50000, 50000}, {0, 5}}) {
            const QByteArray big = withDeclaredSize(png, size.first, size.second);
            const auto *b = reinterpret_cast<const std::uint8_t *>(big.constData());
            QElapsedTimer timer;
            timer.start();
            const QString header = errorOf([&] { readImageHeader(b, std::size_t(big.size()), "big.png"); });
            const QString decoded = errorOf([&] { decodeImage(b, std::size_t(big.size()), 3, "big.png"); });
            QVERIFY2(timer.elapsed() < 1000, qPrintable(QString::number(timer.elapsed())));
            QVERIFY2(header.startsWith("big.png: ") && header == decoded, qPrintable(header + " | " + decoded));
        }
        const QByteArray big = withDeclaredSize(png, 50000, 50000);
        QCOMPARE(errorOf([&] { readImageHeader(reinterpret_cast<const std::uint8_t *>(big.constData()),
                                               std::size_t(big.size()), "big.png"); }),
                 QString("big.png: declares 50000 x 50000 pixels, more than Distillery reads (at most 16384 x 16384)"));
    }

    void badInput_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("named");      // the file or folder the message names
        QTest::addColumn<QString>("expected");
        QTest::newRow("empty class folder") << "empty class" << "b" << "is an empty class folder";
        QTest::newRow("no class folders") << "no classes" << "" << "has no class folders";
        QTest::newRow("images in the folder itself") << "loose images" << "" << "holds images directly (0.png)";
        QTest::newRow("corrupt PNG") << "corrupt png" << "a/1.png" << "corrupt or truncated PNG image";
        QTest::newRow("truncated PNG") << "truncated png" << "a/1.png" << "corrupt or truncated PNG image";
        QTest::newRow("truncated JPEG") << "truncated jpeg" << "a/1.jpg" << "corrupt or truncated JPEG image";
        QTest::newRow("JPEG cut in its header") << "jpeg header" << "a/1.jpg" << "not a valid JPEG image";
        QTest::newRow("text file") << "txt" << "a/notes.txt" << "is not a PNG or JPEG file";
        QTest::newRow("text as PNG") << "text png" << "a/1.png" << "not a PNG or JPEG image";
        QTest::newRow("empty PNG") << "empty png" << "a/1.png" << "is empty";
        QTest::newRow("50000 x 50000") << "huge" << "a/1.png"
                                       << "declares 50000 x 50000 pixels, more than Distillery reads "
                                          "(at most 16384 x 16384)";
        QTest::newRow("50000 x 50000 first") << "huge first" << "a/0.png" << "declares 50000 x 50000 pixels";
        QTest::newRow("folder in a class") << "nested" << "a/deeper" << "is a folder inside a class folder";
        QTest::newRow("missing folder") << "missing" << "nope" << "no such folder";
        QTest::newRow("a file, not a folder") << "file" << "file.png" << "not a folder";
    }
    void badInput()
    {
        QFETCH(QString, kind);
        QFETCH(QString, named);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        QString root = dir.path();
        const Image good = pattern(64, 48, 3);
        const QByteArray png = encoded(good, ".png"), jpeg = encoded(good, ".jpg");
        if (kind != "no classes" && kind != "missing" && kind != "file" && kind != "huge first")
            put(root, "a/0.png", good);
        if (kind == "empty class")
            QDir().mkpath(root + "/b");
        else if (kind == "loose images")
            put(root, "0.png", good);
        else if (kind == "corrupt png")
            putBytes(root, "a/1.png", corrupted(png));
        else if (kind == "truncated png")
            putBytes(root, "a/1.png", png.left(png.size() / 2));
        else if (kind == "truncated jpeg")
            putBytes(root, "a/1.jpg", jpeg.left(jpeg.size() * 6 / 10));
        else if (kind == "jpeg header")
            putBytes(root, "a/1.jpg", jpeg.left(20));
        else if (kind == "txt")
            putBytes(root, "a/notes.txt", "hello");
        else if (kind == "text png")
            putBytes(root, "a/1.png", "hello, I am not a picture\n");
        else if (kind == "empty png")
            putBytes(root, "a/1.png", "");
        else if (kind == "huge" || kind == "huge first")
            putBytes(root, kind == "huge" ? "a/1.png" : "a/0.png", withDeclaredSize(encoded(good, ".png"), 50000, 50000));
        else if (kind == "nested")
            put(root, "a/deeper/0.png", good);
        else if (kind == "missing")
            root += "/nope";
        else if (kind == "file") {
            putBytes(root, "file.png", png);
            root += "/file.png";
        }
        QElapsedTimer timer;
        timer.start();
        const QString msg = folderError(root);
        QVERIFY2(msg.contains(expected), qPrintable(msg));
        const QString path = named.isEmpty() || kind == "missing" || kind == "file" ? root : root + "/" + named;
        QVERIFY2(msg.startsWith(path + ": ") || msg.contains(path), qPrintable(msg));
        QVERIFY2(timer.elapsed() < 2000, qPrintable(QString("took %1 ms").arg(timer.elapsed())));
    }
};

QTEST_GUILESS_MAIN(TestImageFolder)
#include "tst_image_folder.moc"
