// What differs between the LibTorch versions Distillery builds against
// (Debian's 1.13 and the 2.x inside PyTorch's wheel), in one place: code
// elsewhere calls these and never tests TORCH_VERSION itself.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

#include <string>

namespace c10d {
class ProcessGroup;
class Backend;
} // namespace c10d

namespace distillery::compat {

inline constexpr bool libtorch2 = TORCH_VERSION_MAJOR >= 2;

// Whether autocast on the CPU runs in float16 (precision fp16 without a GPU):
// 1.13's CPU autocast has bfloat16 only, and turns itself off for float16.
inline constexpr bool cpuFloat16Autocast = TORCH_VERSION_MAJOR >= 2;

// The key of a parameter's entry in torch::optim::Optimizer::state_: its
// TensorImpl's address, as text in 1.x and as the pointer itself in 2.x.
inline auto optimizerStateKey(const torch::Tensor &p)
{
#if TORCH_VERSION_MAJOR >= 2
    return static_cast<void *>(p.unsafeGetTensorImpl());
#else
    return c10::guts::to_string(p.unsafeGetTensorImpl());
#endif
}

// What a c10d process group's collectives are called on: in 2.x the
// backend itself (ProcessGroupGloo and ProcessGroupNCCL are Backends), in
// 1.13 the process group (they are ProcessGroups).
#if TORCH_VERSION_MAJOR >= 2
using CollectiveGroup = c10d::Backend;
#else
using CollectiveGroup = c10d::ProcessGroup;
#endif

} // namespace distillery::compat
