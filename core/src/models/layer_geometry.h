// The defaults of a layer's window: one place for the rules that the shape
// analysis, the LibTorch model and the exporters must agree on (internal to core).
#pragma once

#include "distillery/experiment.h"

namespace distillery::detail {

// conv2d: kernel 3 unless given; residual blocks are always 3x3 with padding 1.
inline int convKernel(const LayerSpec &l) { return l.type == "residual" ? 3 : (l.kernel ? l.kernel : 3); }
inline int convStride(const LayerSpec &l) { return l.stride ? l.stride : 1; }
// padding -1 means "same" for odd kernels.
inline int convPadding(const LayerSpec &l)
{
    return l.type == "residual" ? 1 : (l.padding >= 0 ? l.padding : convKernel(l) / 2);
}
// maxpool/avgpool: a 2x2 window unless given, stride equal to the window unless given.
inline int poolKernel(const LayerSpec &l) { return l.kernel ? l.kernel : 2; }
inline int poolStride(const LayerSpec &l) { return l.stride ? l.stride : poolKernel(l); }
// Batch norm's epsilon (LibTorch's and PyTorch's default).
constexpr double kBatchNormEps = 1e-5;

} // namespace distillery::detail
