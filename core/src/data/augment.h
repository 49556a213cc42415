// Augmentations applied to a training batch on the training device, without
// per-sample copies (internal to core).
#pragma once

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

} // namespace distillery::detail
