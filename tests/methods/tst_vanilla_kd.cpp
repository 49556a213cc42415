// Vanilla KD (core/src/methods/vanilla_kd.cpp): the loss against values
// worked out by hand from its definition, and the fused CPU pass against
// LibTorch's composite operations, values and gradients; KD and cross-entropy
// with class-probability targets (mixed batches) against their labels' losses.
#include "distillery/kd.h"
#include "methods/vanilla_kd.h"

#include "torch_testutil.h"

#include <QtTest/QtTest>

#include <cmath>

using distillery::kdLoss;
using namespace distillery::detail;

namespace {

using testutil::maxDiff;

std::vector<double> softmax(const std::vector<double> &z, double T)
{
    double m = -1e300, sum = 0;
    for (double v : z)
        m = std::max(m, v / T);
    std::vector<double> p;
    for (double v : z) {
        p.push_back(std::exp(v / T - m));
        sum += p.back();
    }
    for (double &v : p)
        v /= sum;
    return p;
}

// KL(p_t || p_s) for one row, from the definition.
double kl(const std::vector<double> &s, const std::vector<double> &t, double T)
{
    const auto ps = softmax(s, T), pt = softmax(t, T);
    double k = 0;
    for (std::size_t i = 0; i < ps.size(); ++i)
        k += pt[i] * (std::log(pt[i]) - std::log(ps[i]));
    return k;
}

double crossEntropy(const std::vector<double> &s, int label)
{
    return -std::log(softmax(s, 1.0)[std::size_t(label)]);
}

} // namespace

