// The LibTorch net (core/src/models/torch_model.cpp) against LibTorch's own
// definitions: channels-last convolutional nets against NCHW, frozen
// (batch-norm-folded) nets against eval mode, an MLP against its layers run one
// by one.
#include "models/torch_model.h"
#include "testutil.h"
#include "torch_testutil.h"

#include <QtTest/QtTest>

using namespace distillery;
using namespace distillery::detail;

namespace {

using testutil::maxDiff;

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

class TestTorchModel : public QObject {
    Q_OBJECT

private Q_SLOTS:
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

    // Every preset's taps give the shapes the analysis predicts, and capturing
    // them leaves the logits as they are.
    void tapsHaveTheAnalysedShapes_data()
    {
        QTest::addColumn<QString>("preset");
        QTest::addColumn<QStringList>("names");
        QTest::newRow("mlp") << "mlp" << QStringList{"embedding"};
        QTest::newRow("mlp-1200x2") << "mlp-1200x2" << QStringList{"embedding"};
        QTest::newRow("lenet5") << "lenet5" << QStringList{"pool1", "pool2", "embedding"};
        QTest::newRow("cnn-small") << "cnn-small" << QStringList{"pool1", "pool2", "embedding"};
        QTest::newRow("cnn-large") << "cnn-large" << QStringList{"pool1", "pool2", "embedding"};
        QTest::newRow("resnet8") << "resnet8" << QStringList{"stage1", "stage2", "stage3", "embedding"};
        QTest::newRow("resnet20") << "resnet20" << QStringList{"stage1", "stage2", "stage3", "embedding"};
        QTest::newRow("wrn-16-2") << "wrn-16-2" << QStringList{"stage1", "stage2", "stage3", "embedding"};
    }
    void tapsHaveTheAnalysedShapes()
    {
        QFETCH(QString, preset);
        QFETCH(QStringList, names);
        ModelSpec spec;
        spec.preset = preset.toStdString();
        spec.dropout = 0.2; // the mlp presets' embedding is before the dropout
        const Shape input{1, 28, 28};
        const Architecture layers = expandPreset(spec, 10);
        const auto taps = modelTaps(layers, input);
        QStringList got;
        for (const auto &t : taps)
            got << QString::fromStdString(t.name);
        QCOMPARE(got, names);
        const auto report = analyseArchitecture(layers, input, 10);
        torch::manual_seed(1);
        Net net(layers, input);
        net->eval();
        torch::NoGradGuard guard;
        const auto x = torch::randn({3, 1, 28, 28});
        const ModelOutputs out = net->forwardWithTaps(x, taps);
        QCOMPARE(out.features.size(), taps.size());
        for (std::size_t i = 0; i < taps.size(); ++i) {
            QCOMPARE(out.features[i].first, taps[i].name);
            std::vector<std::int64_t> expected{3};
            const Shape &analysed = report.layers[std::size_t(taps[i].layer)].output;
            QCOMPARE(taps[i].shape, analysed);
            expected.insert(expected.end(), analysed.begin(), analysed.end());
            const auto sizes = out.features[i].second.sizes();
            QCOMPARE(std::vector<std::int64_t>(sizes.begin(), sizes.end()), expected);
        }
        QVERIFY(torch::equal(out.logits, net->forward(x)));
        if (preset.startsWith("mlp")) // the input of the last linear layer, before the dropout
            QCOMPARE(layers[std::size_t(taps.back().layer) + 1].type, std::string("dropout"));
    }

    // A frozen net gives its taps as eval mode does, though batch norms are
    // folded into convolutions and ReLUs run in place: a tap between a
    // convolution and its batch norm, or before a ReLU, keeps its own values.
    void frozenTapsMatchEvalMode()
    {
        const Shape input{3, 16, 16};
        Architecture layers = convolutional();
        layers[0].tap = "conv"; // folded with the batch norm after it, when not tapped
        layers[1].tap = "norm"; // followed by an in-place ReLU
        layers[6].tap = "late";
        torch::manual_seed(7);
        Net net(layers, input);
        const auto x = torch::randn({4, 3, 16, 16});
        trainBriefly(net, x);
        net->eval();
        const auto taps = modelTaps(layers, input);
        torch::NoGradGuard guard;
        const ModelOutputs reference = net->forwardWithTaps(x, taps);
        net->freeze();
        const ModelOutputs frozen = net->forwardWithTaps(x, taps);
        QCOMPARE(frozen.features.size(), reference.features.size());
        for (std::size_t i = 0; i < taps.size(); ++i) {
            const double d = maxDiff(frozen.features[i].second, reference.features[i].second);
            QVERIFY2(d < 1e-4, qPrintable(QString::fromStdString(taps[i].name) + ": " + QString::number(d)));
        }
        QVERIFY((reference.features[1].second < 0).any().item<bool>()); // "norm" was captured before its ReLU
        QVERIFY(maxDiff(frozen.logits, reference.logits) < 1e-4);
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
};

QTEST_APPLESS_MAIN(TestTorchModel)
#include "tst_torch_model.moc"
