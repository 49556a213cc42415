// Fully connected layers on the CPU through oneDNN's matrix multiply
// (internal to core).
#pragma once

#include <torch/torch.h>

namespace distillery::detail {

// Whether linear layers run through oneDNN's sgemm on the CPU in this build.
// The products then run on LibTorch's OpenMP threads, not OpenBLAS's.
bool denseOnOneDnn();

// y = x·weightᵀ + bias, followed by ReLU when `relu`: torch::linear (and
// torch::relu) computed with oneDNN's sgemm and one pass for bias and ReLU,
// forward and backward. oneDNN's kernels run the shapes of a training step
// (128-row batches; the weight gradients' inner dimension is the batch)
// 10-20% faster than OpenBLAS here, and on LibTorch's threads, so the
// element-wise work between products runs on all cores too (benchmarks/gemm_ceiling.py).
// Inputs it does not cover (another device or type, more than two
// dimensions, autocast on, a build without oneDNN) go through torch::linear.
// bias may be undefined.
torch::Tensor linear(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias, bool relu);

// out = a·b for contiguous 2-D CPU float tensors through oneDNN's sgemm, for
// the benchmark's reference rate. Throws in builds without oneDNN.
void oneDnnProduct(const torch::Tensor &a, const torch::Tensor &b, torch::Tensor &out);

} // namespace distillery::detail
