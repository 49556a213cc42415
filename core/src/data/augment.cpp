#include "data/augment.h"

#include <algorithm>
#include <cmath>

namespace distillery::detail {

torch::Tensor blackPixel(const LoadedData &data)
{
    if (data.summary.inputShape.size() != 3)
        return {};
    std::vector<float> fill;
    for (std::size_t c = 0; c < data.mean.size(); ++c)
        fill.push_back(float(-data.mean[c] / data.stdev[c]));
    return torch::tensor(fill).to(data.train.x.device());
}

torch::Tensor shiftImages(const torch::Tensor &x, const torch::Tensor &dy, const torch::Tensor &dx, int pixels)
{
    TORCH_CHECK(x.dim() == 4, "shiftImages: images [B, C, H, W] expected");
    const std::int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    namespace F = torch::nn::functional;
    const auto padded = F::pad(x, F::PadFuncOptions({pixels, pixels, pixels, pixels}));
    const auto options = torch::TensorOptions().dtype(torch::kInt64).device(x.device());
    // Output row i reads padded row i − dy + pixels; column j, column j − dx + pixels.
    const auto rows = torch::arange(h, options).view({1, h}) - dy.to(options).view({b, 1}) + pixels;
    const auto cols = torch::arange(w, options).view({1, w}) - dx.to(options).view({b, 1}) + pixels;
    const auto byRow = padded.gather(2, rows.view({b, 1, h, 1}).expand({b, c, h, w + 2 * pixels}));
    // Keep the memory format the net expects (channels-last for convolutional nets).
    return byRow.gather(3, cols.view({b, 1, 1, w}).expand({b, c, h, w})).contiguous(x.suggest_memory_format());
}

torch::Tensor jitterImages(const torch::Tensor &x, int pixels)
{
    if (pixels <= 0 || x.dim() != 4 || x.size(0) == 0)
        return x;
    const auto options = torch::TensorOptions().dtype(torch::kInt64);
    const auto dy = torch::randint(-pixels, pixels + 1, {x.size(0)}, options);
    const auto dx = torch::randint(-pixels, pixels + 1, {x.size(0)}, options);
    return shiftImages(x, dy.to(x.device()), dx.to(x.device()), pixels);
}

namespace {

torch::TensorOptions indexOptions(const torch::Tensor &x)
{
    return torch::TensorOptions().dtype(torch::kInt64).device(x.device());
}

// λ·onehot(y) + (1 − λ)·onehot(y[perm]), float [B, K].
torch::Tensor mixTargets(const torch::Tensor &y, int classes, double lambda, const torch::Tensor &perm)
{
    const auto labels = y.to(torch::kInt64);
    const auto oneHot = torch::nn::functional::one_hot(labels, classes).to(torch::kFloat);
    return oneHot * lambda + oneHot.index_select(0, perm.to(labels.device(), torch::kInt64)) * (1.0 - lambda);
}

// Rows [from[b], from[b] + size[b]) of [0, n), as bool [B, n].
torch::Tensor spans(const torch::Tensor &from, const torch::Tensor &size, std::int64_t n, const torch::Tensor &x)
{
    const auto options = indexOptions(x);
    const auto index = torch::arange(n, options).view({1, n});
    const auto start = from.to(options).view({-1, 1});
    return index.ge(start) & index.lt(start + size.to(options).view({-1, 1}));
}

} // namespace

torch::Tensor cropImages(const torch::Tensor &x, const torch::Tensor &top, const torch::Tensor &left, int padding,
                         const torch::Tensor &fill)
{
    TORCH_CHECK(x.dim() == 4, "cropImages: images [B, C, H, W] expected");
    const std::int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), p = padding;
    TORCH_CHECK(p >= 0, "cropImages: padding must be >= 0");
    TORCH_CHECK(!fill.defined() || fill.numel() == c, "cropImages: one fill value per channel expected");
    const auto format = x.suggest_memory_format();
    const auto fillValues =
        fill.defined() ? fill.to(x.options()).view({1, c, 1, 1}) : torch::zeros({1, c, 1, 1}, x.options());
    // The padded batch: the fill everywhere, the images in the middle.
    auto padded = torch::empty({b, c, h + 2 * p, w + 2 * p}, x.options().memory_format(format));
    padded.copy_(fillValues.expand_as(padded));
    padded.narrow(2, p, h).narrow(3, p, w).copy_(x);
    // Output row i reads padded row i + top; column j, column j + left.
    const auto options = indexOptions(x);
    const auto rows = torch::arange(h, options).view({1, h}) + top.to(options).view({b, 1});
    const auto cols = torch::arange(w, options).view({1, w}) + left.to(options).view({b, 1});
    const auto byRow = padded.gather(2, rows.view({b, 1, h, 1}).expand({b, c, h, w + 2 * p}));
    return byRow.gather(3, cols.view({b, 1, 1, w}).expand({b, c, h, w})).contiguous(format);
}

