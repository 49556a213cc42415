// Augmentation (core/src/data/augment.cpp): jitter, crop, flip and erase
// against per-image transcriptions of their definitions (torchvision's), the
// random draws' ranges and statistics, mixup and CutMix exactly for given
// parameters and against Beta(a, a), and augmentBatch (off: the same tensor;
// the same seed: the same batch).
#include "data/augment.h"

#include <QtTest/QtTest>

#include <array>
#include <cmath>

using namespace distillery::detail;

namespace {

// One image at a time, as one would write it in PyTorch: pad with zeros by
// `pixels` on every side, then crop the H×W window moved by (−dy, −dx).
torch::Tensor shiftByCropping(const torch::Tensor &x, const std::vector<std::int64_t> &dy,
                              const std::vector<std::int64_t> &dx, int pixels)
{
    namespace F = torch::nn::functional;
    const auto padded = F::pad(x, F::PadFuncOptions({pixels, pixels, pixels, pixels}));
    const std::int64_t h = x.size(2), w = x.size(3);
    std::vector<torch::Tensor> out;
    for (std::int64_t b = 0; b < x.size(0); ++b)
        out.push_back(padded[b].narrow(1, pixels - dy[b], h).narrow(2, pixels - dx[b], w));
    return torch::stack(out);
}

// torchvision's RandomCrop(size, padding, fill) at given offsets, one image
// and one channel at a time (F.pad takes one fill value): pad, then narrow.
torch::Tensor cropByPadding(const torch::Tensor &x, const std::vector<std::int64_t> &top,
                            const std::vector<std::int64_t> &left, int padding, const std::vector<double> &fill)
{
    namespace F = torch::nn::functional;
    const std::int64_t h = x.size(2), w = x.size(3);
    std::vector<torch::Tensor> out;
    for (std::int64_t b = 0; b < x.size(0); ++b) {
        std::vector<torch::Tensor> channels;
        for (std::int64_t c = 0; c < x.size(1); ++c) {
            const auto options = F::PadFuncOptions({padding, padding, padding, padding}).value(fill[c]);
            const auto padded = F::pad(x[b][c].unsqueeze(0), options)[0];
            channels.push_back(padded.narrow(0, top[b], h).narrow(1, left[b], w));
        }
        out.push_back(torch::stack(channels));
    }
    return torch::stack(out);
}

// The bounding box of the zeros of one image [C, H, W]: {top, left, height, width, zeros}.
std::array<std::int64_t, 5> zeroBox(const torch::Tensor &image)
{
    const auto zero = image.eq(0).any(0); // [H, W]
    const auto rows = zero.any(1).nonzero().view(-1), cols = zero.any(0).nonzero().view(-1);
    if (rows.numel() == 0)
        return {0, 0, 0, 0, 0};
    const auto top = rows.min().item<std::int64_t>(), left = cols.min().item<std::int64_t>();
    return {top, left, rows.max().item<std::int64_t>() - top + 1, cols.max().item<std::int64_t>() - left + 1,
            zero.sum().item<std::int64_t>()};
}

torch::Tensor oneHot(const torch::Tensor &y, int classes)
{
    return torch::nn::functional::one_hot(y, classes).to(torch::kFloat);
}

} // namespace

