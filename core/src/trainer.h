// The training step and what surrounds it, shared by the engine and the
// benchmarks so that both time the same code (internal to core).
#pragma once

#include "distill.h"
#include "torch_data.h"
#include "torch_model.h"

#include <memory>

namespace distillery::detail {

struct StepContext {
    Net &model;
    torch::optim::Optimizer &optimizer;
    DistillationMethod &method;
    Net *teacher = nullptr;         // run per batch when there is no cache
    torch::Tensor teacherCache;     // the teacher's logits for every row of `train`, or undefined
    const Split &train;
};

// One optimisation step on rows `idx` of the training split. Adds
// {total·rows, part·rows..., correct} to `acc` without synchronising.
void trainStep(StepContext &c, const torch::Tensor &idx, torch::Tensor &acc);

// The frozen teacher's logits for every row of `split`, in large batches.
torch::Tensor teacherLogits(Net &teacher, const Split &split);

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(std::vector<torch::Tensor> params, const TrainConfig &t);

// OpenBLAS's own thread pool, apart from LibTorch's. -1 / false when the BLAS
// in use is not OpenBLAS.
int openblasThreads();
bool setOpenblasThreads(int n);

// OpenBLAS threads for a step of `multiplyAdds` (forward, whole batch): one
// thread for small products, where handing work between threads costs more
// than it gains; `threads` otherwise. A rule rather than a timing, so that the
// same experiment always takes the same choice (the thread count changes the
// order of floating-point sums, and so the last bits of the results).
int blasThreadsFor(std::int64_t multiplyAdds, int threads);

} // namespace distillery::detail
