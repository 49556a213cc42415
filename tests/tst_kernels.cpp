// Core's own compute paths against LibTorch's definitions of the same thing:
// the fused SGD step against torch::optim::SGD, channels-last nets against
// the same nets in NCHW, frozen (batch-norm-folded) nets against eval mode,
// the dense (oneDNN) linear layers against torch::linear, the rule that
// splits the cores, and model files read first in another process. Internal
// to core, so this suite sees LibTorch (built with QT_NO_KEYWORDS).
#include "models/dense.h"
#include "methods/distill.h"
#include "isolation/isolate.h"
#include "models/model_io.h"
#include "models/torch_model.h"
#include "training/trainer.h"
#include "testutil.h"

#include <QtTest/QtTest>

#include <sstream>

using namespace distillery;
using namespace distillery::detail;

namespace {

double maxDiff(const torch::Tensor &a, const torch::Tensor &b)
{
    return (a - b).abs().max().item<double>();
}

using testutil::layer;

// Every layer kind that images pass through, batch norms after convolutions
// (folded when frozen) and elsewhere (not folded).
Architecture convolutional()
{
    return {layer("conv2d", 8, 3, 1), layer("batchnorm"),      layer("relu"),
            layer("maxpool", 0, 2),      layer("residual", 8, 3, 1), layer("residual", 16, 3, 2),
            layer("conv2d", 16, 3, 1), layer("relu"),          layer("avgpool", 0, 2),
            layer("batchnorm"),          layer("global-avgpool"), layer("linear", 5)};
}

// Gives the batch norms running statistics away from their initial 0 and 1.
void trainBriefly(Net &net, const torch::Tensor &x)
{
    net->train();
    torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.01));
    for (int i = 0; i < 3; ++i) {
        opt.zero_grad();
        net->forward(x).pow(2).mean().backward();
        opt.step();
    }
}

} // namespace