class TestVanillaKd : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void twoClassExampleByHand()
    {
        // Student logits (0, 0): p_s = (1/2, 1/2). Teacher logits (ln 3, 0):
        // at T = 1, p_t = (3/4, 1/4), KL = 3/4 ln(3/2) + 1/4 ln(1/2).
        const auto r1 = kdLoss({0.f, 0.f}, {float(std::log(3.0)), 0.f}, {0}, 2, 1.0, 1.0);
        QVERIFY(std::abs(r1.soft - (0.75 * std::log(1.5) + 0.25 * std::log(0.5))) < 1e-6);
        QVERIFY(std::abs(r1.soft - 0.1308120) < 1e-6);
        // At T = 2, p_t = (sqrt3, 1) / (sqrt3 + 1), and the KL is scaled by T^2 = 4.
        const double a = std::sqrt(3.0) / (std::sqrt(3.0) + 1), b = 1 - a;
        const auto r2 = kdLoss({0.f, 0.f}, {float(std::log(3.0)), 0.f}, {0}, 2, 2.0, 1.0);
        QVERIFY(std::abs(r2.soft - 4 * (a * std::log(2 * a) + b * std::log(2 * b))) < 1e-6);
        QVERIFY(std::abs(r2.soft - 0.1453631) < 1e-6);
        // Hard part: CE of (0, 0) against label 0 is ln 2.
        QVERIFY(std::abs(r2.hard - std::log(2.0)) < 1e-6);
    }

    void alphaZeroIsCrossEntropy()
    {
        const std::vector<float> s{1.f, 2.f, 3.f, 0.5f, -1.f, 2.f};
        const std::vector<float> t{3.f, 0.f, 0.f, 0.f, 0.f, 5.f};
        const auto r = kdLoss(s, t, {2, 0}, 3, 4.0, 0.0);
        const double ce = (crossEntropy({1, 2, 3}, 2) + crossEntropy({0.5, -1, 2}, 0)) / 2;
        QVERIFY(std::abs(r.hard - ce) < 1e-6);
        QVERIFY(std::abs(r.total - ce) < 1e-6);
        QVERIFY(r.soft > 0); // reported even when it carries no weight
    }

    void alphaOneIsSoftOnly()
    {
        const auto r = kdLoss({1.f, 2.f, 3.f}, {3.f, 2.f, 1.f}, {1}, 3, 3.0, 1.0);
        QVERIFY(std::abs(r.total - r.soft) < 1e-9);
    }

    void mixesWithAlpha_data()
    {
        QTest::addColumn<double>("T");
        QTest::addColumn<double>("alpha");
        QTest::newRow("T=1 a=0.5") << 1.0 << 0.5;
        QTest::newRow("T=4 a=0.9") << 4.0 << 0.9;
        QTest::newRow("T=20 a=0.1") << 20.0 << 0.1;
        QTest::newRow("T=0.5 a=0.3") << 0.5 << 0.3;
    }
    void mixesWithAlpha()
    {
        QFETCH(double, T);
        QFETCH(double, alpha);
        const std::vector<double> s0{0.2, -1.3, 2.5, 0.0}, t0{1.0, -0.5, 3.0, -2.0};
        const std::vector<double> s1{-0.7, 0.4, 0.1, 1.9}, t1{0.0, 2.2, -1.0, 0.5};
        std::vector<float> s, t;
        for (auto v : s0) s.push_back(float(v));
        for (auto v : s1) s.push_back(float(v));
        for (auto v : t0) t.push_back(float(v));
        for (auto v : t1) t.push_back(float(v));
        const auto r = kdLoss(s, t, {2, 3}, 4, T, alpha);
        // batchmean: the KL summed over classes, averaged over the 2 rows; times T^2.
        const double soft = T * T * (kl(s0, t0, T) + kl(s1, t1, T)) / 2;
        const double hard = (crossEntropy(s0, 2) + crossEntropy(s1, 3)) / 2;
        QVERIFY2(std::abs(r.soft - soft) < 1e-6 * std::max(1.0, soft), qPrintable(QString::number(r.soft) + " vs " + QString::number(soft)));
        QVERIFY(std::abs(r.hard - hard) < 1e-6);
        QVERIFY(std::abs(r.total - (alpha * soft + (1 - alpha) * hard)) < 1e-6 * std::max(1.0, soft));
    }

    void temperatureSquaredScaling()
    {
        // The soft loss is T^2 times the KL; for logits that differ little the KL
        // shrinks like 1/T^2, so the scaled loss stays of the same order as T grows.
        const std::vector<float> s{0.1f, 0.2f, -0.3f}, t{0.3f, -0.1f, 0.0f};
        for (double T : {1.0, 2.0, 8.0}) {
            const auto r = kdLoss(s, t, {0}, 3, T, 1.0);
            QVERIFY(std::abs(r.soft - T * T * kl({0.1, 0.2, -0.3}, {0.3, -0.1, 0.0}, T)) < 1e-6);
        }
        const auto lo = kdLoss(s, t, {0}, 3, 2.0, 1.0).soft, hi = kdLoss(s, t, {0}, 3, 8.0, 1.0).soft;
        QVERIFY(hi / lo > 0.8 && hi / lo < 1.2); // same order across T, as the T^2 factor intends
    }

    void identicalLogitsGiveZeroSoftLoss()
    {
        const auto r = kdLoss({1.f, -2.f, 0.5f}, {1.f, -2.f, 0.5f}, {0}, 3, 5.0, 0.5);
        QVERIFY(std::abs(r.soft) < 1e-9);
    }

    void largeLogitsStayFinite()
    {
        // Log-softmax on both sides: no overflow even with huge logits and a small T.
        const auto r = kdLoss({1000.f, -1000.f}, {-1000.f, 1000.f}, {0}, 2, 0.5, 0.5);
        QVERIFY(std::isfinite(r.soft));
        QVERIFY(std::isfinite(r.total));
        // p_t = (0, 1), log p_s(1) = -4000 at T = 0.5: KL = 4000, times T^2 = 0.25.
        QVERIFY(std::abs(r.soft - 1000.0) < 1e-3);
    }

    void rejectsMismatchedShapes()
    {
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, kdLoss({1.f, 2.f}, {1.f}, {0}, 2, 1.0, 0.5));
    }

    void fusedKdLossMatchesLibTorchOps_data()
    {
        QTest::addColumn<double>("temperature");
        QTest::addColumn<double>("alpha");
        QTest::addColumn<double>("scale"); // of the logits
        QTest::addColumn<bool>("doublePrecision");
        QTest::newRow("T=4, a=0.5") << 4.0 << 0.5 << 3.0 << false;
        QTest::newRow("T=1, a=0.9") << 1.0 << 0.9 << 3.0 << false;
        QTest::newRow("T=20, a=0.1") << 20.0 << 0.1 << 3.0 << false;
        QTest::newRow("T=0.5, a=1") << 0.5 << 1.0 << 3.0 << false;
        QTest::newRow("T=2, a=0, labels only") << 2.0 << 0.0 << 3.0 << false;
        QTest::newRow("large logits") << 4.0 << 0.5 << 200.0 << false;
        QTest::newRow("double") << 4.0 << 0.7 << 3.0 << true;
    }

    void fusedKdLossMatchesLibTorchOps()
    {
        QFETCH(double, temperature);
        QFETCH(double, alpha);
        QFETCH(double, scale);
        QFETCH(bool, doublePrecision);
        torch::manual_seed(7);
        const auto type = doublePrecision ? torch::kFloat64 : torch::kFloat32;
        const auto s0 = torch::randn({37, 10}, type) * scale;
        const auto t = torch::randn({37, 10}, type) * scale;
        const auto y = torch::randint(10, {37}, torch::kInt64);
        auto s1 = s0.clone().requires_grad_(), s2 = s0.clone().requires_grad_();
        const auto fused = kdLossFused(s1, t, y, temperature, alpha);
        const auto ref = kdLossComposite(s2, t, y, temperature, alpha);
        const double tol = doublePrecision ? 1e-10 : 1e-5;
        auto close = [&](const torch::Tensor &a, const torch::Tensor &b) {
            const double d = maxDiff(a, b), bound = tol * std::max(1.0, b.abs().max().item<double>());
            return d <= bound;
        };
        QVERIFY(close(fused.total, ref.total));
        QCOMPARE(fused.parts.size(), std::size_t(2));
        QCOMPARE(fused.parts[0].first, std::string("soft"));
        QVERIFY(close(fused.parts[0].second, ref.parts[0].second));
        QVERIFY(close(fused.parts[1].second, ref.parts[1].second));
        fused.total.backward();
        ref.total.backward();
        QVERIFY2(close(s1.grad(), s2.grad()), qPrintable(QString::number(maxDiff(s1.grad(), s2.grad()))));
        QCOMPARE(fused.total.scalar_type(), type);
    }

    void fusedKdLossRefusesBadLabels()
    {
        const auto s = torch::zeros({2, 3}), t = torch::zeros({2, 3});
        QVERIFY_THROWS_EXCEPTION(c10::Error, kdLossFused(s, t, torch::tensor({0, 3}, torch::kInt64), 2.0, 0.5));
        QVERIFY_THROWS_EXCEPTION(c10::Error, kdLossFused(s, torch::zeros({2, 4}), torch::tensor({0, 1}), 2.0, 0.5));
    }

    // Mixed batches (mixup, CutMix) hand the losses class probabilities [B, K]
    // instead of labels: one-hot rows must give the labels' losses, and a mix
    // of two one-hots the same mix of their cross-entropies.
    void oneHotFloatTargetsGiveTheLabelsLosses()
    {
        torch::manual_seed(17);
        const auto s0 = torch::randn({9, 6}) * 2, t = torch::randn({9, 6}) * 2;
        const auto y = torch::randint(6, {9}, torch::kInt64);
        const auto target = torch::nn::functional::one_hot(y, 6).to(torch::kFloat);
        distillery::DistillConfig config;
        config.temperature = 3.0;
        config.alpha = 0.4;
        for (const auto &method : {makeCrossEntropy(), makeVanillaKd(config)}) {
            auto s1 = s0.clone().requires_grad_(), s2 = s0.clone().requires_grad_();
            ModelOutputs a, b, teacher;
            a.logits = s1;
            b.logits = s2;
            teacher.logits = t;
            const auto byLabel = method->loss(a, teacher, y); // the fused pass, for kd
            const auto byTarget = method->loss(b, teacher, target);
            QVERIFY(maxDiff(byLabel.total, byTarget.total) < 1e-6);
            QCOMPARE(byTarget.parts.size(), byLabel.parts.size());
            for (std::size_t i = 0; i < byLabel.parts.size(); ++i)
                QVERIFY(maxDiff(byLabel.parts[i].second, byTarget.parts[i].second) < 1e-6);
            byLabel.total.backward();
            byTarget.total.backward();
            QVERIFY(maxDiff(s1.grad(), s2.grad()) < 1e-6);
        }
    }

    void mixedTargetsMixTheHardLosses()
    {
        torch::manual_seed(19);
        const auto s0 = torch::randn({8, 5}) * 2, t = torch::randn({8, 5}) * 2;
        const auto ya = torch::randint(5, {8}, torch::kInt64), yb = ya.index_select(0, torch::randperm(8));
        const double lambda = 0.35, alpha = 0.6;
        namespace F = torch::nn::functional;
        const auto target =
            F::one_hot(ya, 5).to(torch::kFloat) * lambda + F::one_hot(yb, 5).to(torch::kFloat) * (1 - lambda);
        distillery::DistillConfig config;
        config.temperature = 2.0;
        config.alpha = alpha;
        for (const auto &method : {makeCrossEntropy(), makeVanillaKd(config)}) {
            const bool kd = method->name() == "kd";
            auto s1 = s0.clone().requires_grad_(), s2 = s0.clone().requires_grad_();
            ModelOutputs mixed, teacher;
            mixed.logits = s1;
            teacher.logits = t;
            const auto got = method->loss(mixed, teacher, target);
            // Expected: the hard term as λ·CE(y_a) + (1 − λ)·CE(y_b), the soft term as with labels.
            const auto hard = F::cross_entropy(s2, ya) * lambda + F::cross_entropy(s2, yb) * (1 - lambda);
            const auto soft = kd ? kdLossComposite(s2, t, ya, 2.0, 1.0).total : torch::zeros({});
            const auto expected = kd ? soft * alpha + hard * (1 - alpha) : hard;
            QVERIFY(maxDiff(got.total, expected) < 1e-6);
            if (kd) {
                QVERIFY(maxDiff(got.parts[0].second, soft) < 1e-6);
                QVERIFY(maxDiff(got.parts[1].second, hard) < 1e-6);
            }
            got.total.backward();
            expected.backward();
            QVERIFY(maxDiff(s1.grad(), s2.grad()) < 1e-6);
        }
    }
};

QTEST_GUILESS_MAIN(TestVanillaKd)
#include "tst_vanilla_kd.moc"
