#include "engine/baseline_source.h"

#include "distillery/analysis.h"
#include "support/errors.h"

#include <nlohmann/json.hpp>

#include <fstream>

namespace distillery::detail {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const StageResult *baselineOf(const std::vector<StageResult> &stages)
{
    for (const auto &s : stages)
        if (s.kind == StageKind::Baseline && s.status == RunStatus::Finished)
            return &s;
    return nullptr;
}

// The first setting (dotted) where `a` and `b` differ, with both values.
bool firstDifference(const json &a, const json &b, const std::string &path, std::string &out)
{
    if (a.is_object() && b.is_object()) {
        for (auto it = a.begin(); it != a.end(); ++it)
            if (firstDifference(*it, b.contains(it.key()) ? b[it.key()] : json(), path + "." + it.key(), out))
                return true;
        for (auto it = b.begin(); it != b.end(); ++it)
            if (!a.contains(it.key()))
                return firstDifference(json(), *it, path + "." + it.key(), out);
        return false;
    }
    if (a == b)
        return false;
    out = path.substr(1) + " differs (" + (b.is_null() ? "unset" : b.dump()) + " there, " +
          (a.is_null() ? "unset" : a.dump()) + " here)";
    return true;
}

} // namespace

void checkReusedBaseline(const Experiment &exp)
{
    const fs::path dir = exp.baselineRun;
    const std::string where = "baseline_run: " + dir.string();
    Experiment earlier;
    try {
        earlier = loadExperiment((dir / "config.json").string());
    } catch (const ConfigError &e) {
        throw InvalidInput(std::string("baseline_run: ") + e.what());
    }
    const json ours = json::parse(experimentToJson(exp)), theirs = json::parse(experimentToJson(earlier));
    // What the baseline depends on; the data's omitted-class shift is the distilled student's alone.
    json a = {{"seed", ours["seed"]}, {"data", ours["data"]}, {"student", ours["student"]}};
    json b = {{"seed", theirs["seed"]}, {"data", theirs["data"]}, {"student", theirs["student"]}};
    a["data"].erase("omitted_bias_shift");
    b["data"].erase("omitted_bias_shift");
    std::string difference;
    if (firstDifference(a, b, "", difference))
        throw InvalidInput(where + ": its " + difference + "; a baseline is taken over only with the same data, "
                           "seed and student settings");
    const std::vector<StageResult> stages = readStageResults(dir.string());
    const StageResult *baseline = baselineOf(stages);
    if (!baseline)
        throw InvalidInput(where + ": has no finished baseline stage");
    if (!fs::is_regular_file(dir / "checkpoints" / "baseline.pt"))
        throw InvalidInput(where + ": " + (dir / "checkpoints" / "baseline.pt").string() + " not found");
}

bool takeOverBaseline(StageEnvironment &env, StageInfo info)
{
    const fs::path from = env.exp.baselineRun, to = env.recorder.dir();
    const std::vector<StageResult> stages = readStageResults(from.string());
    const StageResult *earlier = baselineOf(stages);
    if (!earlier)
        throw InvalidInput("baseline_run: " + from.string() + ": has no finished baseline stage");
    env.recorder.currentStage = "baseline";
    info.reused = true;
    env.recorder.stageStarted(info);
    const RunMetrics metrics = readRunMetrics(from.string());
    for (const auto &m : metrics.steps)
        if (m.stage == StageKind::Baseline)
            env.recorder.stepReported(m);
    for (const auto &e : metrics.epochs)
        if (e.stage == StageKind::Baseline)
            env.recorder.epochFinished(e);
    std::error_code ec;
    fs::create_directory(to / "analysis", ec);
    fs::copy_file(from / "checkpoints" / "baseline.pt", to / "checkpoints" / "baseline.pt",
                  fs::copy_options::overwrite_existing);
    for (const char *name : {"baseline.logits", "baseline.dynamics"})
        if (fs::exists(from / "analysis" / name))
            fs::copy_file(from / "analysis" / name, to / "analysis" / name, fs::copy_options::overwrite_existing);
    try {
        const AnalysisSummary theirs = readAnalysisSummary(from.string());
        if (const StageAnalysis *a = theirs.stage("baseline")) {
            AnalysisSummary header = theirs;
            header.temperature = env.exp.distillation.temperature;
            header.stages.clear();
            recordStageAnalysis(to.string(), header, *a);
        }
    } catch (const AnalysisError &) {
        // An earlier run without analysis/ (an older version): the baseline has none here either.
    }
    StageResult r = *earlier;
    r.checkpoint = (to / "checkpoints" / "baseline.pt").string();
    return finishStage(env, r);
}

} // namespace distillery::detail
