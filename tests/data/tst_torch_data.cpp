// Data sets as tensors (core/src/data/torch_data.cpp): the students' transfer
// set without the omitted classes, alone and with a class-balanced subset,
// while the teacher's split keeps every class.
#include "data/torch_data.h"
#include "distillery/data.h"
#include "testutil.h"

#include <QtTest/QtTest>

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
};

QTEST_APPLESS_MAIN(TestTorchData)
#include "tst_torch_data.moc"
