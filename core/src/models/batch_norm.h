// Batch norm as the models apply it (internal to core): LibTorch's own, or,
// while a stage trains over several processes with
// distributed.sync_batch_norm, synchronised: the batch statistics (and, in
// the backward pass, the sums the input's gradient needs) summed over every
// process's rows, so that the processes together normalise as one process
// with the whole batch would.
#pragma once

#include <torch/torch.h>

#include <functional>

namespace distillery::detail {

// Sums a tensor over the processes, in place.
using SumOverProcesses = std::function<void(torch::Tensor &)>;

// While alive, batch norm in training mode on this thread is synchronised
// through `sum`; `share` is this process's share of the batch (the weight the
// gradient reducer gives its gradients), read at each backward pass.
class SyncBatchNormScope {
public:
    SyncBatchNormScope(SumOverProcesses sum, const double *share);
    ~SyncBatchNormScope();
    SyncBatchNormScope(const SyncBatchNormScope &) = delete;
    SyncBatchNormScope &operator=(const SyncBatchNormScope &) = delete;
};

torch::Tensor batchNorm(torch::nn::BatchNorm1dImpl &bn, const torch::Tensor &x);
torch::Tensor batchNorm(torch::nn::BatchNorm2dImpl &bn, const torch::Tensor &x);

} // namespace distillery::detail
