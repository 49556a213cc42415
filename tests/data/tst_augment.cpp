// Jitter (core/src/data/augment.cpp): the batched shift against a per-image
// transcription of its definition (zero padding, then a crop), the draws'
// range, and that the same seed draws the same shifts.
#include "data/augment.h"

#include <QtTest/QtTest>

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
};

QTEST_APPLESS_MAIN(TestAugment)
#include "tst_augment.moc"
