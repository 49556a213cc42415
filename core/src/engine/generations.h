// Born-again generations (Furlanello et al. 2018): the chain of runs in which
// each generation's teacher is the previous generation's distilled student
// (internal to core).
#pragma once

#include "distillery/experiment.h"

#include <filesystem>
#include <optional>

namespace distillery::detail {

// The experiment of the generation after the finished run in `runDir`, from
// its config.json, or nothing when that run is its chain's last (or has no
// readable config.json). It is the run's experiment with generation + 1, its
// teacher that run's distilled student (teacher.source "run", teacher.stage
// "student"), the first generation's baseline taken over (baseline_run) when
// there is one, and the name ending in "-gen<n>".
std::optional<Experiment> nextGeneration(const std::filesystem::path &runDir);

} // namespace distillery::detail