class TestAugment : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void shiftMatchesPaddingAndCropping()
    {
        torch::manual_seed(3);
        const auto x = torch::rand({6, 2, 7, 5});
        const std::vector<std::int64_t> dy{0, 1, -1, 2, -2, 2}, dx{0, -2, 1, 2, 0, -1};
        const auto shifted = shiftImages(x, torch::tensor(dy), torch::tensor(dx), 2);
        QCOMPARE(shifted.sizes(), x.sizes());
        QVERIFY(torch::equal(shifted, shiftByCropping(x, dy, dx, 2)));
        // By the definition: out[b, c, i, j] = x[b, c, i − dy, j − dx].
        QCOMPARE(shifted[1][0][3][1].item<float>(), x[1][0][2][3].item<float>());
        QCOMPARE(shifted[3][1][0][0].item<float>(), 0.0f); // shifted in from outside
    }

    void shiftKeepsChannelsLast()
    {
        const auto x = torch::rand({3, 4, 6, 6}).contiguous(at::MemoryFormat::ChannelsLast);
        const auto shifted = shiftImages(x, torch::tensor({1, 0, -1}), torch::tensor({0, 1, 1}), 1);
        QVERIFY(shifted.is_contiguous(at::MemoryFormat::ChannelsLast));
        QVERIFY(torch::equal(shifted, shiftByCropping(x.contiguous(), {1, 0, -1}, {0, 1, 1}, 1)));
    }

    void jitterDrawsWithinRangeAndRepeatsWithTheSeed()
    {
        const auto x = torch::rand({64, 1, 9, 9}) + 1.0; // no zero pixels of its own
        torch::manual_seed(11);
        const auto a = jitterImages(x, 2);
        torch::manual_seed(11);
        const auto b = jitterImages(x, 2);
        QVERIFY(torch::equal(a, b));
        int unshifted = 0;
        for (std::int64_t i = 0; i < x.size(0); ++i) {
            // Find the shift: the one among the 25 that reproduces the image.
            int matches = 0;
            for (int dy = -2; dy <= 2; ++dy)
                for (int dx = -2; dx <= 2; ++dx)
                    if (torch::equal(a[i].unsqueeze(0), shiftByCropping(x[i].unsqueeze(0), {dy}, {dx}, 2))) {
                        ++matches;
                        unshifted += dy == 0 && dx == 0;
                    }
            QCOMPARE(matches, 1);
        }
        QVERIFY(unshifted < 16); // 1 in 25 expected: the shifts are drawn, not zero
    }

    void offAndVectorsPassThrough()
    {
        const auto images = torch::rand({4, 1, 5, 5}), vectors = torch::rand({4, 10});
        QVERIFY(jitterImages(images, 0).is_same(images));
        QVERIFY(jitterImages(vectors, 3).is_same(vectors));
    }

    void cropMatchesPaddingWithTheFillThenNarrowing()
    {
        torch::manual_seed(5);
        const auto x = torch::rand({5, 3, 6, 7});
        const std::vector<std::int64_t> top{0, 1, 2, 4, 3}, left{4, 0, 2, 1, 3};
        const std::vector<double> fill{-1.5, 0.25, 2.0};
        const auto fillT = torch::tensor(fill, torch::kFloat);
        const auto cropped = cropImages(x, torch::tensor(top), torch::tensor(left), 2, fillT);
        QCOMPARE(cropped.sizes(), x.sizes());
        QVERIFY(torch::equal(cropped, cropByPadding(x, top, left, 2, fill)));
        // By the definition: out[b, c, i, j] = x[b, c, i + top − 2, j + left − 2], else the fill.
        QCOMPARE(cropped[3][1][0][4].item<float>(), x[3][1][2][3].item<float>());
        QCOMPARE(cropped[0][2][0][3].item<float>(), 2.0f); // from the padding
        // Channels-last in, channels-last out, the same values.
        const auto last = cropImages(x.contiguous(at::MemoryFormat::ChannelsLast), torch::tensor(top),
                                     torch::tensor(left), 2, fillT);
        QVERIFY(last.is_contiguous(at::MemoryFormat::ChannelsLast));
        QVERIFY(torch::equal(last, cropped));
    }

    void randomCropDrawsWithinRangeAndRepeatsWithTheSeed()
    {
        const auto x = torch::rand({48, 1, 9, 9}) + 1.0; // no zero pixels of its own
        const auto fill = torch::zeros({1});
        torch::manual_seed(12);
        const auto a = randomCrop(x, 2, fill);
        torch::manual_seed(12);
        QVERIFY(torch::equal(a, randomCrop(x, 2, fill)));
        int centred = 0;
        for (std::int64_t i = 0; i < x.size(0); ++i) {
            int matches = 0; // the one offset among the 25 in [0, 4]² that reproduces the image
            for (std::int64_t top = 0; top <= 4; ++top)
                for (std::int64_t left = 0; left <= 4; ++left)
                    if (torch::equal(a[i].unsqueeze(0), cropByPadding(x[i].unsqueeze(0), {top}, {left}, 2, {0.0}))) {
                        ++matches;
                        centred += top == 2 && left == 2;
                    }
            QCOMPARE(matches, 1);
        }
        QVERIFY(centred < 12); // 1 in 25 expected
        QVERIFY(randomCrop(x, 0, fill).is_same(x));
    }

    void flipMatchesTorchFlipPerImage()
    {
        const auto x = torch::rand({5, 2, 4, 6});
        const std::vector<bool> which{true, false, true, true, false};
        const auto flags = torch::tensor({1, 0, 1, 1, 0}).to(torch::kBool);
        const auto flipped = flipImages(x, flags);
        for (std::int64_t b = 0; b < 5; ++b)
            QVERIFY(torch::equal(flipped[b], which[b] ? torch::flip(x[b], {2}) : x[b]));
        const auto last = flipImages(x.contiguous(at::MemoryFormat::ChannelsLast), flags);
        QVERIFY(last.is_contiguous(at::MemoryFormat::ChannelsLast));
        QVERIFY(torch::equal(last, flipped));
        // Drawn: each image flipped with probability 1/2 (binomial, 4 standard deviations).
        const auto many = torch::rand({400, 1, 3, 5});
        torch::manual_seed(2);
        const auto drawn = randomFlip(many);
        int count = 0;
        for (std::int64_t b = 0; b < many.size(0); ++b) {
            const bool isFlipped = torch::equal(drawn[b], torch::flip(many[b], {2}));
            QVERIFY(isFlipped || torch::equal(drawn[b], many[b]));
            count += isFlipped;
        }
        QVERIFY(std::abs(count - 200) <= 4 * 10);
    }

    void eraseSetsTheGivenBoxesToZero()
    {
        const auto x = torch::rand({4, 3, 6, 5}) + 1.0;
        const std::vector<std::int64_t> top{0, 2, 1, 3}, left{0, 1, 4, 2}, height{2, 4, 0, 3}, width{5, 1, 1, 3};
        auto expected = x.clone();
        for (std::int64_t b = 0; b < 4; ++b)
            expected[b].narrow(1, top[b], height[b]).narrow(2, left[b], width[b]).fill_(0);
        const auto erased =
            eraseBoxes(x, torch::tensor(top), torch::tensor(left), torch::tensor(height), torch::tensor(width));
        QVERIFY(torch::equal(erased, expected));
        QVERIFY(torch::equal(erased[2], x[2])); // height 0: untouched
        const auto last = eraseBoxes(x.contiguous(at::MemoryFormat::ChannelsLast), torch::tensor(top),
                                     torch::tensor(left), torch::tensor(height), torch::tensor(width));
        QVERIFY(last.is_contiguous(at::MemoryFormat::ChannelsLast));
        QVERIFY(torch::equal(last, expected));
    }

    void randomEraseFollowsTorchvisionsDistribution()
    {
        const std::int64_t n = 2000, side = 16;
        const auto x = torch::rand({n, 2, side, side}) + 1.0;
        torch::manual_seed(21);
        const auto erased = randomErase(x, 0.5);
        torch::manual_seed(21);
        QVERIFY(torch::equal(erased, randomErase(x, 0.5)));
        // Every pixel is the original or 0 (the mean), on all channels alike.
        QVERIFY((erased.eq(x) | erased.eq(0)).all().item<bool>());
        std::int64_t count = 0;
        double fractionSum = 0;
        const double area = double(side * side);
        for (std::int64_t b = 0; b < n; ++b) {
            const auto [top, left, h, w, zeros] = zeroBox(erased[b]);
            if (zeros == 0)
                continue;
            ++count;
            QCOMPARE(zeros, h * w); // a box, on both channels
            QVERIFY(erased[b].eq(0).all(0).sum().item<std::int64_t>() == zeros);
            QVERIFY(h < side && w < side && top + h <= side && left + w <= side);
            // Area 2-33% and aspect 0.3-3.3 of a box whose sides were rounded.
            QVERIFY((h - 0.5) * (w - 0.5) <= 0.33 * area && (h + 0.5) * (w + 0.5) >= 0.02 * area);
            QVERIFY((h - 0.5) / (w + 0.5) <= 3.3 && (h + 0.5) / (w - 0.5) >= 0.3);
            fractionSum += double(zeros) / area;
        }
        // With p = 0.5, the number erased is binomial(n, 1/2): within 4 standard deviations.
        QVERIFY2(std::abs(double(count) - 0.5 * n) <= 4 * std::sqrt(0.25 * n), qPrintable(QString::number(count)));
        const double meanFraction = fractionSum / double(count); // about (0.02 + 0.33) / 2
        QVERIFY2(meanFraction > 0.14 && meanFraction < 0.2, qPrintable(QString::number(meanFraction)));
        QVERIFY(randomErase(x, 0.0).is_same(x));
    }

    void mixupMixesInputsAndTargets()
    {
        const auto x = torch::rand({6, 2, 3, 3}), vectors = torch::rand({6, 5});
        const auto y = torch::tensor({0, 3, 1, 1, 2, 3}), perm = torch::tensor({2, 0, 1, 5, 4, 3});
        const double lambda = 0.3;
        for (const auto &input : {x, vectors}) {
            const auto mixed = mixBatch(input, y, 4, lambda, perm);
            QVERIFY(torch::allclose(mixed.x, input * lambda + input.index_select(0, perm) * (1 - lambda), 0, 1e-7));
            QCOMPARE(mixed.target.scalar_type(), torch::kFloat);
            QVERIFY(mixed.target.dim() == 2 && mixed.target.size(0) == 6 && mixed.target.size(1) == 4);
            QVERIFY(torch::allclose(mixed.target.sum(1), torch::ones({6}), 0, 1e-6));
            // Row 0: label 0 with λ, its partner's (image 2, label 1) with 1 − λ.
            QVERIFY(std::abs(mixed.target[0][0].item<double>() - 0.3) < 1e-7);
            QVERIFY(std::abs(mixed.target[0][1].item<double>() - 0.7) < 1e-7);
            QCOMPARE(mixed.target[4][2].item<float>(), 1.0f); // its own partner: its label alone
        }
        // Drawn: one λ ~ Beta(a, a) for the batch, then perm = randperm(B).
        torch::manual_seed(4);
        const auto drawn = randomMixup(x, y, 4, 0.4);
        torch::manual_seed(4);
        const double l = sampleBeta(0.4);
        const auto p = torch::randperm(6, torch::kInt64);
        const auto replay = mixBatch(x, y, 4, l, p);
        QVERIFY(torch::equal(drawn.x, replay.x) && torch::equal(drawn.target, replay.target));
    }

    void betaDrawsHaveBetasMoments_data()
    {
        QTest::addColumn<double>("a");
        QTest::newRow("a=0.2") << 0.2;
        QTest::newRow("a=1") << 1.0;
        QTest::newRow("a=2") << 2.0;
    }
    void betaDrawsHaveBetasMoments()
    {
        QFETCH(double, a);
        torch::manual_seed(8);
        const int n = 20000;
        double sum = 0, squares = 0;
        for (int i = 0; i < n; ++i) {
            const double l = sampleBeta(a);
            QVERIFY(l >= 0 && l <= 1);
            sum += l;
            squares += l * l;
        }
        const double mean = sum / n, variance = squares / n - mean * mean;
        const double expectedVariance = 1 / (4 * (2 * a + 1)); // Beta(a, a): mean a / 2a = 1/2
        QVERIFY2(std::abs(mean - 0.5) < 5 * std::sqrt(expectedVariance / n), qPrintable(QString::number(mean)));
        QVERIFY2(std::abs(variance - expectedVariance) < 0.01, qPrintable(QString::number(variance)));
    }

    void cutMixPastesOneBoxFromThePartners()
    {
        const auto x = torch::rand({4, 3, 8, 8}).contiguous(at::MemoryFormat::ChannelsLast);
        const auto y = torch::tensor({0, 1, 2, 3}), perm = torch::tensor({3, 2, 0, 1});
        const auto mixed = cutMixBatch(x, y, 4, 2, 1, 3, 5, perm);
        QVERIFY(mixed.x.is_contiguous(at::MemoryFormat::ChannelsLast));
        const auto box = [](const torch::Tensor &t) { return t.narrow(2, 2, 3).narrow(3, 1, 5); };
        QVERIFY(torch::equal(box(mixed.x), box(x.index_select(0, perm))));
        auto outside = mixed.x.clone(), original = x.clone();
        box(outside).fill_(-1);
        box(original).fill_(-1);
        QVERIFY(torch::equal(outside, original));
        const double lambda = 1.0 - 15.0 / 64.0;
        const auto expected = oneHot(y, 4) * lambda + oneHot(y.index_select(0, perm), 4) * (1 - lambda);
        QVERIFY(torch::allclose(mixed.target, expected));
        QCOMPARE(mixed.target[0][0].item<float>(), float(lambda));
        // Drawn: the pasted region is a box inside the image, and λ = 1 − its area / HW.
        const auto images = torch::rand({8, 1, 10, 12}) + 1.0, labels = torch::arange(8);
        int checked = 0;
        for (int seed = 0; seed < 30; ++seed) {
            torch::manual_seed(seed);
            const auto drawn = randomCutMix(images, labels, 8, 1.0);
            const auto changed = drawn.x.ne(images).to(torch::kFloat); // 0 where equal
            std::int64_t b = 0; // an image whose partner is another one (labels: 0..7)
            while (b < 8 && drawn.target[b][b].item<float>() == 1.0f)
                ++b;
            if (b == 8)
                continue; // nothing pasted (an empty box, or the identity permutation)
            const auto [top, left, h, w, area] = zeroBox(1 - changed[b]);
            QCOMPARE(area, h * w);
            QVERIFY(std::abs(drawn.target[b][b].item<double>() - (1.0 - double(area) / 120.0)) < 1e-6);
            ++checked;
        }
        QVERIFY(checked >= 15);
    }

    void augmentBatchOffReturnsTheSameTensors()
    {
        const auto x = torch::rand({4, 1, 5, 5}), y = torch::tensor({0, 1, 2, 1});
        distillery::TrainConfig train;
        QVERIFY(!distillery::augmentsInputs(train));
        const auto out = augmentBatch(train, x, y, 3, torch::zeros({1}));
        QVERIFY(out.x.is_same(x) && out.target.is_same(y));
        for (int which = 0; which < 6; ++which) {
            distillery::TrainConfig on;
            on.jitter = which == 0 ? 1 : 0;
            on.crop = which == 1 ? 2 : 0;
            on.flip = which == 2;
            on.erase = which == 3 ? 0.5 : 0.0;
            on.mixup = which == 4 ? 0.2 : 0.0;
            on.cutmix = which == 5 ? 1.0 : 0.0;
            QVERIFY(distillery::augmentsInputs(on));
        }
    }

    void augmentBatchRepeatsWithTheSeed()
    {
        const auto x = torch::rand({16, 3, 8, 8}).contiguous(at::MemoryFormat::ChannelsLast);
        const auto y = torch::randint(5, {16}, torch::kInt64), fill = torch::tensor({-1.0f, -0.5f, -2.0f});
        distillery::TrainConfig train;
        train.jitter = 1;
        train.crop = 2;
        train.flip = true;
        train.erase = 0.5;
        train.mixup = 0.4;
        train.cutmix = 1.0;
        for (int seed = 0; seed < 6; ++seed) {
            torch::manual_seed(seed);
            const auto a = augmentBatch(train, x, y, 5, fill);
            torch::manual_seed(seed);
            const auto b = augmentBatch(train, x, y, 5, fill);
            QVERIFY(torch::equal(a.x, b.x) && torch::equal(a.target, b.target));
            QCOMPARE(a.x.sizes(), x.sizes());
            QVERIFY(a.x.is_contiguous(at::MemoryFormat::ChannelsLast));
            QVERIFY(a.target.dim() == 2 && a.target.size(0) == 16 && a.target.size(1) == 5);
            QVERIFY(torch::allclose(a.target.sum(1), torch::ones({16}), 0, 1e-6));
        }
        // Vectors: the image-only transforms are skipped, mixup applies.
        const auto vectors = torch::rand({16, 7});
        torch::manual_seed(3);
        const auto v = augmentBatch(train, vectors, y, 5, fill);
        torch::manual_seed(3);
        const auto replay = randomMixup(vectors, y, 5, 0.4);
        QVERIFY(torch::equal(v.x, replay.x) && torch::equal(v.target, replay.target));
        train.mixup = 0;
        QVERIFY(augmentBatch(train, vectors, y, 5, fill).x.is_same(vectors));
    }
};

QTEST_APPLESS_MAIN(TestAugment)
#include "tst_augment.moc"
