#include "data/augment.h"

namespace distillery::detail {

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

} // namespace distillery::detail
