// The "distillation" object of an experiment file (internal to core): the
// method, its parameters, pairs of taps and schedules.
#pragma once

#include "distillery/experiment.h"

#include <nlohmann/json.hpp>

#include <string>

namespace distillery::detail {

// Reads `k` into `d`. Throws ConfigError naming the field.
void readDistillation(const nlohmann::json &k, const std::string &origin, DistillConfig &d);

} // namespace distillery::detail
