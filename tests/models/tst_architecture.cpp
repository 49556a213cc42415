// Presets, shapes, parameter and multiply-add counts.
#include "testutil.h"

#include "distillery/architecture.h"
#include "distillery/model.h"

#include <QtTest/QtTest>

using namespace distillery;

namespace {

ModelSpec preset(const std::string &name, std::vector<std::int64_t> hidden = {})
{
    ModelSpec m;
    m.preset = name;
    m.hidden = std::move(hidden);
    return m;
}

std::int64_t linear(std::int64_t in, std::int64_t out) { return in * out + out; }
std::int64_t conv(std::int64_t in, std::int64_t out, int k, bool bias = true) { return in * out * k * k + (bias ? out : 0); }
std::int64_t bn(std::int64_t c) { return 2 * c; }
// Basic residual block with a projection when the shape changes.
std::int64_t block(std::int64_t in, std::int64_t out, bool project)
{
    return conv(in, out, 3, false) + bn(out) + conv(out, out, 3, false) + bn(out) +
           (project ? conv(in, out, 1, false) + bn(out) : 0);
}
std::int64_t cifarResnet(int n, std::int64_t stem, std::vector<std::int64_t> widths, int classes)
{
    std::int64_t p = conv(3, stem, 3) + bn(stem);
    std::int64_t c = stem;
    for (std::size_t s = 0; s < widths.size(); ++s)
        for (int b = 0; b < n; ++b) {
            p += block(c, widths[s], c != widths[s] || (s > 0 && b == 0));
            c = widths[s];
        }
    return p + linear(c, classes);
}

} // namespace

