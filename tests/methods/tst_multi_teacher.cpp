// Multi-teacher KD (core/src/methods/multi_teacher.cpp): the student's
// gradient of KL(weighted average of the teachers' probabilities ‖ p_s) is the
// weighted sum of its gradients of each teacher's KL term; the fused CPU pass
// against LibTorch's composite operations; a teacher repeated at equal weights
// gives exactly kd with that teacher alone; a teacher of weight 0 changes nothing.
#include "methods/multi_teacher.h"
#include "methods/vanilla_kd.h"

#include "torch_testutil.h"

#include <QtTest/QtTest>

using namespace distillery::detail;
using testutil::maxDiff;

namespace {

struct Batch {
    torch::Tensor s, y;
    std::vector<torch::Tensor> teachers;
};

Batch randomBatch(int teachers, torch::ScalarType type, std::int64_t rows = 12, std::int64_t classes = 7)
{
    torch::manual_seed(41);
    Batch b;
    b.s = (torch::randn({rows, classes}, torch::kFloat64) * 3).to(type);
    for (int m = 0; m < teachers; ++m)
        b.teachers.push_back((torch::randn({rows, classes}, torch::kFloat64) * (2 + m)).to(type));
    b.y = torch::randint(classes, {rows}, torch::kInt64);
    return b;
}

// The gradient of `loss` with respect to the student's logits.
template <typename Loss> torch::Tensor gradientOf(const torch::Tensor &s, Loss loss)
{
    auto x = s.clone().requires_grad_(true);
    loss(x).total.backward();
    return x.grad();
}

} // namespace