torch::Tensor flipImages(const torch::Tensor &x, const torch::Tensor &flip)
{
    TORCH_CHECK(x.dim() == 4, "flipImages: images [B, C, H, W] expected");
    const auto which = flip.to(x.device(), torch::kBool).view({x.size(0), 1, 1, 1});
    return torch::where(which, x.flip({3}), x).contiguous(x.suggest_memory_format());
}

torch::Tensor eraseBoxes(const torch::Tensor &x, const torch::Tensor &top, const torch::Tensor &left,
                         const torch::Tensor &height, const torch::Tensor &width)
{
    TORCH_CHECK(x.dim() == 4, "eraseBoxes: images [B, C, H, W] expected");
    const std::int64_t b = x.size(0), h = x.size(2), w = x.size(3);
    const auto inRows = spans(top, height, h, x).view({b, 1, h, 1});
    const auto inCols = spans(left, width, w, x).view({b, 1, 1, w});
    return x.masked_fill(inRows & inCols, 0).contiguous(x.suggest_memory_format());
}

MixedBatch mixBatch(const torch::Tensor &x, const torch::Tensor &y, int classes, double lambda,
                    const torch::Tensor &perm)
{
    TORCH_CHECK(perm.dim() == 1 && perm.size(0) == x.size(0) && y.size(0) == x.size(0),
                "mixBatch: one label and one partner per sample expected");
    const auto partner = x.index_select(0, perm.to(x.device(), torch::kInt64));
    auto mixed = (x * lambda + partner * (1.0 - lambda)).contiguous(x.suggest_memory_format());
    return {mixed, mixTargets(y, classes, lambda, perm)};
}

MixedBatch cutMixBatch(const torch::Tensor &x, const torch::Tensor &y, int classes, std::int64_t top,
                       std::int64_t left, std::int64_t height, std::int64_t width, const torch::Tensor &perm)
{
    TORCH_CHECK(x.dim() == 4, "cutMixBatch: images [B, C, H, W] expected");
    const std::int64_t h = x.size(2), w = x.size(3);
    TORCH_CHECK(top >= 0 && left >= 0 && height >= 0 && width >= 0 && top + height <= h && left + width <= w,
                "cutMixBatch: the box must lie inside the image");
    TORCH_CHECK(perm.dim() == 1 && perm.size(0) == x.size(0) && y.size(0) == x.size(0),
                "cutMixBatch: one label and one partner per sample expected");
    const auto options = indexOptions(x);
    const auto rows = torch::arange(h, options), cols = torch::arange(w, options);
    const auto inRows = (rows.ge(top) & rows.lt(top + height)).view({1, 1, h, 1});
    const auto inCols = (cols.ge(left) & cols.lt(left + width)).view({1, 1, 1, w});
    const auto partner = x.index_select(0, perm.to(x.device(), torch::kInt64));
    auto mixed = torch::where(inRows & inCols, partner, x).contiguous(x.suggest_memory_format());
    const double lambda = 1.0 - double(height * width) / double(h * w);
    return {mixed, mixTargets(y, classes, lambda, perm)};
}

torch::Tensor randomCrop(const torch::Tensor &x, int padding, const torch::Tensor &fill)
{
    if (padding <= 0 || x.dim() != 4)
        return x;
    const auto options = torch::TensorOptions().dtype(torch::kInt64);
    const auto top = torch::randint(0, 2 * padding + 1, {x.size(0)}, options);
    const auto left = torch::randint(0, 2 * padding + 1, {x.size(0)}, options);
    return cropImages(x, top.to(x.device()), left.to(x.device()), padding, fill);
}

torch::Tensor randomFlip(const torch::Tensor &x)
{
    if (x.dim() != 4)
        return x;
    // RandomHorizontalFlip(p = 0.5): flipped when rand < p.
    return flipImages(x, torch::rand({x.size(0)}, torch::kFloat64).lt(0.5).to(x.device()));
}

