// Augmentations applied to a training batch on the training device, without
// per-sample copies (internal to core). Images are [B, C, H, W] (contiguous or
// channels-last, kept as they come), normalised; vectors [B, F].
//
// Two layers: building blocks with explicit parameters (deterministic, what
// the tests pin down), and their random versions, which draw their parameters
// on the CPU from LibTorch's default generator (the stage checkpoints it, so a
// resumed stage draws the same) following the reference definitions:
// torchvision's RandomCrop, RandomHorizontalFlip and RandomErasing, the mixup
// paper's code and CutMix's reference code.
#pragma once

#include "data/torch_data.h"
#include "distillery/experiment.h"

#include <torch/torch.h>

namespace distillery::detail {

// Images [B, C, H, W] shifted by (dy[b], dx[b]) pixels each, zeros shifted in:
// out[b, c, i, j] = x[b, c, i − dy[b], j − dx[b]], or 0 outside the image.
// |dy|, |dx| ≤ `pixels`. Two gathers from the zero-padded batch.
torch::Tensor shiftImages(const torch::Tensor &x, const torch::Tensor &dy, const torch::Tensor &dx, int pixels);

// Jitter: each image shifted by offsets drawn uniformly from [−pixels,
// pixels] on both axes, from LibTorch's default generator (which the stage
// checkpoints, so a resumed stage draws the same shifts). Vectors pass as
// they are.
torch::Tensor jitterImages(const torch::Tensor &x, int pixels);

// A black pixel in `data`'s normalised inputs, per channel [C] on its device:
// what a crop pads with. Undefined for vector inputs.
torch::Tensor blackPixel(const LoadedData &data);

// ---- Building blocks, explicit parameters ----

// Crop at given offsets (torchvision's RandomCrop(size, padding) once its
// offsets are drawn): each image padded by `padding` on every side with
// `fill` (per channel, [C]: the normalised value of a black pixel; undefined:
// 0), then the H×W window at (top[b], left[b]), both int64 [B] in
// [0, 2·padding]:
//   out[b, c, i, j] = x[b, c, i + top[b] − padding, j + left[b] − padding], or fill[c] outside.
torch::Tensor cropImages(const torch::Tensor &x, const torch::Tensor &top, const torch::Tensor &left, int padding,
                         const torch::Tensor &fill);

// The images where flip[b] (bool [B]) is true mirrored along W, the others as they are.
torch::Tensor flipImages(const torch::Tensor &x, const torch::Tensor &flip);

// The box rows [top[b], top[b] + height[b]) × columns [left[b], left[b] +
// width[b]) of each image set to 0 (the mean, in normalised space), on every
// channel; height[b] = 0: the image untouched. int64 [B] each.
torch::Tensor eraseBoxes(const torch::Tensor &x, const torch::Tensor &top, const torch::Tensor &left,
                         const torch::Tensor &height, const torch::Tensor &width);

// A batch mixed with a permutation of itself: `target` is float [B, K], each
// row a distribution over the K classes.
struct MixedBatch {
    torch::Tensor x;
    torch::Tensor target;
};

// Mixup: x' = λ·x + (1 − λ)·x[perm], target = λ·onehot(y) + (1 − λ)·onehot(y[perm]).
// Images or vectors; y int64 [B], perm int64 [B].
MixedBatch mixBatch(const torch::Tensor &x, const torch::Tensor &y, int classes, double lambda,
                    const torch::Tensor &perm);

// CutMix: the one box rows [top, top + height) × columns [left, left + width)
// of every image replaced by the same box of x[perm]; the target mixed as by
// mixBatch with λ = 1 − height·width / (H·W) exactly.
MixedBatch cutMixBatch(const torch::Tensor &x, const torch::Tensor &y, int classes, std::int64_t top,
                       std::int64_t left, std::int64_t height, std::int64_t width, const torch::Tensor &perm);

// ---- Random versions (LibTorch's default generator, drawn on the CPU) ----

// RandomCrop(size, padding): top and left uniform in [0, 2·padding] per image.
// padding ≤ 0: x itself.
torch::Tensor randomCrop(const torch::Tensor &x, int padding, const torch::Tensor &fill);

// RandomHorizontalFlip: each image flipped with probability 1/2.
torch::Tensor randomFlip(const torch::Tensor &x);

// RandomErasing(p, scale = (0.02, 0.33), ratio = (0.3, 3.3), value = 0): each
// image, with probability p, gets a box of area s·H·W, s ~ U(0.02, 0.33),
// aspect h/w = r, log r ~ U(log 0.3, log 3.3), h = round(√(s·H·W·r)),
// w = round(√(s·H·W / r)), retried up to 10 times until h < H and w < W (else
// the image is left as it is), placed uniformly inside the image. p ≤ 0: x itself.
torch::Tensor randomErase(const torch::Tensor &x, double p);

// One draw of Beta(a, a), as G1 / (G1 + G2) with G1, G2 ~ Gamma(a, 1) (two
// torch::_standard_gamma draws).
double sampleBeta(double alpha);

// Mixup (Zhang et al. 2018, the paper's code): one λ ~ Beta(a, a) for the
// batch, perm = randperm(B), then mixBatch.
MixedBatch randomMixup(const torch::Tensor &x, const torch::Tensor &y, int classes, double alpha);

// CutMix (Yun et al. 2019, the reference code): λ ~ Beta(a, a), perm =
// randperm(B), a box of ⌊H·√(1 − λ)⌋ × ⌊W·√(1 − λ)⌋ centred at a uniform
// pixel, clipped to the image, then cutMixBatch (λ recomputed from the
// clipped box). Images only.
MixedBatch randomCutMix(const torch::Tensor &x, const torch::Tensor &y, int classes, double alpha);

// ---- The trainer's entry point ----

// target: the int64 labels [B] (y itself) when the batch is not mixed, float
// [B, K] class probabilities when it is (mixup or CutMix on).
struct AugmentedBatch {
    torch::Tensor x;
    torch::Tensor target;
};

// Crop → flip → jitter → erase → mixup/CutMix, each only when on in `train`;
// `fill` as for cropImages. With both mixup and CutMix on, each batch uses one
// of them at even odds (as timm does). On vectors the image-only transforms
// (crop, flip, jitter, erase, CutMix) are skipped: with both on, vectors get
// mixup. Returns x and y untouched (the same tensors) when nothing is on
// (distillery::augmentsInputs, in distillery/experiment.h, says whether
// anything is).
AugmentedBatch augmentBatch(const TrainConfig &train, const torch::Tensor &x, const torch::Tensor &y, int classes,
                            const torch::Tensor &fill);

} // namespace distillery::detail