class TestMultiTeacher : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void gradientIsTheWeightedSumOfTheTeachersKlGradients()
    {
        const Batch b = randomBatch(3, torch::kFloat64);
        const std::vector<double> w{0.2, 0.5, 0.3};
        const double T = 3.0;
        const auto all = torch::cat(b.teachers, 1);
        torch::Tensor expected = torch::zeros_like(b.s);
        for (std::size_t m = 0; m < w.size(); ++m)
            expected += w[m] * gradientOf(b.s, [&](const torch::Tensor &x) {
                            return kdLossComposite(x, b.teachers[m], b.y, T, 1.0);
                        });
        const auto fused = gradientOf(b.s, [&](const torch::Tensor &x) {
            return multiTeacherKdLoss(x, all, b.y, T, 1.0, w);
        });
        const auto composite = gradientOf(b.s, [&](const torch::Tensor &x) {
            return multiTeacherKdLossComposite(x, all, b.y, T, 1.0, w);
        });
        QVERIFY(expected.abs().max().item<double>() > 1e-3); // a gradient that can differ
        QVERIFY2(maxDiff(fused, expected) < 1e-12, qPrintable(QString::number(maxDiff(fused, expected))));
        QVERIFY2(maxDiff(composite, expected) < 1e-12, qPrintable(QString::number(maxDiff(composite, expected))));
        // The losses themselves differ: the average's entropy is not the average of the entropies.
        const auto averaged = multiTeacherKdLoss(b.s, all, b.y, T, 1.0, w).total.item<double>();
        double sumOfKl = 0;
        for (std::size_t m = 0; m < w.size(); ++m)
            sumOfKl += w[m] * kdLossComposite(b.s, b.teachers[m], b.y, T, 1.0).total.item<double>();
        QVERIFY(averaged < sumOfKl - 1e-6);
    }

    void fusedMatchesComposite()
    {
        for (auto type : {torch::kFloat64, torch::kFloat32}) {
            const Batch b = randomBatch(2, type);
            const std::vector<double> w{0.75, 0.25};
            const auto all = torch::cat(b.teachers, 1);
            const double tol = type == torch::kFloat64 ? 1e-12 : 1e-4;
            for (double alpha : {0.0, 0.4, 1.0}) {
                const auto f = multiTeacherKdLoss(b.s, all, b.y, 4.0, alpha, w);
                const auto c = multiTeacherKdLossComposite(b.s, all, b.y, 4.0, alpha, w);
                for (std::size_t i = 0; i < 2; ++i)
                    QVERIFY(std::abs(f.parts[i].second.item<double>() - c.parts[i].second.item<double>()) < tol);
                const auto gf = gradientOf(b.s, [&](const torch::Tensor &x) {
                    return multiTeacherKdLoss(x, all, b.y, 4.0, alpha, w);
                });
                const auto gc = gradientOf(b.s, [&](const torch::Tensor &x) {
                    return multiTeacherKdLossComposite(x, all, b.y, 4.0, alpha, w);
                });
                QVERIFY2(maxDiff(gf, gc) < tol, qPrintable(QString::number(maxDiff(gf, gc))));
            }
        }
    }

    void repeatedTeacherIsExactlyOneTeacher()
    {
        const Batch b = randomBatch(1, torch::kFloat32);
        const auto t = b.teachers[0];
        const auto one = kdLoss(b.s, t, b.y, 4.0, 0.5);
        const auto two = multiTeacherKdLoss(b.s, torch::cat({t, t}, 1), b.y, 4.0, 0.5, {0.5, 0.5});
        // Exactly, not within a tolerance.
        QVERIFY(two.total.item<float>() == one.total.item<float>());
        QVERIFY(two.parts[0].second.item<float>() == one.parts[0].second.item<float>());
        QVERIFY(two.parts[1].second.item<float>() == one.parts[1].second.item<float>());
        const auto g1 = gradientOf(b.s, [&](const torch::Tensor &x) { return kdLoss(x, t, b.y, 4.0, 0.5); });
        const auto g2 = gradientOf(b.s, [&](const torch::Tensor &x) {
            return multiTeacherKdLoss(x, torch::cat({t, t}, 1), b.y, 4.0, 0.5, {0.5, 0.5});
        });
        QVERIFY(torch::equal(g1, g2));
    }

    void teacherOfWeightZeroChangesNothing()
    {
        const Batch b = randomBatch(2, torch::kFloat64);
        const auto all = torch::cat(b.teachers, 1);
        for (bool fused : {true, false}) {
            const auto loss = [&](const torch::Tensor &x) {
                return fused ? multiTeacherKdLoss(x, all, b.y, 2.0, 0.7, {1.0, 0.0})
                             : multiTeacherKdLossComposite(x, all, b.y, 2.0, 0.7, {1.0, 0.0});
            };
            const auto one = kdLossComposite(b.s, b.teachers[0], b.y, 2.0, 0.7);
            QVERIFY(std::abs(loss(b.s).total.item<double>() - one.total.item<double>()) < 1e-12);
            const auto g = gradientOf(b.s, loss);
            const auto g1 = gradientOf(b.s, [&](const torch::Tensor &x) {
                return kdLossComposite(x, b.teachers[0], b.y, 2.0, 0.7);
            });
            QVERIFY(maxDiff(g, g1) < 1e-12);
        }
    }

    void methodTakesSettingsAndRefusesOtherMethods()
    {
        distillery::DistillConfig c;
        c.temperature = 2.0;
        c.alpha = 0.3;
        auto method = makeMultiTeacherKd(c, {0.5, 0.5});
        QCOMPARE(method->name(), std::string("kd"));
        QVERIFY(method->needsTeacher());
        QCOMPARE(method->partNames(), (std::vector<std::string>{"soft", "hard"}));
        const Batch b = randomBatch(2, torch::kFloat64);
        ModelOutputs s, t;
        s.logits = b.s;
        t.logits = torch::cat(b.teachers, 1);
        const auto before = method->loss(s, t, b.y).total.item<double>();
        c.temperature = 6.0; // a schedule or a change while the run trains
        method->configure(c);
        const auto after = method->loss(s, t, b.y).total.item<double>();
        QCOMPARE(after, multiTeacherKdLoss(b.s, t.logits, b.y, 6.0, 0.3, {0.5, 0.5}).total.item<double>());
        QVERIFY(before != after);
        c.method = "dkd";
        QVERIFY_THROWS_EXCEPTION(distillery::ConfigError, makeMultiTeacherKd(c, {0.5, 0.5}));
    }
};

QTEST_GUILESS_MAIN(TestMultiTeacher)
#include "tst_multi_teacher.moc"
