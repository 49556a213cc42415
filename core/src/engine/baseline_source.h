// A baseline taken over from an earlier run (internal to core): a sweep's
// points share one baseline per seed and student settings (baseline_run).
#pragma once

#include "training/stage_runner.h"

namespace distillery::detail {

// Throws InvalidInput naming baseline_run unless its run has a finished
// baseline trained on the same data, seed and student settings as `exp`.
void checkReusedBaseline(const Experiment &exp);

// The baseline stage from exp.baselineRun: its events written again into
// this run's metrics.jsonl (and told to the observer), its model, logits,
// training dynamics and analysis copied into this run's folder. False when
// the stage did not finish (never, for a checked run).
bool takeOverBaseline(StageEnvironment &env, StageInfo info);

} // namespace distillery::detail