class TestKernels : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void fusedSgdMatchesLibTorchSgd_data()
    {
        QTest::addColumn<double>("momentum");
        QTest::addColumn<bool>("nesterov");
        QTest::addColumn<double>("weightDecay");
        QTest::addColumn<bool>("channelsLast");
        QTest::addColumn<bool>("gradLayoutDiffers"); // takes SGD's own path
        QTest::newRow("plain") << 0.0 << false << 0.0 << false << false;
        QTest::newRow("weight decay") << 0.0 << false << 5e-4 << false << false;
        QTest::newRow("momentum") << 0.9 << false << 5e-4 << false << false;
        QTest::newRow("nesterov") << 0.9 << true << 5e-4 << false << false;
        QTest::newRow("nesterov, channels-last") << 0.9 << true << 5e-4 << true << false;
        QTest::newRow("gradient in another layout") << 0.9 << true << 5e-4 << true << true;
    }

    void fusedSgdMatchesLibTorchSgd()
    {
        QFETCH(double, momentum);
        QFETCH(bool, nesterov);
        QFETCH(double, weightDecay);
        QFETCH(bool, channelsLast);
        QFETCH(bool, gradLayoutDiffers);
        torch::manual_seed(3);
        auto w0 = torch::randn({16, 8, 3, 3});
        if (channelsLast)
            w0 = w0.contiguous(at::MemoryFormat::ChannelsLast);
        // Several parameters, one large enough to be split between threads.
        std::vector<torch::Tensor> ours{w0.clone(), torch::randn({70000})}, ref;
        for (auto &p : ours) {
            ref.push_back(p.clone().requires_grad_());
            p.requires_grad_();
        }
        TrainConfig t;
        t.optimizer = "sgd";
        t.lr = 0.05;
        t.momentum = momentum;
        t.nesterov = nesterov;
        t.weightDecay = weightDecay;
        auto fused = makeOptimizer(ours, t);
        torch::optim::SGD sgd(ref, torch::optim::SGDOptions(t.lr).momentum(momentum).nesterov(nesterov).weight_decay(weightDecay));
        for (int step = 0; step < 5; ++step) {
            for (std::size_t i = 0; i < ours.size(); ++i) {
                auto g = torch::randn_like(ours[i]);
                ours[i].mutable_grad() = gradLayoutDiffers ? g.contiguous() : g.clone();
                ref[i].mutable_grad() = g.clone();
            }
            fused->step();
            sgd.step();
        }
        for (std::size_t i = 0; i < ours.size(); ++i) {
            QVERIFY2(maxDiff(ours[i], ref[i]) < 1e-6, qPrintable(QString::number(maxDiff(ours[i], ref[i]))));
            QCOMPARE(ours[i].strides().vec(), ref[i].strides().vec());
        }
    }

    // The momentum buffers are SGD's own state, so a checkpoint of the fused
    // optimiser restores into one that continues exactly.
    void fusedSgdStateSavesAndRestores()
    {
        torch::manual_seed(4);
        TrainConfig t;
        t.optimizer = "sgd";
        t.lr = 0.1;
        t.momentum = 0.9;
        t.nesterov = true;
        t.weightDecay = 5e-4;
        auto a = torch::randn({300}).requires_grad_();
        auto b = a.detach().clone().requires_grad_();
        auto straight = makeOptimizer({a}, t);
        auto first = makeOptimizer({b}, t);
        std::vector<torch::Tensor> grads;
        for (int i = 0; i < 6; ++i)
            grads.push_back(torch::randn({300}));
        for (int i = 0; i < 3; ++i) {
            a.mutable_grad() = grads[i].clone();
            straight->step();
            b.mutable_grad() = grads[i].clone();
            first->step();
        }
        std::stringstream saved;
        torch::save(*first, saved);
        auto resumed = makeOptimizer({b}, t);
        torch::load(*resumed, saved);
        for (int i = 3; i < 6; ++i) {
            a.mutable_grad() = grads[i].clone();
            straight->step();
            b.mutable_grad() = grads[i].clone();
            resumed->step();
        }
        QVERIFY(torch::equal(a, b));
    }

    void convolutionalNetsRunChannelsLast()
    {
        const Shape input{3, 16, 16};
        torch::manual_seed(5);
        Net cl(convolutional(), input);
        torch::manual_seed(5);
        Net nchw(convolutional(), input);
        nchw->setChannelsLast(false);
        QVERIFY(cl->channelsLast());
        for (const auto &p : cl->parameters())
            if (p.dim() == 4)
                QVERIFY(p.is_contiguous(at::MemoryFormat::ChannelsLast));
        Shape mlpInput{1, 8, 8};
        QVERIFY(!Net(Architecture{layer("flatten"), layer("linear", 3)}, mlpInput)->channelsLast());

        const auto x = torch::randn({6, 3, 16, 16});
        auto yCl = cl->forward(x);
        auto yNchw = nchw->forward(x);
        QVERIFY2(maxDiff(yCl, yNchw) < 1e-4, qPrintable(QString::number(maxDiff(yCl, yNchw))));
        yCl.sum().backward();
        yNchw.sum().backward();
        const auto gCl = cl->parameters(), gNchw = nchw->parameters();
        for (std::size_t i = 0; i < gCl.size(); ++i)
            QVERIFY2(maxDiff(gCl[i].grad(), gNchw[i].grad()) < 1e-3,
                     qPrintable(QString::number(maxDiff(gCl[i].grad(), gNchw[i].grad()))));
    }

    void frozenNetMatchesEvalMode()
    {
        const Shape input{3, 16, 16};
        torch::manual_seed(6);
        Net net(convolutional(), input);
        const auto x = torch::randn({8, 3, 16, 16});
        trainBriefly(net, x);
        net->eval();
        torch::NoGradGuard guard;
        const auto reference = net->forward(x);
        net->freeze();
        QVERIFY(net->frozen());
        const auto folded = net->forward(x);
        QVERIFY2(maxDiff(folded, reference) < 1e-4, qPrintable(QString::number(maxDiff(folded, reference))));
        QVERIFY(maxDiff(folded, reference) > 0); // the folded path ran (it rounds differently)
        net->thaw();
        QVERIFY(!net->frozen());
        QVERIFY(torch::equal(net->forward(x), reference));
    }

    // ReLUs run in place only on the forward pass's own tensors, never on the caller's input.
    void frozenNetLeavesItsInputAlone()
    {
        const Shape input{1, 4, 4};
        Net net(Architecture{layer("flatten"), layer("relu"), layer("linear", 3), layer("relu")}, input);
        net->freeze();
        const auto x = torch::randn({5, 1, 4, 4});
        const auto copy = x.clone();
        torch::NoGradGuard guard;
        const auto y = net->forward(x);
        QVERIFY(torch::equal(x, copy));
        QVERIFY((y >= 0).all().item<bool>());
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

    void mlpNetMatchesItsLayersOneByOne()
    {
        // The net's own forward (dense layers, ReLUs fused into them) against the
        // same parameters run layer by layer through LibTorch's modules.
        const Shape input{1, 8, 8};
        Net net(Architecture{layer("flatten"), layer("linear", 32), layer("relu"), layer("dropout"),
                             layer("linear", 16), layer("gelu"), layer("linear", 10), layer("relu"),
                             layer("linear", 3)},
                input);
        net->eval(); // dropout off, so that both paths compute the same function
        torch::manual_seed(6);
        const auto x = torch::randn({20, 1, 8, 8});
        const auto ours = net->forward(x);
        torch::Tensor y = x.flatten(1);
        int linearIndex = 0;
        for (const auto &child : net->children().front()->children()) {
            if (auto *lin = child->as<torch::nn::LinearImpl>()) {
                y = torch::linear(y, lin->weight, lin->bias);
                ++linearIndex;
            } else if (child->as<torch::nn::ReLUImpl>()) {
                y = torch::relu(y);
            } else if (child->as<torch::nn::GELUImpl>()) {
                y = torch::gelu(y);
            }
        }
        QCOMPARE(linearIndex, 4);
        QVERIFY2(maxDiff(ours, y) < 1e-5, qPrintable(QString::number(maxDiff(ours, y))));
        // Frozen, the same function.
        net->freeze();
        QVERIFY(maxDiff(net->forward(x), ours) < 1e-6);
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

    void threadRule()
    {
        const auto mlp = planThreads(1'000'000, 0, 2);
        const auto cnn = planThreads(400'000, 3'600'000, 2);
        QCOMPARE(cnn.torch, 2);
        QCOMPARE(cnn.blas, 1);
        if (denseOnOneDnn()) { // every product on LibTorch's threads
            QCOMPARE(mlp.torch, 2);
            QCOMPARE(mlp.blas, 1);
        } else { // fully connected products in OpenBLAS
            QCOMPARE(mlp.torch, 1);
            QCOMPARE(mlp.blas, 2);
        }
    }

    // A file that crashes LibTorch's reader is reported, not fatal, and a file
    // it refuses comes back with the reader's message: through the helper, and
    // through a forked child when the helper is missing or is not the helper
    // (a program that does not say it started is not trusted to judge a file).
    void modelFilesAreReadFirstInAnotherProcess()
    {
        const std::string crashing =
            DISTILLERY_SOURCE_DIR "/fuzz/regressions/fuzz_model_files/torchscript-crashes-libtorch-parser.pt";
        QTemporaryDir dir;
        const std::string garbage = (dir.path() + QStringLiteral("/garbage.pt")).toStdString();
        testutil::writeFile(QString::fromStdString(garbage), "not a zip archive");
        const QByteArray helper = qgetenv("DISTILLERY_CHECK_HELPER");
        if (helper.isEmpty())
            QSKIP("no distillery-check helper (CTest sets DISTILLERY_CHECK_HELPER)");
        namespace dd = distillery::detail;
        using distillery::ModelFileKind;
        for (const QByteArray &checker : {helper, QByteArray("/bin/true"), QByteArray("/no/such/helper")}) {
            qputenv("DISTILLERY_CHECK_HELPER", checker);
            // Output of this process still in stdio's buffer stays out of the
            // report (a forked child inherits the buffer).
            std::fputs("QDEBUG : unflushed output before a model-file check", stdout);
            const std::string crash = dd::crashOfRead(ModelFileKind::TorchScript, crashing);
            std::fputs("\n", stdout);
            QVERIFY2(crash.find("crashed") != std::string::npos, (checker + ": " + crash.c_str()).constData());
            // A reader that throws is not a crash; its message comes back, so
            // the file need not be read again in this process.
            std::string refused;
            QCOMPARE(dd::crashOfRead(ModelFileKind::Checkpoint, garbage, &refused), std::string());
            QVERIFY2(refused.find("zip archive") != std::string::npos, (checker + ": " + refused.c_str()).constData());
        }
        // The protocol, from helpers that are scripts: after the started line,
        // exit status 3 is a refusal with the reader's message, any other
        // failure (a sanitizer's report exits with 1) is the file's doing.
        auto script = [&](const QString &name, const QByteArray &body) {
            const QString path = dir.path() + QLatin1Char('/') + name;
            testutil::writeFile(path, "#!/bin/sh\n" + body);
            QFile::setPermissions(path, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
            return path.toLocal8Bit();
        };
        qputenv("DISTILLERY_CHECK_HELPER", script(QStringLiteral("refuses"), "printf 'reading\\nno zip here'\nexit 3\n"));
        std::string refused;
        QCOMPARE(dd::crashOfRead(ModelFileKind::Checkpoint, garbage, &refused), std::string());
        QCOMPARE(refused, std::string("no zip here"));
        qputenv("DISTILLERY_CHECK_HELPER", script(QStringLiteral("fails"), "echo reading\nexit 1\n"));
        QVERIFY(dd::crashOfRead(ModelFileKind::Checkpoint, garbage, &refused).find("exit status 1") != std::string::npos);
        qputenv("DISTILLERY_CHECK_HELPER", script(QStringLiteral("hangs"), "echo reading\nexec sleep 30\n"));
        QElapsedTimer timer;
        timer.start();
        QVERIFY(dd::crashOfRead(ModelFileKind::Checkpoint, garbage, &refused, 1).find("did not finish in 1 s") != std::string::npos);
        QVERIFY(timer.elapsed() < 10000);

        qputenv("DISTILLERY_CHECK_HELPER", helper);
        QCOMPARE(QString::fromStdString(distillery::modelFileChecker()), QString::fromLocal8Bit(helper));
        std::string error;
        QVERIFY(!dd::readModelFileUnguarded(ModelFileKind::Checkpoint, garbage, &error));
        QVERIFY2(error.find("zip") != std::string::npos, error.c_str());
    }
};

QTEST_APPLESS_MAIN(TestKernels)
#include "tst_kernels.moc"
