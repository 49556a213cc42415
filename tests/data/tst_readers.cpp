// Data readers on good, corrupt and hostile files.
#include "distillery/data.h"
#include "testutil.h"

#include <QtTest/QtTest>

#include <zlib.h>

using namespace distillery;
using testutil::writeFile;

namespace {

QByteArray be32(quint32 v)
{
    QByteArray b(4, 0);
    b[0] = char(v >> 24);
    b[1] = char(v >> 16);
    b[2] = char(v >> 8);
    b[3] = char(v);
    return b;
}

QByteArray idxImages(quint32 n, quint32 h, quint32 w, int seed = 0)
{
    QByteArray b = QByteArray::fromHex("00000803") + be32(n) + be32(h) + be32(w);
    for (quint32 i = 0; i < n * h * w; ++i)
        b.append(char((i * 37 + seed) % 256));
    return b;
}

QByteArray idxLabels(quint32 n, int classes)
{
    QByteArray b = QByteArray::fromHex("00000801") + be32(n);
    for (quint32 i = 0; i < n; ++i)
        b.append(char(i % classes));
    return b;
}

void writeGz(const QString &path, const QByteArray &bytes)
{
    gzFile f = gzopen(path.toLocal8Bit().constData(), "wb");
    QVERIFY(f);
    QCOMPARE(gzwrite(f, bytes.constData(), unsigned(bytes.size())), int(bytes.size()));
    gzclose(f);
}

// A small, valid IDX data set (train 40, test 10, 4 classes, 6x5 images).
void writeIdxSet(const QString &dir, bool gz)
{
    auto put = [&](const QString &name, const QByteArray &b) {
        if (gz)
            writeGz(dir + "/" + name + ".gz", b);
        else
            writeFile(dir + "/" + name, b);
    };
    put("train-images-idx3-ubyte", idxImages(40, 6, 5));
    put("train-labels-idx1-ubyte", idxLabels(40, 4));
    put("t10k-images-idx3-ubyte", idxImages(10, 6, 5, 3));
    put("t10k-labels-idx1-ubyte", idxLabels(10, 4));
}

DataConfig idxConfig(const QString &dir)
{
    DataConfig c;
    c.source = "idx";
    c.path = dir.toStdString();
    c.validationFraction = 0.25;
    return c;
}

QString errorOf(const DataConfig &c)
{
    try {
        inspectDataset(c);
    } catch (const std::exception &e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

class TestReaders : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void idxRawAndGzip_data()
    {
        QTest::addColumn<bool>("gz");
        QTest::newRow("raw") << false;
        QTest::newRow("gzip") << true;
    }
    void idxRawAndGzip()
    {
        QFETCH(bool, gz);
        QTemporaryDir dir;
        writeIdxSet(dir.path(), gz);
        const auto s = inspectDataset(idxConfig(dir.path()));
        QCOMPARE(s.inputShape, (Shape{1, 6, 5}));
        QCOMPARE(s.classes, 4);
        QCOMPARE(s.trainSamples, qint64(30));
        QCOMPARE(s.validationSamples, qint64(10));
        QCOMPARE(s.testSamples, qint64(10));
        qint64 counted = 0;
        for (auto c : s.trainClassCounts)
            counted += c;
        QCOMPARE(counted, qint64(30));
    }

    void corruptIdx_data()
    {
        QTest::addColumn<QByteArray>("images");
        QTest::addColumn<QByteArray>("labels");
        QTest::addColumn<QString>("expected");
        const QByteArray good = idxImages(40, 6, 5), labels = idxLabels(40, 4);
        QByteArray wrongMagic = good;
        wrongMagic[0] = 0x12;
        QTest::newRow("wrong magic") << wrongMagic << labels << "train-images-idx3-ubyte: not an IDX file";
        QTest::newRow("truncated") << good.left(good.size() - 7) << labels << "train-images-idx3-ubyte: truncated";
        QTest::newRow("trailing bytes") << good + "xyz" << labels << "bytes after the data";
        QTest::newRow("count mismatch") << good << idxLabels(39, 4) << "holds 40 images but";
        QTest::newRow("labels as images") << labels << labels << "expected images";
        QTest::newRow("empty") << QByteArray() << labels << "too short";
        QTest::newRow("float type") << QByteArray::fromHex("00000d03") + good.mid(4) << labels << "element type";
        // 10^4 x 10^4 x 10^4 = 10^12 images claimed by a tiny file: refused before any allocation.
        QTest::newRow("huge claim") << QByteArray::fromHex("00000803") + be32(10000) + be32(10000) + be32(10000) + "abc"
                                    << labels << "truncated: header claims 1000000000000 values, file holds 3";
    }
    void corruptIdx()
    {
        QFETCH(QByteArray, images);
        QFETCH(QByteArray, labels);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        writeIdxSet(dir.path(), false);
        writeFile(dir.path() + "/train-images-idx3-ubyte", images);
        writeFile(dir.path() + "/train-labels-idx1-ubyte", labels);
        const QString msg = errorOf(idxConfig(dir.path()));
        QVERIFY2(msg.contains(expected), qPrintable(msg));
        QVERIFY2(msg.contains(dir.path()), qPrintable(msg)); // names the file
    }

    void corruptGzip()
    {
        QTemporaryDir dir;
        writeIdxSet(dir.path(), true);
        QByteArray gz = testutil::readFile(dir.path() + "/train-images-idx3-ubyte.gz");
        gz.truncate(gz.size() / 2);
        writeFile(dir.path() + "/train-images-idx3-ubyte.gz", gz);
        const QString msg = errorOf(idxConfig(dir.path()));
        QVERIFY2(msg.contains("train-images-idx3-ubyte.gz"), qPrintable(msg));
    }

    void missingData()
    {
        QTemporaryDir dir;
        QVERIFY(errorOf(idxConfig(dir.path() + "/nope")).contains("data folder not found"));
        QVERIFY(errorOf(idxConfig(dir.path())).contains("no train-images-idx3-ubyte"));
        DataConfig c;
        c.source = "fashion-mnsit";
        QVERIFY(errorOf(c).contains("did you mean 'fashion-mnist'"));
        c.source = "mnist";
        c.path = "/nonexistent/mnist";
        QVERIFY(errorOf(c).contains("/nonexistent/mnist"));
    }

    void cifarBatches()
    {
        QTemporaryDir dir;
        auto batch = [](int n, int labelOffset) {
            QByteArray b;
            for (int i = 0; i < n; ++i) {
                b.append(char((i + labelOffset) % 10));
                b.append(QByteArray(3072, char(i)));
            }
            return b;
        };
        for (int i = 1; i <= 5; ++i)
            writeFile(dir.path() + QString("/data_batch_%1.bin").arg(i), batch(4, i));
        writeFile(dir.path() + "/test_batch.bin", batch(3, 0));
        DataConfig c;
        c.source = "cifar10";
        c.path = dir.path().toStdString();
        c.validationFraction = 0.1;
        const auto s = inspectDataset(c);
        QCOMPARE(s.inputShape, (Shape{3, 32, 32}));
        QCOMPARE(s.trainSamples + s.validationSamples, qint64(20));
        QCOMPARE(s.testSamples, qint64(3));
        QCOMPARE(s.classNames.at(0), std::string("airplane"));

        writeFile(dir.path() + "/data_batch_3.bin", batch(4, 0).left(5000));
        QVERIFY(errorOf(c).contains("data_batch_3.bin: not a CIFAR-10 binary file"));
        QByteArray badLabel = batch(4, 0);
        badLabel[0] = char(42);
        writeFile(dir.path() + "/data_batch_3.bin", badLabel);
        QVERIFY(errorOf(c).contains("label 42"));
    }

    void cifar100()
    {
        QTemporaryDir dir;
        // Records: coarse label, fine label, 3072 pixels.
        auto file = [](int n, int offset) {
            QByteArray b;
            for (int i = 0; i < n; ++i) {
                b.append(char((i + offset) % 20));
                b.append(char((i * 7 + offset) % 100));
                b.append(QByteArray(3072, char(i + offset)));
            }
            return b;
        };
        writeFile(dir.path() + "/train.bin", file(30, 0));
        writeFile(dir.path() + "/test.bin", file(6, 3));
        DataConfig c;
        c.source = "cifar100";
        c.path = dir.path().toStdString();
        c.validationFraction = 0.1;
        auto s = inspectDataset(c);
        QCOMPARE(s.inputShape, (Shape{3, 32, 32}));
        QCOMPARE(s.classes, 100);
        QCOMPARE(s.trainSamples + s.validationSamples, qint64(30));
        QCOMPARE(s.testSamples, qint64(6));
        QCOMPARE(s.classNames.at(42), std::string("class 42")); // no names file
        // The fine labels by default: each training record's own (i * 7 % 100).
        qint64 counted = 0;
        for (auto n : s.trainClassCounts)
            counted += n;
        QCOMPARE(counted, s.trainSamples);

        QByteArray coarseNames;
        for (int i = 0; i < 20; ++i)
            coarseNames += "super" + QByteArray::number(i) + "\n";
        writeFile(dir.path() + "/coarse_label_names.txt", coarseNames);
        c.cifar100Labels = "coarse";
        s = inspectDataset(c);
        QCOMPARE(s.classes, 20);
        QCOMPARE(s.classNames.at(19), std::string("super19"));

        writeFile(dir.path() + "/test.bin", file(6, 0).left(3074 * 5 + 100));
        QVERIFY(errorOf(c).contains("test.bin: not a CIFAR-100 binary file (size"));
        QByteArray badFine = file(6, 0);
        badFine[1] = char(100);
        writeFile(dir.path() + "/test.bin", badFine);
        QVERIFY(errorOf(c).contains("test.bin: record 0 has fine label 100 (CIFAR-100 fine labels are 0 to 99)"));
        QFile::remove(dir.path() + "/train.bin");
        QVERIFY(errorOf(c).contains("no train.bin"));
    }

    void csv()
    {
        QTemporaryDir dir;
        QByteArray text = "a,b,species,c\n";
        for (int i = 0; i < 30; ++i)
            text += QByteArray::number(i * 0.5) + "," + QByteArray::number(-i) + "," +
                    (i % 3 == 0 ? "setosa" : i % 3 == 1 ? "\"versi,color\"" : "virginica") + "," +
                    QByteArray::number(i % 7) + "\n";
        writeFile(dir.path() + "/iris.csv", text);
        DataConfig c;
        c.source = "csv";
        c.path = (dir.path() + "/iris.csv").toStdString();
        c.labelColumn = "species";
        c.validationFraction = 0;
        const auto s = inspectDataset(c);
        QCOMPARE(s.inputShape, (Shape{3}));
        QCOMPARE(s.classes, 3);
        QCOMPARE(s.classNames, (std::vector<std::string>{"setosa", "versi,color", "virginica"}));
        QCOMPARE(s.trainSamples + s.testSamples, qint64(30)); // a fifth held out as test set
        QCOMPARE(s.testSamples, qint64(6));

        c.labelColumn = "2"; // by index
        QCOMPARE(inspectDataset(c).classes, 3);
        c.labelColumn = "002";
        QCOMPARE(inspectDataset(c).classes, 3);
        for (const char *past : {"4", "10", "99999999999999999999"}) { // the last past int's range
            c.labelColumn = past;
            QVERIFY2(errorOf(c).contains("is past the last column (4 columns)"), qPrintable(errorOf(c)));
        }
        c.labelColumn = "label";
        QVERIFY(errorOf(c).contains("no column named 'label'"));
        c.labelColumn = "species";
        writeFile(dir.path() + "/iris.csv", text + "1.0,oops,setosa,2\n");
        const QString msg = errorOf(c);
        QVERIFY2(msg.contains("line 32") && msg.contains("'b'") && msg.contains("oops"), qPrintable(msg));
        writeFile(dir.path() + "/iris.csv", text + "1.0,2.0,setosa\n");
        QVERIFY(errorOf(c).contains("has 3 columns"));
        writeFile(dir.path() + "/iris.csv", "");
        QVERIFY(errorOf(c).contains("empty file"));
    }

    void syntheticIsDeterministic()
    {
        DataConfig c;
        c.source = "synthetic-images";
        c.syntheticTrain = 500;
        c.syntheticTest = 100;
        c.syntheticClasses = 5;
        c.syntheticFeatures = 12;
        const auto a = inspectDataset(c), b = inspectDataset(c);
        QCOMPARE(a.inputShape, (Shape{1, 12, 12}));
        QCOMPARE(a.classes, 5);
        QCOMPARE(a.trainClassCounts, b.trainClassCounts);
        c.seed = 99;
        QVERIFY(inspectDataset(c).trainClassCounts != a.trainClassCounts);
        c.source = "synthetic-vectors";
        QCOMPARE(inspectDataset(c).inputShape, (Shape{12}));
    }

    void transferSubsetIsBalanced()
    {
        DataConfig c;
        c.source = "synthetic-vectors";
        c.syntheticTrain = 2000;
        c.syntheticClasses = 4;
        c.studentTrainSize = 100;
        const auto s = inspectDataset(c);
        QCOMPARE(s.studentTrainSamples, qint64(100));
        c.studentTrainSize = 3;
        QVERIFY(errorOf(c).contains("data.student_train_size"));
    }

    void fashionMnist()
    {
        DataConfig c; // the default source
        if (!QFileInfo::exists(QString::fromStdString(defaultDataPath(c.source))))
            QSKIP("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        const auto s = inspectDataset(c);
        QCOMPARE(s.inputShape, (Shape{1, 28, 28}));
        QCOMPARE(s.classes, 10);
        QCOMPARE(s.trainSamples, qint64(54000));
        QCOMPARE(s.validationSamples, qint64(6000));
        QCOMPARE(s.testSamples, qint64(10000));
        QCOMPARE(s.classNames.at(9), std::string("Ankle boot"));
    }
};

QTEST_GUILESS_MAIN(TestReaders)
#include "tst_readers.moc"
