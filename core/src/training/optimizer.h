// The optimiser a stage trains with (internal to core).
#pragma once

#include "distillery/experiment.h"

#include <torch/torch.h>

#include <memory>
#include <vector>

namespace distillery::detail {

// SGD with the stage's momentum, Nesterov and weight decay, as
// torch::optim::SGD defines them, in one pass over each parameter.
std::unique_ptr<torch::optim::Optimizer> makeOptimizer(std::vector<torch::Tensor> params, const TrainConfig &t);

} // namespace distillery::detail