class TestArchitecture : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // Tap names: letters, digits, '-', '_' and '.', each once; a layer's own
    // name replaces an automatic tap of the same name.
    void tapNames()
    {
        Architecture layers = expandPreset(ModelSpec{"cnn-small", {}, 0.0, {}}, 10);
        layers[1].tap = "first relu";
        auto report = analyseArchitecture(layers, {1, 28, 28}, 10);
        QVERIFY(!report.ok);
        QVERIFY2(report.error.find("layer 2 (relu): tap 'first relu'") == 0, report.error.c_str());
        layers[1].tap = "first";
        layers[4].tap = "first";
        report = analyseArchitecture(layers, {1, 28, 28}, 10);
        QVERIFY2(report.error.find("tap 'first' also names layer 2") != std::string::npos, report.error.c_str());
        layers[4].tap = "pool2"; // the second convolution's ReLU, before the automatic pool2
        QVERIFY(analyseArchitecture(layers, {1, 28, 28}, 10).ok);
        const auto taps = modelTaps(layers, {1, 28, 28});
        const Tap *pool2 = findTap(taps, "pool2");
        QVERIFY(pool2 && !pool2->automatic);
        QCOMPARE(pool2->layer, 4);
        QCOMPARE(pool2->shape, (Shape{32, 14, 14}));
        QVERIFY(findTap(taps, "first") && findTap(taps, "pool1") && findTap(taps, "embedding"));
        QVERIFY(modelTaps(layers, {3}).empty()); // layers that do not fit the input have no taps
    }

    void presetParameterCounts_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QList<qint64>>("input");
        QTest::addColumn<qint64>("expected");
        const QList<qint64> mnist{1, 28, 28}, cifar{3, 32, 32};
        QTest::newRow("mlp 128") << "mlp" << mnist << qint64(linear(784, 128) + linear(128, 10));
        QTest::newRow("mlp-1200x2") << "mlp-1200x2" << mnist
                                    << qint64(linear(784, 1200) + linear(1200, 1200) + linear(1200, 10));
        QTest::newRow("mlp-800x2") << "mlp-800x2" << mnist << qint64(linear(784, 800) + linear(800, 800) + linear(800, 10));
        // LeNet-5 with a padded first convolution: 28 -> 28 -> 14 -> 10 -> 5.
        QTest::newRow("lenet5") << "lenet5" << mnist
                                << qint64(conv(1, 6, 5) + conv(6, 16, 5) + linear(16 * 5 * 5, 120) + linear(120, 84) +
                                          linear(84, 10));
        QTest::newRow("cnn-small") << "cnn-small" << mnist
                                   << qint64(conv(1, 16, 3) + conv(16, 32, 3) + linear(32 * 7 * 7, 64) + linear(64, 10));
        // Two padded 3x3 convolutions with batch norm, each followed by a 2x2 pool: 28 -> 14 -> 7.
        QTest::newRow("cnn-large") << "cnn-large" << mnist
                                   << qint64(conv(1, 32, 3) + bn(32) + conv(32, 64, 3) + bn(64) + linear(64 * 7 * 7, 128) +
                                             linear(128, 10));
        QTest::newRow("resnet8") << "resnet8" << cifar << qint64(cifarResnet(1, 16, {16, 32, 64}, 10));
        QTest::newRow("resnet20") << "resnet20" << cifar << qint64(cifarResnet(3, 16, {16, 32, 64}, 10));
        QTest::newRow("wrn-16-2") << "wrn-16-2" << cifar << qint64(cifarResnet(2, 16, {32, 64, 128}, 10));
    }
    void presetParameterCounts()
    {
        QFETCH(QString, name);
        QFETCH(QList<qint64>, input);
        QFETCH(qint64, expected);
        const Shape shape(input.begin(), input.end());
        const auto layers = expandPreset(preset(name.toStdString()), 10);
        const auto report = analyseArchitecture(layers, shape, 10);
        QVERIFY2(report.ok, report.error.c_str());
        QCOMPARE(report.parameters, expected);
        // The model LibTorch builds has exactly as many parameters as the formulas say.
        QCOMPARE(builtParameterCount(layers, shape), expected);
        QCOMPARE(builtOutputShape(layers, shape, 3), (std::vector<std::int64_t>{3, 10}));
    }

    void resnet20IsAboutAQuarterMillion()
    {
        // The well-known size of ResNet-20 for CIFAR-10 is 0.27M parameters.
        const auto r = analyseArchitecture(expandPreset(preset("resnet20"), 10), {3, 32, 32}, 10);
        QVERIFY(r.parameters > 270000 && r.parameters < 280000);
    }

    void multiplyAdds()
    {
        // conv 3x3 1->32 on 28x28, padded: 28*28 outputs per channel, 9 products each.
        const auto r = analyseArchitecture(expandPreset(preset("cnn-large"), 10), {1, 28, 28}, 10);
        QVERIFY(r.ok);
        QCOMPARE(r.layers[0].multiplyAdds, qint64(28 * 28 * 32 * 9));
        QCOMPARE(r.layers[4].multiplyAdds, qint64(14 * 14 * 64 * 32 * 9));
        QCOMPARE(r.layers[0].output, (Shape{32, 28, 28}));
        QCOMPARE(r.layers[7].output, (Shape{64, 7, 7}));
        // Without padding a 3x3 kernel trims a pixel on each side.
        LayerSpec valid;
        valid.type = "conv2d";
        valid.out = 8;
        valid.padding = 0;
        QCOMPARE(analyseArchitecture({valid}, {1, 28, 28}, 10).layers[0].output, (Shape{8, 26, 26}));
        QCOMPARE(analyseArchitecture({valid}, {1, 28, 28}, 10).layers[0].multiplyAdds, qint64(26 * 26 * 8 * 9));
        const auto m = analyseArchitecture(expandPreset(preset("mlp", {100}), 10), {1, 28, 28}, 10);
        QCOMPARE(m.multiplyAdds, qint64(784 * 100 + 100 * 10));
    }

    void layerKindsBuild()
    {
        // Every layer type, in one model, built and run.
        using testutil::layer;
        const Architecture a{layer("conv2d", 8, 3),    layer("batchnorm"),     layer("gelu"),
                             layer("residual", 16, 3, 2), layer("avgpool", 0, 2), layer("maxpool", 0, 2),
                             layer("conv2d", 8, 1),    layer("relu"),          layer("global-avgpool"),
                             layer("dropout"),         layer("linear", 12),    layer("batchnorm"),
                             layer("relu"),            layer("linear", 5)};
        const auto r = analyseArchitecture(a, {3, 16, 16}, 5);
        QVERIFY2(r.ok, r.error.c_str());
        QCOMPARE(builtParameterCount(a, {3, 16, 16}), r.parameters);
        QCOMPARE(builtOutputShape(a, {3, 16, 16}, 2), (std::vector<std::int64_t>{2, 5}));
    }

    void linearWithoutFlatten()
    {
        LayerSpec lin;
        lin.type = "linear";
        lin.out = 10;
        const auto r = analyseArchitecture({lin}, {1, 28, 28}, 10);
        QVERIFY(!r.ok);
        QCOMPARE(r.errorLayer, 0);
        QVERIFY(r.error.find("flatten") != std::string::npos);
    }

    void wrongClassCount()
    {
        const auto layers = expandPreset(preset("mlp"), 10);
        const auto r = analyseArchitecture(layers, {1, 28, 28}, 7);
        QVERIFY(!r.ok);
        QVERIFY2(r.error.find("7 classes") != std::string::npos, r.error.c_str());
    }

    void kernelTooLarge()
    {
        LayerSpec c;
        c.type = "conv2d";
        c.out = 4;
        c.kernel = 9;
        c.padding = 0;
        const auto r = analyseArchitecture({c}, {1, 5, 5}, 10);
        QVERIFY(!r.ok);
        QCOMPARE(r.errorLayer, 0);
        QVERIFY(r.error.find("does not fit") != std::string::npos);
    }

    void imagePresetOnVectors()
    {
        const auto r = analyseArchitecture(expandPreset(preset("cnn-small"), 4), {16}, 4);
        QVERIFY(!r.ok);
        QVERIFY(r.error.find("image input") != std::string::npos);
    }

    void unknownNamesGetSuggestions()
    {
        try {
            expandPreset(preset("resnet-20"), 10);
            QFAIL("no error");
        } catch (const ConfigError &e) {
            QVERIFY2(std::string(e.what()).find("resnet20") != std::string::npos, e.what());
        }
        LayerSpec x;
        x.type = "lineer";
        const auto r = analyseArchitecture({x}, {4}, 4);
        QVERIFY(!r.ok);
        QVERIFY2(r.error.find("'linear'") != std::string::npos, r.error.c_str());
    }
};

QTEST_GUILESS_MAIN(TestArchitecture)
#include "tst_architecture.moc"
