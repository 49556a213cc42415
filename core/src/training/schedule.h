// Learning-rate schedules (internal to core).
#pragma once

#include "distillery/experiment.h"

namespace distillery::detail {

// The learning rate at a point of training, `epochPos` counted in epochs
// (fractional): linear warm-up, then constant, step decay or cosine.
double learningRate(const TrainConfig &t, double epochPos);

} // namespace distillery::detail
