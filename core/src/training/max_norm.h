// Max-norm constraints (Srivastava et al. 2014, as in the dropout training of
// Hinton et al. 2015): after each step, every unit's incoming weight vector
// longer than a limit is scaled back to it (internal to core).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace distillery::detail {

// For each weight of a linear ([out, in]) or convolution ([out, in, kh, kw])
// layer: each output unit's incoming weights with an L2 norm above `limit`
// are scaled to norm `limit`; shorter ones are left as they are. Biases and
// batch-norm parameters (1-D) are not constrained.
void applyMaxNorm(const std::vector<torch::Tensor> &parameters, double limit);

} // namespace distillery::detail
