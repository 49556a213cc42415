// A stage's training dynamics (internal to core): for each example of its
// training split, at each epoch, the probability the model gave the true
// class in the training step itself, and whether it was right. Kept on the
// device during the epoch (no synchronisation per step) and written to
// analysis/<stage>.dynamics after each epoch, from which the data map
// (distillery/analysis.h: dataMap) is drawn.
#pragma once

#include "data/torch_data.h"
#include "distillery/analysis.h"

#include <filesystem>

namespace distillery::detail {

class DynamicsRecorder {
public:
    // `trainRows`: the rows of the training split that `split` holds, in
    // order (a students' transfer set); undefined when `split` is all of it.
    DynamicsRecorder(std::filesystem::path path, const Split &split, const torch::Tensor &trainRows);

    // Marks every example as not yet seen this epoch.
    void beginEpoch();
    // The training step's logits for rows `idx` of the split, with their true
    // labels (before any mixing of the batch).
    void record(const torch::Tensor &idx, const torch::Tensor &logits, const torch::Tensor &labels);
    // Appends the epoch and writes the file.
    void endEpoch();
    // A stage resumed after `epochsDone` epochs: keeps those of the file
    // (epochs it lacks, as after a run from before this file, are unseen).
    void resume(int epochsDone);

    const TrainingDynamics &dynamics() const { return d_; }

private:
    std::filesystem::path path_;
    TrainingDynamics d_;
    torch::Tensor probability_;     // this epoch's, on the device
    torch::Tensor correct_;
};

} // namespace distillery::detail
