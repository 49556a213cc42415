// The loss scale of precision fp16 (core/src/training/loss_scaler.cpp): the
// rule of PyTorch's GradScaler (halve and skip on a non-finite gradient,
// double after 2000 finite steps), and in the training step: scaling by a
// power of two changes no gradient, and a step whose scaled loss overflows
// leaves the weights and the optimiser's state as they were.
#include "data/torch_data.h"
#include "methods/method.h"
#include "models/torch_model.h"
#include "runs/stage_state.h"
#include "support/torch_compat.h"
#include "testutil.h"
#include "training/loss_scaler.h"
#include "training/trainer.h"

#include <QtTest/QtTest>

#include <cmath>
#include <limits>

using namespace distillery;
using namespace distillery::detail;
using testutil::layer;

namespace {

torch::Tensor withGrad(const torch::Tensor &grad)
{
    auto p = torch::zeros_like(grad).requires_grad_();
    p.mutable_grad() = grad.clone();
    return p;
}

std::vector<torch::Tensor> weights(Net &net)
{
    std::vector<torch::Tensor> out;
    for (const auto &p : net->parameters())
        out.push_back(p.detach().clone());
    return out;
}

bool same(const std::vector<torch::Tensor> &a, const std::vector<torch::Tensor> &b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!torch::equal(a[i], b[i]))
            return false;
    return true;
}

} // namespace

