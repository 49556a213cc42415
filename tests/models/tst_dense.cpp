// The dense (oneDNN) linear layers (core/src/models/dense.cpp) against
// torch::linear and torch::relu: values, the three gradients, no-grad and
// inference paths, NaN, empty batches, and where they fall back.
#include "models/dense.h"
#include "testutil.h"
#include "torch_testutil.h"

#include <QtTest/QtTest>

using namespace distillery;
using namespace distillery::detail;

namespace {

using testutil::maxDiff;

using testutil::layer;

} // namespace

class TestDense : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void denseMatchesLibTorchLinear_data()
    {
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("in");
        QTest::addColumn<int>("out");
        QTest::addColumn<bool>("bias");
        QTest::addColumn<bool>("relu");
        QTest::newRow("batch, bias, relu") << 128 << 300 << 200 << true << true;
        QTest::newRow("batch, bias") << 128 << 300 << 10 << true << false;
        QTest::newRow("no bias, relu") << 64 << 50 << 70 << false << true;
        QTest::newRow("no bias, no relu") << 33 << 17 << 5 << false << false;
        QTest::newRow("one row") << 1 << 784 << 64 << true << true;
    }

    void denseMatchesLibTorchLinear()
    {
        QFETCH(int, rows);
        QFETCH(int, in);
        QFETCH(int, out);
        QFETCH(bool, bias);
        QFETCH(bool, relu);
        qInfo("linear layers through %s", denseOnOneDnn() ? "oneDNN" : "LibTorch (no oneDNN in this build)");
        torch::manual_seed(3);
        const auto x0 = torch::randn({rows, in}), w0 = torch::randn({out, in}) * 0.1, b0 = torch::randn({out});
        const auto grad = torch::randn({rows, out});
        auto run = [&](bool dense) {
            auto x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
            auto b = bias ? b0.clone().requires_grad_(true) : torch::Tensor();
            torch::Tensor y;
            if (dense) {
                y = linear(x, w, b, relu);
            } else {
                y = torch::linear(x, w, b);
                if (relu)
                    y = torch::relu(y);
            }
            y.backward(grad);
            return std::vector<torch::Tensor>{y.detach(), x.grad(), w.grad(), bias ? b.grad() : torch::zeros({1})};
        };
        const auto ours = run(true), ref = run(false);
        const char *what[] = {"output", "input gradient", "weight gradient", "bias gradient"};
        for (int i = 0; i < 4; ++i) {
            QCOMPARE(ours[i].sizes(), ref[i].sizes());
            const double scale = std::max(1.0, ref[i].abs().max().item<double>());
            QVERIFY2(maxDiff(ours[i], ref[i]) <= 1e-5 * scale,
                     qPrintable(QString("%1 differs by %2").arg(what[i]).arg(maxDiff(ours[i], ref[i]))));
        }
        if (relu) // exactly where the reference's ReLU passes gradient, ours does
            QVERIFY(ours[0].gt(0).equal(ref[0].gt(0)));

        // Without autograd (a frozen teacher, an evaluation): the same values.
        torch::NoGradGuard noGrad;
        QVERIFY(linear(x0, w0, bias ? b0 : torch::Tensor(), relu).equal(ours[0]));
        c10::InferenceMode inference;
        QVERIFY(linear(x0, w0, bias ? b0 : torch::Tensor(), relu).equal(ours[0]));
    }

    void denseOnlyAsksForNeededGradients()
    {
        // A frozen input (the first layer's images) gets no gradient; the weights do.
        torch::manual_seed(4);
        const auto x = torch::randn({8, 6});
        auto w = torch::randn({4, 6}).requires_grad_(true), b = torch::randn({4}).requires_grad_(true);
        linear(x, w, b, true).sum().backward();
        QVERIFY(!x.grad().defined());
        QVERIFY(w.grad().defined() && b.grad().defined());
        const auto fixedWeight = torch::randn({4, 6});
        auto xg = torch::randn({8, 6}).requires_grad_(true);
        linear(xg, fixedWeight, torch::Tensor(), false).sum().backward();
        QVERIFY(xg.grad().defined());
        QVERIFY(maxDiff(xg.grad(), fixedWeight.sum(0).expand({8, 6})) < 1e-5);
    }

    void denseKeepsReluSemanticsAtTheEdges()
    {
        // NaN stays NaN through ReLU and passes its gradient, zero gets none,
        // as in torch::relu and threshold_backward.
        const auto nan = std::numeric_limits<float>::quiet_NaN();
        const auto x = torch::tensor({{1.0f}, {0.0f}, {-1.0f}, {nan}});
        auto w = torch::ones({1, 1}).requires_grad_(true);
        auto y = linear(x, w, torch::Tensor(), true);
        auto ref = torch::relu(x);
        QVERIFY(y.detach().isnan().equal(ref.isnan()));
        QVERIFY(y.detach().nan_to_num(-7).equal(ref.nan_to_num(-7)));
        y.backward(torch::ones({4, 1}));
        // d/dw sum(relu(x·w)) = Σ x where the output is above 0 (or NaN): 1 + NaN.
        QVERIFY(std::isnan(w.grad().item<float>()));
        // No rows: an empty batch stays empty, and its gradients are zero.
        auto w2 = torch::ones({2, 3}).requires_grad_(true), b2 = torch::ones({2}).requires_grad_(true);
        auto empty = linear(torch::empty({0, 3}), w2, b2, true);
        QCOMPARE(empty.sizes(), (std::vector<std::int64_t>{0, 2}));
        empty.sum().backward();
        QVERIFY(w2.grad().eq(0).all().item<bool>() && b2.grad().eq(0).all().item<bool>());
    }

    void denseFallsBackWhereItDoesNotApply()
    {
        torch::manual_seed(5);
        const auto w = torch::randn({4, 6}), b = torch::randn({4});
        // Three dimensions, doubles, a non-contiguous (transposed) input.
        const auto x3 = torch::randn({2, 3, 6});
        QVERIFY(maxDiff(linear(x3, w, b, true), torch::relu(torch::linear(x3, w, b))) < 1e-6);
        const auto xd = torch::randn({5, 6}, torch::kFloat64);
        QVERIFY(linear(xd, w.to(torch::kFloat64), b.to(torch::kFloat64), false)
                    .equal(torch::linear(xd, w.to(torch::kFloat64), b.to(torch::kFloat64))));
        const auto xt = torch::randn({6, 5}).t();
        QVERIFY(!xt.is_contiguous());
        QVERIFY(maxDiff(linear(xt, w, b, false), torch::linear(xt, w, b)) < 1e-5);
    }

    void oneDnnProductMatchesMm()
    {
        if (!denseOnOneDnn())
            QSKIP("this build has no oneDNN (libdnnl-dev was not found when it was configured)");
        torch::manual_seed(7);
        const auto a = torch::randn({37, 50}), b = torch::randn({50, 29});
        auto out = torch::empty({37, 29});
        oneDnnProduct(a, b, out);
        QVERIFY(maxDiff(out, torch::mm(a, b)) < 1e-4);
        QVERIFY_THROWS_EXCEPTION(c10::Error, oneDnnProduct(a, a, out));
    }
};

QTEST_APPLESS_MAIN(TestDense)
#include "tst_dense.moc"
