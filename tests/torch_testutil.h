// Helpers shared by the suites that see LibTorch (internal tests only).
#pragma once

#include <torch/torch.h>

namespace testutil {

// The largest absolute difference between two tensors of the same shape.
inline double maxDiff(const torch::Tensor &a, const torch::Tensor &b)
{
    return (a - b).abs().max().item<double>();
}

} // namespace testutil