torch::Tensor randomErase(const torch::Tensor &x, double p)
{
    if (p <= 0 || x.dim() != 4)
        return x;
    constexpr int kAttempts = 10;
    const std::int64_t b = x.size(0), h = x.size(2), w = x.size(3);
    const auto dbl = torch::TensorOptions().dtype(torch::kFloat64);
    const auto erase = torch::rand({b}, dbl).lt(p);
    // All the attempts of all the images at once; each image takes its first
    // valid attempt, as torchvision's loop would.
    const double area = double(h * w);
    const auto target = torch::empty({b, kAttempts}, dbl).uniform_(0.02, 0.33) * area;
    const auto ratio = torch::empty({b, kAttempts}, dbl).uniform_(std::log(0.3), std::log(3.3)).exp();
    const auto boxH = (target * ratio).sqrt().round(), boxW = (target / ratio).sqrt().round();
    const auto valid = boxH.lt(double(h)) & boxW.lt(double(w));
    const auto attempt = torch::arange(kAttempts, dbl.dtype(torch::kInt64)).view({1, kAttempts});
    const auto first = torch::where(valid, attempt, kAttempts).amin(1).view({b, 1});
    const auto found = first.view({b}).lt(kAttempts);
    const auto pick = first.clamp_max(kAttempts - 1);
    const auto height = boxH.gather(1, pick).view({b}), width = boxW.gather(1, pick).view({b});
    // torch.randint(0, H − h + 1) for each image, batched.
    const auto top = (torch::rand({b}, dbl) * (double(h) - height + 1)).floor().clamp_max(double(h) - height);
    const auto left = (torch::rand({b}, dbl) * (double(w) - width + 1)).floor().clamp_max(double(w) - width);
    const auto on = (erase & found).to(torch::kFloat64);
    const auto device = x.device();
    return eraseBoxes(x, top.to(device, torch::kInt64), left.to(device, torch::kInt64),
                      (height * on).to(device, torch::kInt64), width.to(device, torch::kInt64));
}

double sampleBeta(double alpha)
{
    TORCH_CHECK(alpha > 0, "sampleBeta: alpha must be > 0");
    const auto g = torch::_standard_gamma(torch::full({2}, alpha, torch::kFloat64));
    const double g1 = g[0].item<double>(), g2 = g[1].item<double>();
    if (!(g1 + g2 > 0)) // both underflowed (tiny α): the limit puts all mass at 0 and 1
        return g1 >= g2 ? 1.0 : 0.0;
    return g1 / (g1 + g2);
}

MixedBatch randomMixup(const torch::Tensor &x, const torch::Tensor &y, int classes, double alpha)
{
    const double lambda = sampleBeta(alpha);
    const auto perm = torch::randperm(x.size(0), torch::kInt64);
    return mixBatch(x, y, classes, lambda, perm.to(x.device()));
}

MixedBatch randomCutMix(const torch::Tensor &x, const torch::Tensor &y, int classes, double alpha)
{
    TORCH_CHECK(x.dim() == 4, "randomCutMix: images [B, C, H, W] expected");
    const double lambda = sampleBeta(alpha);
    const auto perm = torch::randperm(x.size(0), torch::kInt64);
    const std::int64_t h = x.size(2), w = x.size(3);
    const double cut = std::sqrt(1.0 - lambda);
    const auto cutH = std::int64_t(double(h) * cut), cutW = std::int64_t(double(w) * cut);
    const auto cy = torch::randint(0, h, {1}, torch::kInt64).item<std::int64_t>();
    const auto cx = torch::randint(0, w, {1}, torch::kInt64).item<std::int64_t>();
    const auto y1 = std::clamp<std::int64_t>(cy - cutH / 2, 0, h), y2 = std::clamp<std::int64_t>(cy + cutH / 2, 0, h);
    const auto x1 = std::clamp<std::int64_t>(cx - cutW / 2, 0, w), x2 = std::clamp<std::int64_t>(cx + cutW / 2, 0, w);
    return cutMixBatch(x, y, classes, y1, x1, y2 - y1, x2 - x1, perm.to(x.device()));
}

AugmentedBatch augmentBatch(const TrainConfig &train, const torch::Tensor &x, const torch::Tensor &y, int classes,
                            const torch::Tensor &fill)
{
    auto out = x;
    const bool images = x.dim() == 4;
    if (images) {
        out = randomCrop(out, train.crop, fill);
        if (train.flip)
            out = randomFlip(out);
        out = jitterImages(out, train.jitter);
        out = randomErase(out, train.erase);
    }
    const bool mixup = train.mixup > 0, cutmix = train.cutmix > 0 && images;
    // timm's Mixup with both on: CutMix when rand < switch_prob = 0.5.
    const bool useCutMix = cutmix && (!mixup || torch::rand({1}, torch::kFloat64).item<double>() < 0.5);
    if (useCutMix) {
        auto mixed = randomCutMix(out, y, classes, train.cutmix);
        return {mixed.x, mixed.target};
    }
    if (mixup) {
        auto mixed = randomMixup(out, y, classes, train.mixup);
        return {mixed.x, mixed.target};
    }
    return {out, y};
}

} // namespace distillery::detail
