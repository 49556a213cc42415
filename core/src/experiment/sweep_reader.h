// The "sweep" and "sweep_point" objects of an experiment file (internal to
// core): what a sweep varies, and which point of which sweep a run is.
#pragma once

#include "distillery/experiment.h"

#include <nlohmann/json.hpp>

#include <string>

namespace distillery::detail {

// Throw ConfigError naming the field ("sweep.grid.distillation.alpha: ...").
void readSweep(const nlohmann::json &j, const std::string &origin, SweepSpec &s);
void readSweepPoint(const nlohmann::json &j, const std::string &origin, SweepMembership &m);

nlohmann::json sweepToJson(const SweepSpec &s);
nlohmann::json sweepPointToJson(const SweepMembership &m);

} // namespace distillery::detail
