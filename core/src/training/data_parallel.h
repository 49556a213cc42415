// A stage's part in a run over several processes (internal to core): every
// process starts from rank 0's weights, trains on its share of each batch
// with the gradients summed (distributed/gradient_reducer.h), stops and
// pauses as the processes agree, and evaluates the same model.
#pragma once

#include "distributed/communicator.h"
#include "distributed/gradient_reducer.h"
#include "models/batch_norm.h"
#include "training/dynamics.h"
#include "training/run_control.h"

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>

namespace distillery::detail {

class DataParallel {
public:
    // Broadcasts rank 0's parameters and buffers of `model` and `adapters`
    // (a method's own parts, or null) and reduces the gradients of the
    // parameters `optimizer` updates.
    // With `syncBatchNorm`, the stage's batch norm is synchronised over the
    // processes while this lives (on the thread that made it).
    DataParallel(Communicator &comm, torch::nn::Module &model, torch::nn::Module *adapters,
                 torch::optim::Optimizer &optimizer, bool syncBatchNorm);

    GradientReducer &reducer() { return *reducer_; }
    int rank() const { return comm_.rank(); }
    int size() const { return comm_.size(); }

    // An epoch's running sums over every process's rows (on the CPU).
    torch::Tensor globalSums(const torch::Tensor &acc);
    // Between two steps: stop as any process asks, pause as rank 0 does (all
    // waiting, rank 0 asking again each second). True when training stops;
    // `waited` tells whether it paused.
    bool betweenSteps(RunControl &control, const std::function<void(bool)> &pausedChanged, bool &waited);
    // Each process's own dropout and augmentation draws for the epoch (rank
    // 0 keeps the stage's), the same again when the stage resumes.
    void seedEpoch(std::uint64_t stageSeed, int epoch);
    // Before the evaluation after an epoch: batch norm's running statistics
    // are rank 0's everywhere (as PyTorch's DDP broadcasts them), so that all
    // evaluate the same model, and the data map gets every process's rows.
    void beforeEvaluation(torch::nn::Module &model, DynamicsRecorder &dynamics);

private:
    Communicator &comm_;
    std::unique_ptr<GradientReducer> reducer_;
    std::unique_ptr<SyncBatchNormScope> syncBatchNorm_;
};

// Synchronised batch norm needs a row on every process: an epoch whose last
// batch (kept when it has two rows or more) has fewer rows than `processes`
// is refused with InvalidInput naming the stage.
void checkSyncBatchNormRows(const std::string &stage, std::int64_t lastBatchRows, int processes);

} // namespace distillery::detail
