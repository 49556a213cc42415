// A stage's training dynamics (internal to core): for each example of its
// training split, at each epoch, the probability the model gave the true
// class in the training step itself, and whether it was right. The step's
// logits are kept on the device during the epoch (one copy per step, no
// synchronisation), turned into both at the epoch's end, and written to
// analysis/<stage>.dynamics, from which the data map (distillery/analysis.h:
// dataMap) is drawn.
#pragma once

#include "data/torch_data.h"
#include "distillery/analysis.h"

#include <filesystem>
#include <functional>
#include <vector>

namespace distillery::detail {

class DynamicsRecorder {
public:
    // `trainRows`: the rows of the training split that `split` holds, in
    // order (a students' transfer set); undefined when `split` is all of it.
    DynamicsRecorder(std::filesystem::path path, const Split &split, const torch::Tensor &trainRows);

    // Marks every example as not yet seen this epoch.
    void beginEpoch();
    // The training step's logits for rows `idx` of the split (their classes
    // are the split's labels, whatever a mixed batch trained towards).
    void record(const torch::Tensor &idx, const torch::Tensor &logits);
    // Data-parallel: joins the rows every process saw this epoch, through
    // `allreduceSum` (each row is seen by one process only).
    void merge(const std::function<void(std::vector<torch::Tensor> &)> &allreduceSum);
    // Appends the epoch and writes the file.
    void endEpoch();
    // A stage resumed after `epochsDone` epochs: keeps those of the file
    // (epochs it lacks, as after a run from before this file, are unseen).
    void resume(int epochsDone);

    const TrainingDynamics &dynamics() const { return d_; }

private:
    std::filesystem::path path_;
    TrainingDynamics d_;
    torch::Tensor labels_;          // the split's, on its device
    torch::Tensor logits_;          // this epoch's, N × K on the device; NaN rows not seen yet
};

} // namespace distillery::detail
