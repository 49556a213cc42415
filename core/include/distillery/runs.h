// Runs on disk: a workspace holds runs/<time>-<name>/ folders, each with
// config.json, metrics.jsonl (append-only), summary.json and checkpoints/.
#pragma once

#include "distillery/events.h"

#include <string>
#include <vector>

namespace distillery {

struct RunInfo {
    std::string dir;
    std::string name;
    std::string started;                // ISO time
    RunStatus status = RunStatus::Running;
    std::string method = "kd";          // distillation.method
    double temperature = 0.0;
    double alpha = 0.0;                 // used by kd only (methods.h: usesAlpha)
    double seconds = 0.0;
    double teacherTestAccuracy = -1.0;  // -1: stage absent or unfinished
    double baselineTestAccuracy = -1.0;
    double studentTestAccuracy = -1.0;
    std::int64_t teacherParameters = 0;
    std::int64_t studentParameters = 0;
    BiasCorrection studentBiasCorrection; // omitted classes (data.omit_classes); none: empty classes
    long ownerPid = 0;                  // the live process writing the run, or 0
    std::string forkedFrom;             // a fork's origin run folder ("" for none; config.json forked_from)
    int forkedEpoch = 0;                // and the origin's epoch it continued after
    std::string sweep;                  // a sweep's point: its sweep (config.json sweep_point), else ""
    int sweepPoint = -1;
    double compression() const;         // teacher parameters / student parameters
    // Killed or crashed while running: the summary says running, but no live
    // process holds the run's lock.
    bool interrupted() const { return status == RunStatus::Running && ownerPid == 0; }
    // Stopped, failed or interrupted, and not being written: it can continue
    // from its last checkpoint (distillery-run --resume).
    bool resumable() const
    {
        return ownerPid == 0 && (status == RunStatus::Stopped || status == RunStatus::Failed || interrupted());
    }
};

// Runs found under <workspace>/runs, newest first. Folders with no readable
// summary are listed with what config.json says; unreadable ones are skipped.
std::vector<RunInfo> listRuns(const std::string &workspace);
RunInfo readRunInfo(const std::string &runDir);

// The stages' results as summary.json records them (each written when its
// stage ends), in pipeline order; empty when the file is missing or damaged.
std::vector<StageResult> readStageResults(const std::string &runDir);

// Every metrics record of a run, in order (for plots that load a finished run).
struct RunMetrics {
    std::vector<StepMetrics> steps;
    std::vector<EpochMetrics> epochs;
    std::vector<StageResult> stageResults;
    std::vector<SettingChange> changes;
};
RunMetrics readRunMetrics(const std::string &runDir);

} // namespace distillery

namespace distillery {

// One JSON object per event, as written to metrics.jsonl and printed by
// `distillery-run --json`. Each has an "event" key.
std::string eventJson(const RunStartInfo &e);
std::string eventJson(const StageInfo &e);
std::string eventJson(const StepMetrics &e);
std::string eventJson(const EpochMetrics &e);
std::string eventJson(const StageResult &e);
std::string eventJson(const RunResult &e);
std::string eventJson(const SettingChange &e);
std::string pausedEventJson(bool paused);
std::string dataProgressEventJson(std::int64_t done, std::int64_t total);
std::string errorEventJson(const std::string &message);

} // namespace distillery
