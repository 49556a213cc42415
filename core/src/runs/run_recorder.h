// What a run leaves behind and tells as it goes (internal to core): every event
// goes to metrics.jsonl (one JSON object a line, appended and flushed) and to
// the observer; summary.json is rewritten atomically whenever it changes. The
// recorder also holds the run's result, which the summary is made from.
#pragma once

#include "distillery/events.h"
#include "distillery/runs.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace distillery::detail {

class RunRecorder {
public:
    explicit RunRecorder(RunObserver &observer) : observer_(observer) {}

    // Starts writing into `dir` (metrics.jsonl appended). Throws InvalidInput
    // when the folder cannot be written.
    void open(const std::filesystem::path &dir);
    // Stops writing; events after this reach only the observer.
    void close();
    bool isOpen() const { return bool(metrics_); }
    const std::filesystem::path &dir() const { return dir_; }

    // A line for metrics.jsonl only (the observer is told separately or not at all).
    void write(const std::string &line);
    // summary.json from `summary()` and the result's stages, status, time and message.
    void saveSummary();

    // Events: to the file (where `toFile`) and to the observer.
    void runStarted(const RunStartInfo &info, bool toFile = true);
    void stageStarted(const StageInfo &info, bool toFile = true);
    void stepReported(const StepMetrics &m, bool toFile = true);
    void epochFinished(const EpochMetrics &e, bool toFile = true);
    void pausedChanged(bool paused);
    void settingChanged(const SettingChange &c, bool toFile = true);
    // A resumed run's kept metrics of `kind`, again to the observer (the file has them).
    void replay(const RunMetrics &kept, StageKind kind);
    // A stage that finished before a resume: told to the observer again with
    // its kept metrics, and added to the result; not written.
    void replayStage(const StageInfo &info, const StageResult &done, const RunMetrics &kept);
    // Adds the stage to the result, records it, saves the summary.
    void stageFinished(const StageResult &r);
    // Writes the error event (best effort: the error may be the disk's) and tells the observer.
    void errorOccurred(const std::string &message);

    RunObserver &observer() { return observer_; }
    nlohmann::json &summary() { return summary_; }
    RunResult &result() { return result_; }
    // The stage being built or trained, for messages ("" before the first).
    std::string currentStage;
    // Each saved summary also updates the workspace's run index (runs.sqlite),
    // best effort: the engine's runs, not a bare recorder's.
    bool updateIndex = false;

private:
    RunObserver &observer_;
    std::filesystem::path dir_;
    std::unique_ptr<std::ofstream> metrics_;
    nlohmann::json summary_;
    RunResult result_;
};

} // namespace distillery::detail
