// Data sets as tensors (core/src/data/torch_data.cpp): the students' transfer
// set without the omitted classes, alone and with a class-balanced subset,
// while the teacher's split keeps every class; the examples at given rows of
// a split (datasetExamples) against the source's own pixels and features.
#include "data/sources.h"
#include "data/torch_data.h"
#include "distillery/data.h"
#include "testutil.h"

#include <QtTest/QtTest>

#include <set>

using namespace distillery;
using namespace distillery::detail;

namespace {

DataConfig synthetic()
{
    return testutil::syntheticExperiment().data;
}

std::vector<std::int64_t> labelCounts(const torch::Tensor &y, int classes)
{
    const auto c = torch::bincount(y, {}, classes);
    return {c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + classes};
}

} // namespace

class TestTorchData : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void omittedClassesNeverReachTheStudents()
    {
        DataConfig c = synthetic();
        c.omitClasses = {2};
        const LoadedData d = loadData(c, torch::kCPU);
        const auto teacher = labelCounts(d.train.y, 4);
        const auto students = labelCounts(studentSplit(d).y, 4);
        QCOMPARE(students[2], std::int64_t(0));
        for (int k : {0, 1, 3})
            QCOMPARE(students[std::size_t(k)], teacher[std::size_t(k)]); // every other example stays
        QVERIFY(teacher[2] > 0);
        QCOMPARE(d.summary.studentTrainSamples, teacher[0] + teacher[1] + teacher[3]);
    }

    void aBalancedSubsetOfTheKeptClasses()
    {
        DataConfig c = synthetic();
        c.omitClasses = {0, 3};
        c.studentTrainSize = 300;
        const auto students = labelCounts(studentSplit(loadData(c, torch::kCPU)).y, 4);
        QCOMPARE(students, (std::vector<std::int64_t>{0, 150, 150, 0}));
    }

    void withoutOmissionTheSubsetIsAsBefore()
    {
        DataConfig c = synthetic();
        c.studentTrainSize = 200;
        const auto students = labelCounts(studentSplit(loadData(c, torch::kCPU)).y, 4);
        QCOMPARE(students, (std::vector<std::int64_t>{50, 50, 50, 50}));
        c.studentTrainSize = 0;
        QVERIFY(!loadData(c, torch::kCPU).studentIndices.defined()); // all rows, no copy
    }

    void badOmissionsAreNamed()
    {
        DataConfig c = synthetic();
        c.omitClasses = {4};
        QVERIFY_THROWS_EXCEPTION(ConfigError, loadData(c, torch::kCPU));
        c.omitClasses = {0, 1, 2, 3};
        try {
            loadData(c, torch::kCPU);
            QFAIL("every class omitted was accepted");
        } catch (const ConfigError &e) {
            QVERIFY2(QString(e.what()).contains("data.omit_classes: every class is omitted"), e.what());
        }
    }

    // Test images as stored in the IDX files, 8-bit, each with its label;
    // training rows are those of the training split (the validation split held out).
    void examplesAreTheSourcesPixels()
    {
        QTemporaryDir dir;
        const int height = 12, width = 10, classes = 4;
        testutil::writeIdxDataSet(dir.path(), 200, 50, height, width, classes);
        DataConfig c;
        c.source = "idx";
        c.path = dir.path().toStdString();
        c.validationFraction = 0.2;
        const std::vector<std::int64_t> rows{7, 0, 49, 7};
        const DatasetExamples e = datasetExamples(c, "test", rows);
        QCOMPARE(e.rows, rows);
        QVERIFY(e.features.empty());
        QCOMPARE(e.images.size(), rows.size());
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const SampleImage &img = e.images[i];
            QCOMPARE(img.width, width);
            QCOMPARE(img.height, height);
            QCOMPARE(img.channels, 1);
            const int label = int(rows[i] % classes);
            QCOMPARE(img.label, label);
            QCOMPARE(e.labels[i], std::int64_t(label));
            for (int y = 0; y < height; ++y)
                for (int x = 0; x < width; ++x)
                    QCOMPARE(int(img.pixels[std::size_t(y * width + x)]),
                             int(testutil::idxPixel(true, int(rows[i]), y, x, label, height, classes)));
        }
        // The training split: 160 of the 200 rows, each one of the file's images.
        const LoadedData d = loadData(c, torch::kCPU);
        QCOMPARE(d.train.size(), std::int64_t(160));
        std::vector<std::int64_t> all(160);
        for (std::int64_t r = 0; r < 160; ++r)
            all[std::size_t(r)] = r;
        const DatasetExamples t = datasetExamples(c, "train", all);
        std::set<int> seen;
        for (std::size_t r = 0; r < all.size(); ++r) {
            QCOMPARE(t.labels[r], d.train.y[std::int64_t(r)].item<std::int64_t>());
            int found = -1;
            for (int i = 0; i < 200 && found < 0; ++i) {
                bool same = i % classes == t.images[r].label;
                for (int y = 0; same && y < height; ++y)
                    for (int x = 0; same && x < width; ++x)
                        same = t.images[r].pixels[std::size_t(y * width + x)] ==
                               testutil::idxPixel(false, i, y, x, i % classes, height, classes);
                if (same)
                    found = i;
            }
            QVERIFY2(found >= 0, qPrintable(QString::number(r)));
            seen.insert(found);
        }
        QCOMPARE(int(seen.size()), 160);
        QCOMPARE(datasetExamples(c, "validation", {39}).images.size(), std::size_t(1));
    }

    // Vectors come back as read, the normalisation undone.
    void vectorExamplesAreTheSourcesFeatures()
    {
        const DataConfig c = synthetic();
        const RawData raw = loadRawData(c, {});
        const DatasetExamples e = datasetExamples(c, "test", {3, 250});
        QVERIFY(e.images.empty());
        QCOMPARE(e.features.size(), std::size_t(2));
        for (std::size_t i = 0; i < 2; ++i) {
            const auto source = raw.testX[e.rows[i]];
            QCOMPARE(e.features[i].size(), std::size_t(source.numel()));
            for (std::int64_t f = 0; f < source.numel(); ++f)
                QVERIFY(std::abs(e.features[i][std::size_t(f)] - source[f].item<float>()) < 1e-4);
            QCOMPARE(e.labels[i], raw.testY[e.rows[i]].item<std::int64_t>());
        }
    }

    void badExampleRequestsAreNamed()
    {
        DataConfig c;
        c.source = "idx";
        c.path = "/nonexistent/idx-folder";
        try {
            datasetExamples(c, "test", {0});
            QFAIL("a missing data set was accepted");
        } catch (const DataError &e) {
            QVERIFY2(QString(e.what()).contains("/nonexistent/idx-folder"), e.what());
        }
        QVERIFY_THROWS_EXCEPTION(DataError, datasetExamples(synthetic(), "test", {500}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, datasetExamples(synthetic(), "tests", {0}));
    }
};

QTEST_APPLESS_MAIN(TestTorchData)
#include "tst_torch_data.moc"
