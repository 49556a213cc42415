// The omitted-class bias correction of Hinton et al. 2015 (section 3): a
// student whose transfer set lacked some classes learns them only from the
// teacher's soft targets, and under-predicts them; raising their output
// biases by one amount fixes much of that (internal to core).
#pragma once

#include "data/torch_data.h"
#include "distillery/events.h"
#include "distillery/experiment.h"
#include "models/torch_model.h"
#include "training/precision.h"

#include <torch/torch.h>

#include <utility>
#include <vector>

namespace distillery::detail {

// The shift added to `classes`' logits that maximises the accuracy of
// `logits` [N, C] on `labels` [N]: exact, over every point where a prediction
// changes, taking the middle of the best interval (0 when no shift helps).
double chooseBiasShift(const torch::Tensor &logits, const torch::Tensor &labels, const std::vector<int> &classes);

// {accuracy on the examples of `classes`, accuracy on all} of `logits` with
// `shift` added to `classes`' columns. NaN for a part with no examples.
std::pair<double, double> shiftedAccuracy(const torch::Tensor &logits, const torch::Tensor &labels,
                                          const std::vector<int> &classes, double shift);

// For a model in eval mode with the weights it keeps: the shift (the
// experiment's, or chosen on the validation split, or on the test split when
// there is none), the omitted classes' test accuracy before and after, and the
// last layer's biases raised. Throws std::runtime_error when the last layer
// has no bias.
BiasCorrection correctOmittedBiases(Net &model, const LoadedData &data, const DataConfig &config,
                                    const torch::Device &device, Precision precision);

} // namespace distillery::detail
