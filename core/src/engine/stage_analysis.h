// The end of a stage's analysis (internal to core): the kept model's logits on
// the test set, its figures against the teacher's and the baseline's saved
// logits, and its batch-1 latency, into the run's analysis/ folder
// (distillery/analysis.h, docs/INSIGHT.md).
#pragma once

#include "training/stage_runner.h"

#include <filesystem>

namespace distillery::detail {

// analysis/<stage>.logits in the run folder.
std::filesystem::path analysisLogitsPath(const StageEnvironment &env, StageKind kind);

// Runs `forward` (the model in its evaluation form) on the test split, writes
// analysis/<stage>.logits and the stage's entry of analysis/summary.json with
// `result`'s parameters and multiply-adds. A student is compared with the
// teacher's logits file (and the distilled student with the baseline's) when
// it is there. `testLogits`, when defined, are the model's test logits
// already computed (KeptLogits): no pass over the test set then. Throws
// std::runtime_error naming the file when one cannot be written.
void analyseStage(StageEnvironment &env, StageKind kind, const TeacherForward &forward, const StageResult &result,
                  const torch::Tensor &testLogits = {});

// The same for a Distillery net: frozen (batch norms folded) for the passes, then thawed.
void analyseStage(StageEnvironment &env, StageKind kind, Net &model, const StageResult &result,
                  const torch::Tensor &testLogits = {});

// The frozen teacher's validation logits (float, CPU) for the students' live
// fidelity metrics: those of its best epoch when it trained in this session,
// else those an earlier session saved, else computed; saved as
// analysis/teacher.validation.logits. Undefined without a validation split.
torch::Tensor teacherValidationLogits(StageEnvironment &env, const TeacherForward &teacher);

} // namespace distillery::detail
