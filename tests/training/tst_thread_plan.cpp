// The rule that splits the cores between LibTorch's and OpenBLAS's threads
// (core/src/training/thread_plan.cpp), and the split of a model's work it
// reads.
#include "distillery/architecture.h"
#include "distillery/engine.h"
#include "testutil.h"
#include "training/thread_plan.h"

#include <QtTest/QtTest>

using namespace distillery;
using namespace distillery::detail;

class TestThreadPlan : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void threadRule()
    {
        const auto mlp = planThreads(1'000'000, 0, 2);
        const auto cnn = planThreads(400'000, 3'600'000, 2);
        QCOMPARE(cnn.torch, 2);
        QCOMPARE(cnn.blas, 1);
        if (oneDnnLinearLayers()) { // every product on LibTorch's threads
            QCOMPARE(mlp.torch, 2);
            QCOMPARE(mlp.blas, 1);
        } else { // fully connected products in OpenBLAS
            QCOMPARE(mlp.torch, 1);
            QCOMPARE(mlp.blas, 2);
        }
    }

    void workSplitsIntoLinearAndConvolution()
    {
        using testutil::layer;
        const Architecture layers{layer("conv2d", 4, 3, 1), layer("relu"), layer("flatten"), layer("linear", 10)};
        const ArchitectureReport report = analyseArchitecture(layers, {1, 8, 8}, 10);
        QVERIFY2(report.ok, report.error.c_str());
        const auto [linear, conv] = linearAndConvMultiplyAdds(layers, report);
        QCOMPARE(conv, std::int64_t(8 * 8 * 4 * 3 * 3));    // padding keeps 8×8; 4 maps of 3×3 kernels on one channel
        QCOMPARE(linear, std::int64_t(4 * 8 * 8 * 10));
    }
};

QTEST_APPLESS_MAIN(TestThreadPlan)
#include "tst_thread_plan.moc"