class TestLossScaler : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void finiteGradientsAreDividedByTheScale()
    {
        LossScaler scaler;
        QCOMPARE(scaler.state().scale, 65536.0);
        auto a = withGrad(torch::tensor({65536.0f, -131072.0f}));
        auto b = withGrad(torch::tensor({3.0f}));
        auto none = torch::zeros({2}).requires_grad_(); // no gradient: left alone
        QVERIFY(scaler.unscale({a, b, none}));
        QVERIFY(torch::equal(a.grad(), torch::tensor({1.0f, -2.0f})));
        QVERIFY(torch::equal(b.grad(), torch::tensor({3.0f / 65536.0f})));
        QVERIFY(!none.grad().defined());
        QCOMPARE(scaler.state().finiteSteps, std::int64_t(1));
        QCOMPARE(scaler.state().skippedSteps, std::int64_t(0));
        QCOMPARE(scaler.state().scale, 65536.0);
    }

    void aNonFiniteGradientHalvesTheScaleAndSkips_data()
    {
        QTest::addColumn<float>("bad");
        QTest::newRow("inf") << std::numeric_limits<float>::infinity();
        QTest::newRow("-inf") << -std::numeric_limits<float>::infinity();
        QTest::newRow("nan") << std::numeric_limits<float>::quiet_NaN();
    }
    void aNonFiniteGradientHalvesTheScaleAndSkips()
    {
        QFETCH(float, bad);
        LossScaler scaler(LossScaleState{1024.0, 7, 2});
        auto a = withGrad(torch::tensor({1.0f, 2.0f}));
        auto b = withGrad(torch::tensor({1.0f, bad}));
        QVERIFY(!scaler.unscale({a, b}));
        QCOMPARE(scaler.state().scale, 512.0);
        QCOMPARE(scaler.state().finiteSteps, std::int64_t(0));
        QCOMPARE(scaler.state().skippedSteps, std::int64_t(3));
    }

    void theScaleDoublesAfterTheGrowthInterval()
    {
        LossScaler scaler(LossScaleState{256.0, LossScaler::kGrowthInterval - 2, 0});
        auto a = withGrad(torch::ones({1}));
        QVERIFY(scaler.unscale({a}));
        QCOMPARE(scaler.state().scale, 256.0);
        a.mutable_grad() = torch::ones({1});
        QVERIFY(scaler.unscale({a}));
        QCOMPARE(scaler.state().scale, 512.0);
        QCOMPARE(scaler.state().finiteSteps, std::int64_t(0));
    }

    void scaledStepsTrainExactlyAsUnscaledOnes()
    {
        // Multiplying by 2^16 and dividing by it again is exact in float, so
        // the weights after the steps are the same to the bit.
        const auto plain = train(nullptr, 8);
        LossScaler scaler;
        const auto scaled = train(&scaler, 8);
        QVERIFY(same(plain, scaled));
        QCOMPARE(scaler.state().finiteSteps, std::int64_t(8));
        QCOMPARE(scaler.state().skippedSteps, std::int64_t(0));
    }

    void anOverflowingStepChangesNothingAndLowersTheScale()
    {
        // 2^140 times a loss of about 1.4 overflows float (its largest value
        // is about 2^128): the gradients are not finite, the step is skipped
        // (Adam's moments included: the next finite step is Adam's first),
        // and the scale halves until the gradients fit.
        LossScaler scaler(LossScaleState{std::ldexp(1.0, 140), 0, 0});
        const auto start = train(nullptr, 0);
        QVERIFY(same(train(&scaler, 1), start));
        QCOMPARE(scaler.state().skippedSteps, std::int64_t(1));
        QCOMPARE(scaler.state().scale, std::ldexp(1.0, 139));

        LossScaler fromHigh(LossScaleState{std::ldexp(1.0, 140), 0, 0});
        const auto afterSkips = train(&fromHigh, 20);
        const std::int64_t skipped = fromHigh.state().skippedSteps;
        QVERIFY2(skipped > 0 && skipped < 20, qPrintable(QString::number(skipped)));
        QCOMPARE(fromHigh.state().finiteSteps, 20 - skipped);
        // The finite steps are those of a run started at them.
        QVERIFY(same(afterSkips, train(nullptr, int(20 - skipped))));
    }

    void theScaleIsKeptInTheStageCheckpoint()
    {
        // A resumed fp16 stage goes on with the scale it had, as an
        // uninterrupted one would.
        QTemporaryDir dir;
        const std::filesystem::path path = dir.filePath("student.state.pt").toStdString();
        Net net(Architecture{layer("flatten"), layer("linear", 4)}, Shape{1, 2, 2});
        TrainConfig t;
        auto optimizer = makeOptimizer(net->parameters(), t);
        auto shuffle = at::detail::createCPUGenerator(3);
        StageProgress saved{2, 40, 0.5, 1, 0.5, 0.5, 0.5, 1.0};
        saved.lossScale = LossScaleState{2048.0, 17, 3};
        saveStageState(path, net, *optimizer, shuffle, {}, saved, nullptr);
        std::vector<torch::Tensor> best;
        const StageProgress loaded = loadStageState(path, net, *optimizer, shuffle, best, nullptr);
        QCOMPARE(loaded.lossScale.scale, 2048.0);
        QCOMPARE(loaded.lossScale.finiteSteps, std::int64_t(17));
        QCOMPARE(loaded.lossScale.skippedSteps, std::int64_t(3));
        QCOMPARE(loaded.globalStep, std::int64_t(40));
    }

    // The autocast of precision bf16 and fp16 on the CPU: matrix products in
    // that type while it lives, in float again after.
    void autocastRunsProductsInItsType()
    {
        const auto w = torch::randn({4, 3}), x = torch::randn({2, 3});
        {
            Autocast bf16(Precision::BFloat16, torch::kCPU);
            QCOMPARE(torch::linear(x, w).scalar_type(), torch::kBFloat16);
        }
        QCOMPARE(torch::linear(x, w).scalar_type(), torch::kFloat);
        if (!compat::cpuFloat16Autocast)
            QSKIP("LibTorch 1.13's CPU autocast has no float16: an fp16 run on its CPU is refused (tst_runner float16)");
        {
            Autocast fp16(Precision::Float16, torch::kCPU);
            QCOMPARE(torch::linear(x, w).scalar_type(), torch::kHalf);
        }
        QCOMPARE(torch::linear(x, w).scalar_type(), torch::kFloat);
    }

private:
    // The weights of a small MLP after `steps` steps of Adam on one batch.
    static std::vector<torch::Tensor> train(LossScaler *scaler, int steps)
    {
        torch::manual_seed(4);
        Net net(Architecture{layer("flatten"), layer("linear", 16), layer("relu"), layer("linear", 4)},
                Shape{1, 4, 4});
        Split data{torch::randn({32, 1, 4, 4}), torch::randint(0, 4, {32}, torch::kInt64)};
        TrainConfig t;
        t.optimizer = "adam";
        t.lr = 0.01;
        auto optimizer = makeOptimizer(net->parameters(), t);
        auto ce = makeCrossEntropy();
        auto acc = torch::zeros({2}, torch::kFloat64);
        StepContext c{net, *optimizer, *ce, {}, {}, data, Precision::Float32, &t};
        c.scaler = scaler;
        for (int i = 0; i < steps; ++i)
            trainStep(c, torch::arange(32), acc);
        return weights(net);
    }
};

QTEST_APPLESS_MAIN(TestLossScaler)
#include "tst_loss_scaler.moc"
