// Max-norm constraints (core/src/training/max_norm.cpp): after a training step
// with them, no unit's incoming weights are longer than the limit, shorter
// ones are untouched, and biases are never constrained.
#include "data/torch_data.h"
#include "methods/method.h"
#include "methods/mutual.h"
#include "models/torch_model.h"
#include "testutil.h"
#include "training/max_norm.h"
#include "training/trainer.h"

#include <QtTest/QtTest>

using namespace distillery;
using namespace distillery::detail;
using testutil::layer;

class TestMaxNorm : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void longRowsAreScaledBackShortOnesKept()
    {
        auto w = torch::tensor({3.0f, 4.0f, 0.0f, 0.6f, 0.0f, 0.8f, 1.0f, 1.0f, 1.0f}).view({3, 3}).requires_grad_();
        auto bias = torch::tensor({10.0f, -10.0f, 10.0f}).requires_grad_();
        applyMaxNorm({w, bias}, 2.0);
        QVERIFY(std::abs(w[0].norm().item<float>() - 2.0f) < 1e-5f);        // 5 → 2
        QVERIFY(torch::allclose(w[0], torch::tensor({1.2f, 1.6f, 0.0f}), 1e-5, 1e-6)); // same direction
        QVERIFY(torch::equal(w[1], torch::tensor({0.6f, 0.0f, 0.8f})));     // 1: under the limit
        QVERIFY(torch::equal(bias, torch::tensor({10.0f, -10.0f, 10.0f})));
    }

    void convolutionFiltersAreUnits()
    {
        auto w = torch::ones({4, 2, 3, 3}) * torch::arange(1, 5).view({4, 1, 1, 1}); // norms 3√2·k
        applyMaxNorm({w}, 5.0);
        for (int k = 0; k < 4; ++k) {
            const double before = 3.0 * std::sqrt(2.0) * (k + 1);
            QVERIFY(std::abs(w[k].norm().item<double>() - std::min(before, 5.0)) < 1e-4);
        }
    }

    void aStepWithItKeepsEveryUnitWithinTheLimit()
    {
        // Large steps: without the constraint the weights grow well past it.
        QVERIFY(longestUnitAfterSteps(0.0) > 1.0);
        QVERIFY2(longestUnitAfterSteps(0.5) <= 0.5 + 1e-6, "a unit's weights exceed max_norm");
    }

    // Mutual learning's other students are trained as the student is, under
    // the same constraint.
    void theCohortsOtherStudentsAreConstrainedToo()
    {
        QVERIFY(longestUnitAfterSteps(0.0, true) > 1.0);
        QVERIFY2(longestUnitAfterSteps(0.5, true) <= 0.5 + 1e-6, "a peer's unit exceeds max_norm");
    }

private:
    // The longest incoming weight vector of a small MLP after five steps of
    // SGD at a high rate; with `cohort`, that of the other student of a
    // mutual-learning pair trained beside it.
    static double longestUnitAfterSteps(double maxNorm, bool cohort = false)
    {
        torch::manual_seed(2);
        const Architecture layers{layer("flatten"), layer("linear", 32), layer("relu"), layer("linear", 4)};
        Net net(layers, Shape{1, 4, 4});
        Split train{torch::randn({64, 1, 4, 4}) * 5, torch::randint(0, 4, {64}, torch::kInt64)};
        TrainConfig t;
        t.lr = 5.0;
        t.maxNorm = maxNorm;
        DistillConfig dml;
        dml.method = "dml";
        dml.temperature = 1;
        auto method = cohort ? makeMutualLearning(dml, layers, Shape{1, 4, 4}) : makeCrossEntropy();
        auto parameters = net->parameters();
        if (torch::nn::Module *peers = method->prepare(torch::kCPU))
            for (const auto &p : peers->parameters())
                parameters.push_back(p);
        auto optimizer = makeOptimizer(parameters, t);
        auto acc = torch::zeros({cohort ? 5 : 2}, torch::kFloat64);
        StepContext c{net, *optimizer, *method, {}, {}, train, Precision::Float32, &t};
        for (int i = 0; i < 5; ++i)
            trainStep(c, torch::arange(64), acc);
        double longest = 0.0;
        for (const auto &p : cohort ? cohortPeers(*method).at(0)->parameters() : net->parameters())
            if (p.dim() == 2)
                longest = std::max(longest, p.norm(2, {1}).max().item<double>());
        return longest;
    }
};

QTEST_APPLESS_MAIN(TestMaxNorm)
#include "tst_max_norm.moc"
