#include "runs/resume.h"

#include "runs/atomic_file.h"
#include "runs/stage_state.h"
#include "support/errors.h"

#include <fstream>

namespace distillery::detail {

namespace fs = std::filesystem;
using nlohmann::json;

const StageResult *ResumePlan::finishedStage(StageKind kind) const
{
    for (const auto &r : finished)
        if (r.kind == kind)
            return &r;
    return nullptr;
}

namespace {

// metrics.jsonl's lines up to the first that is not JSON: a line cut short by
// a kill ends what can be trusted.
std::vector<std::string> trustedLines(const fs::path &metricsPath)
{
    std::ifstream in(metricsPath);
    if (!in)
        throw InvalidInput("resume: " + metricsPath.string() + " not found (is this a run folder?)");
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(in, line)) {
        if (!json::accept(line))
            break;
        lines.push_back(line);
    }
    return lines;
}

// The first line of `stage`'s records, or lines.size().
std::size_t stageStart(const std::vector<std::string> &lines, const std::string &stage)
{
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (json::parse(lines[i]).value("stage", std::string()) == stage)
            return i;
    return lines.size();
}

// How many lines the resumed run keeps. May set plan.epoch to 0 when the
// checkpoint is ahead of the metrics: the stage then starts over.
std::size_t linesToKeep(const std::vector<std::string> &lines, ResumePlan &plan)
{
    std::size_t keep = lines.size();
    if (!plan.allDone) {
        const std::string stage = stageName(plan.stage);
        if (plan.epoch == 0) {
            keep = stageStart(lines, stage);
        } else {
            bool found = false;
            for (std::size_t i = 0; i < lines.size() && !found; ++i) {
                const json j = json::parse(lines[i]);
                if (j.value("stage", std::string()) == stage && j.value("event", std::string()) == "epoch" &&
                    j.value("epoch", 0) == plan.epoch) {
                    keep = i + 1;
                    found = true;
                }
            }
            if (!found) {
                plan.epoch = 0;
                keep = stageStart(lines, stage);
            }
        }
    }
    // The ending of the interrupted session is not kept: the resumed one writes its own.
    while (keep > 0) {
        const std::string event = json::parse(lines[keep - 1]).value("event", std::string());
        if (event != "run_finished" && event != "error")
            break;
        --keep;
    }
    return keep;
}

} // namespace

ResumePlan prepareResume(const fs::path &dir, const std::vector<StageKind> &pipeline)
{
    ResumePlan plan;
    plan.active = true;
    const fs::path metricsPath = dir / "metrics.jsonl";
    const std::vector<std::string> lines = trustedLines(metricsPath);
    plan.previousSummary = json::parse(std::ifstream(dir / "summary.json"), nullptr, false);
    if (!plan.previousSummary.is_object())
        plan.previousSummary = json::object();
    if (plan.previousSummary.value("status", std::string()) == "finished")
        throw InvalidInput("resume: " + dir.string() + " finished; there is nothing to resume");
    plan.previousSeconds = plan.previousSummary.value("seconds", 0.0);

    const RunMetrics before = readRunMetrics(dir.string());
    // Stages that finished and left their model: those are not trained again.
    for (const auto &r : before.stageResults)
        if (r.status == RunStatus::Finished && !r.checkpoint.empty() && fs::exists(r.checkpoint))
            plan.finished.push_back(r);
    plan.allDone = true;
    for (StageKind kind : pipeline)
        if (!plan.finishedStage(kind)) {
            plan.stage = kind;
            plan.allDone = false;
            break;
        }
    plan.epoch = plan.allDone ? 0 : stateEpoch(dir / "checkpoints" / (stageName(plan.stage) + ".state.pt"));

    for (const auto &c : before.changes)
        if (!plan.allDone && c.stage == plan.stage)
            plan.changes.push_back(c);
    const std::size_t keep = linesToKeep(lines, plan);
    std::string text;
    for (std::size_t i = 0; i < keep; ++i)
        text += lines[i] + "\n";
    writeFileAtomically(metricsPath.string(), text);
    plan.kept = readRunMetrics(dir.string());
    return plan;
}

} // namespace distillery::detail
