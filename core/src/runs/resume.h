// Continuing an interrupted run (internal to core): which stages are done,
// where the one that goes on stands, and the metrics kept for replay.
#pragma once

#include "distillery/events.h"
#include "distillery/runs.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <vector>

namespace distillery::detail {

struct ResumePlan {
    bool active = false;
    StageKind stage = StageKind::Teacher;   // the first stage that is not finished
    int epoch = 0;                          // its last checkpointed epoch (0: it starts over)
    bool allDone = false;                   // every stage finished; only the ending is missing
    std::vector<StageResult> finished;      // stages that need no more training
    RunMetrics kept;                        // the metrics kept, replayed to the observer
    // The setting changes of the stage that goes on, those dropped with the
    // metrics after its checkpoint too: the resumed stage makes them again
    // at the steps they were made (Engine::requestSettingChange).
    std::vector<SettingChange> changes;
    double previousSeconds = 0.0;
    nlohmann::json previousSummary;

    // The finished stage of that kind, or nullptr.
    const StageResult *finishedStage(StageKind kind) const;
    // Whether `kind` continues after a checkpointed epoch (its start is in the file already).
    bool midStage(StageKind kind) const { return active && stage == kind && epoch > 0; }
};

// Reads the run folder `dir` of a run with stages `pipeline` and trims its
// metrics.jsonl to what the resumed run keeps: up to the checkpointed epoch of
// the stage that goes on (or up to its start, when it starts over), so that
// each epoch is recorded once; what a killed or stopped session wrote after is
// dropped. Throws InvalidInput for a folder that cannot be resumed.
ResumePlan prepareResume(const std::filesystem::path &dir, const std::vector<StageKind> &pipeline);

} // namespace distillery::detail
