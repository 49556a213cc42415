#include "runs/run_recorder.h"

#include "distillery/runindex.h"
#include "distillery/runs.h"
#include "runs/atomic_file.h"
#include "support/errors.h"

#include <cmath>

namespace distillery::detail {

namespace fs = std::filesystem;
using nlohmann::json;

void RunRecorder::open(const fs::path &dir)
{
    dir_ = dir;
    metrics_ = std::make_unique<std::ofstream>(dir / "metrics.jsonl", std::ios::app);
    if (!*metrics_) {
        metrics_.reset();
        throw InvalidInput("workspace: cannot write in " + dir.string());
    }
    result_.runDir = dir.string();
}

void RunRecorder::close()
{
    metrics_.reset();
}

void RunRecorder::write(const std::string &line)
{
    if (!metrics_)
        return;
    *metrics_ << line << '\n';
    metrics_->flush();
    if (!*metrics_)
        throw std::runtime_error((dir_ / "metrics.jsonl").string() + ": cannot write (disk full or folder gone?)");
}

void RunRecorder::saveSummary()
{
    if (!metrics_)
        return;
    json stages = json::object();
    for (const auto &s : result_.stages)
        stages[stageName(s.kind)] = json::parse(eventJson(s));
    summary_["stages"] = stages;
    if (!result_.teachers.empty()) { // several teachers: each one's share and accuracy
        json teachers = json::array();
        for (const auto &t : result_.teachers)
            teachers.push_back({{"model", t.model},
                                {"weight", t.weight},
                                {"parameters", t.parameters},
                                {"test_accuracy", t.testAccuracy},
                                {"validation_accuracy", std::isfinite(t.validationAccuracy) ? json(t.validationAccuracy)
                                                                                             : json()}});
        summary_["teachers"] = teachers;
    }
    summary_["status"] = statusName(result_.status);
    summary_["seconds"] = result_.seconds;
    summary_["message"] = result_.message;
    writeFileAtomically((dir_ / "summary.json").string(), summary_.dump(2) + "\n");
    if (updateIndex)
        updateRunIndex(dir_.string()); // never throws: a locked index is caught up on its next open
}

void RunRecorder::runStarted(const RunStartInfo &info, bool toFile)
{
    if (toFile)
        write(eventJson(info));
    observer_.runStarted(info);
}

void RunRecorder::stageStarted(const StageInfo &info, bool toFile)
{
    if (toFile)
        write(eventJson(info));
    observer_.stageStarted(info);
}

void RunRecorder::stepReported(const StepMetrics &m, bool toFile)
{
    if (toFile)
        write(eventJson(m));
    observer_.stepReported(m);
}

void RunRecorder::epochFinished(const EpochMetrics &e, bool toFile)
{
    if (toFile)
        write(eventJson(e));
    observer_.epochFinished(e);
}

void RunRecorder::pausedChanged(bool paused)
{
    write(pausedEventJson(paused));
    observer_.pausedChanged(paused);
}

void RunRecorder::settingChanged(const SettingChange &c, bool toFile)
{
    if (toFile)
        write(eventJson(c));
    observer_.settingChanged(c);
}

void RunRecorder::replay(const RunMetrics &kept, StageKind kind)
{
    for (const auto &m : kept.steps)
        if (m.stage == kind)
            observer_.stepReported(m);
    for (const auto &e : kept.epochs)
        if (e.stage == kind)
            observer_.epochFinished(e);
    for (const auto &c : kept.changes)
        if (c.stage == kind)
            observer_.settingChanged(c);
}

void RunRecorder::replayStage(const StageInfo &info, const StageResult &done, const RunMetrics &kept)
{
    observer_.stageStarted(info);
    replay(kept, info.kind);
    result_.stages.push_back(done);
    observer_.stageFinished(done);
}

void RunRecorder::stageFinished(const StageResult &r)
{
    result_.stages.push_back(r);
    write(eventJson(r));
    observer_.stageFinished(r);
    saveSummary();
}

void RunRecorder::errorOccurred(const std::string &message)
{
    try {
        write(errorEventJson(message));
    } catch (...) {
    }
    observer_.errorOccurred(message);
}

} // namespace distillery::detail
