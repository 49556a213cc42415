// The training step and what surrounds it, shared by the engine and the
// benchmarks so that both time the same code (internal to core).
#pragma once

#include "methods/distill.h"
#include "data/torch_data.h"
#include "models/torch_model.h"

#include <functional>
#include <memory>

namespace distillery::detail {

// Batch size of evaluation and of the teacher-logit cache. Larger is not
// faster here: cnn-large (channels-last, in PyTorch with the same kernels and
// allocator settings) evaluates 8,100 samples/s at 256,
// 6,500 at 512 and 4,900 at 1024 on 2 cores, as its first activations
// (26 MB at 256) outgrow the caches and then the allocator's mmap threshold
// (see tuneAllocator).
constexpr std::int64_t kEvalBatch = 256;

// A frozen teacher: its logits for a batch of the students' (normalised) inputs.
// A Distillery model, or a TorchScript module imported from elsewhere.
using TeacherForward = std::function<torch::Tensor(const torch::Tensor &)>;

struct StepContext {
    Net &model;
    torch::optim::Optimizer &optimizer;
    DistillationMethod &method;
    TeacherForward teacher;         // run per batch when there is no cache
    torch::Tensor teacherCache;     // the teacher's logits for every row of `train`, or undefined
    const Split &train;
    bool mixedPrecision = false;    // forward passes under bfloat16 autocast; losses in float
};

// Mixed precision: while alive and `on`, LibTorch's autocast runs the eligible
// operations (matrix products, convolutions) in bfloat16 on `device`'s type,
// the rest in float. Weights, gradients and optimiser state stay float, and
// bfloat16 keeps float's range, so no gradient scaling is needed.
class Autocast {
public:
    Autocast(bool on, const torch::Device &device);
    ~Autocast();
    Autocast(const Autocast &) = delete;
    Autocast &operator=(const Autocast &) = delete;

private:
    bool on_ = false;
    bool cuda_ = false;
    bool wasEnabled_ = false;
    at::ScalarType previousType_ = at::kFloat;
};

// One optimisation step on rows `idx` of the training split. Adds
// {total·rows, part·rows..., correct} to `acc` without synchronising.
void trainStep(StepContext &c, const torch::Tensor &idx, torch::Tensor &acc);

// The frozen teacher's logits for every row of `split`, in large batches (as
// float; the forward passes under bfloat16 autocast when `mixedPrecision`).
torch::Tensor teacherLogits(const TeacherForward &teacher, const Split &split, bool mixedPrecision = false);

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(std::vector<torch::Tensor> params, const TrainConfig &t);

// OpenBLAS's own thread pool, apart from LibTorch's. -1 / false when the BLAS
// in use is not OpenBLAS.
int openblasThreads();
bool setOpenblasThreads(int n);

// How a step's work is split between LibTorch's OpenMP threads and OpenBLAS's
// own threads on `threads` cores. Both pools spin while they wait, so giving
// both all cores makes them fight. Measured on 2 cores (benchmarks/bench_distill,
// docs/PERFORMANCE.md):
// - linear layers through oneDNN (dense.h): every product and element-wise
//   pass runs on LibTorch's threads, so they get all cores, OpenBLAS one;
// - otherwise, mostly fully connected (matrix products in OpenBLAS): one
//   LibTorch thread, all cores to OpenBLAS, for small and large products alike;
// - mostly convolutions (oneDNN on LibTorch's OpenMP threads, as are pooling
//   and batch norm): all cores to LibTorch, one OpenBLAS thread.
// A rule rather than a timing, so that the same experiment always makes the
// same choice: the thread counts change the order of floating-point sums.
struct ThreadPlan {
    int torch = 1;
    int blas = 1;
};
ThreadPlan planThreads(std::int64_t linearMultiplyAdds, std::int64_t convMultiplyAdds, int threads);
// The split of `layers`' multiply-adds (from their report) between linear and convolution layers.
std::pair<std::int64_t, std::int64_t> linearAndConvMultiplyAdds(const Architecture &layers, const ArchitectureReport &report);
// Configures the C library's allocator for training's allocation pattern
// (large blocks freed and allocated again at every step). Once per process.
void tuneAllocator();
// Applies a plan to both pools; false when the BLAS is not OpenBLAS (its threads are then left alone).
bool applyThreads(const ThreadPlan &plan);

} // namespace distillery::detail
