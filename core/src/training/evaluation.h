// Loss and accuracy of a model on a split (internal to core).
#pragma once

#include "data/torch_data.h"
#include "models/torch_model.h"
#include "training/trainer.h"

#include <cmath>

namespace distillery::detail {

struct Eval {
    double loss = std::nan("");        // mean cross-entropy
    double accuracy = std::nan("");    // top-1; NaN on an empty split
    torch::Tensor logits;              // float [N, classes] on the CPU, when asked for (keepLogits)
};

// `forward` on every row of `split`, in batches of kEvalBatch, without gradients.
// With `keepLogits`, the logits it computed come back too (for the live
// fidelity metrics: no second pass).
Eval evaluate(const TeacherForward &forward, const Split &split, const torch::Device &device, Precision precision,
              bool keepLogits = false);

// `forward`'s logits (as float) for every row of `split`, in batches of kEvalBatch.
torch::Tensor logitsOf(const TeacherForward &forward, const Split &split, const torch::Device &device,
                       Precision precision);

// A model in evaluation mode (batch norms folded for the passes, then thawed).
Eval evaluate(Net &model, const Split &split, const torch::Device &device, Precision precision,
              bool keepLogits = false);

} // namespace distillery::detail
