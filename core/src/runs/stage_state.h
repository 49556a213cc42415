// A stage's checkpoints (internal to core): checkpoints/<stage>.pt, the model
// kept (its best epoch), and checkpoints/<stage>.state.pt, everything needed
// to continue the stage after its last finished epoch.
#pragma once

#include "models/torch_model.h"
#include "training/loss_scaler.h"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <vector>

namespace distillery::detail {

// Where a stage stands at the end of an epoch, kept in its state checkpoint.
struct StageProgress {
    int epoch = 0;
    std::int64_t globalStep = 0;
    double bestScore = -1.0;
    int bestEpoch = 0;
    double bestValAccuracy = 0.0;
    double testAccuracy = 0.0;
    double finalTestAccuracy = 0.0;
    double seconds = 0.0;
    LossScaleState lossScale{};         // precision fp16; the defaults otherwise
};

// Writes an archive atomically. LibTorch's own file writer aborts the process
// when a write fails (its destructor throws while the first error unwinds), so
// the archive is serialised to memory and written by Distillery's writer.
void saveArchive(torch::serialize::OutputArchive &archive, const std::filesystem::path &path);

// The state checkpoint: model, optimiser, the random-number states (LibTorch's
// default generator, which draws dropout, and the stage's shuffling generator),
// the best model so far, the progress and the method's adapters (when not null). Written through a temporary file and
// renamed, so a kill leaves the previous one.
void saveStageState(const std::filesystem::path &path, Net &model, torch::optim::Optimizer &optimizer,
                    at::Generator &shuffle, const std::vector<torch::Tensor> &best, const StageProgress &p,
                    torch::nn::Module *adapters = nullptr);

// Restores what saveStageState wrote. Throws InvalidInput naming `path`.
StageProgress loadStageState(const std::filesystem::path &path, Net &model, torch::optim::Optimizer &optimizer,
                             at::Generator &shuffle, std::vector<torch::Tensor> &best,
                             torch::nn::Module *adapters = nullptr);

// checkpoints/<stage>.epoch-NNNN.state.pt beside <stage>.state.pt.
std::filesystem::path epochStatePath(const std::filesystem::path &statePath, int epoch);
// Keeps the state checkpoint just written as that epoch's: a hard link (no
// copy; the next epoch's state replaces the file by a rename, so the link
// keeps this one), or a copy where links are not possible. Throws naming the file.
void keepEpochState(const std::filesystem::path &statePath, int epoch);

// The epoch recorded in a state checkpoint, or 0 when there is none. Throws
// InvalidInput naming `path` when it cannot be read.
int stateEpoch(const std::filesystem::path &path);

} // namespace distillery::detail
