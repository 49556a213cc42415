// A fork is prepared as a stopped run: the origin's finished teacher and
// baseline, and its student's state at the chosen epoch, copied into a new
// folder whose config has the changed settings; resuming it does the rest.
#include "distillery/fork.h"
#include "distillery/methods.h"

#include "distillery/analysis.h"
#include "distillery/experiment.h"
#include "distillery/runs.h"
#include "runs/atomic_file.h"
#include "runs/run_folder.h"
#include "runs/stage_state.h"
#include "support/errors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

namespace distillery {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<int> forkableEpochs(const std::string &runDir)
{
    std::vector<int> epochs;
    static const std::regex name(R"(student\.epoch-(\d+)\.state\.pt)");
    std::error_code ec;
    for (const auto &e : fs::directory_iterator(fs::path(runDir) / "checkpoints", ec)) {
        std::smatch m;
        const std::string file = e.path().filename().string();
        if (std::regex_match(file, m, name))
            epochs.push_back(std::stoi(m[1]));
    }
    std::sort(epochs.begin(), epochs.end());
    return epochs;
}

namespace {

// Only what the student's state does not fix may change.
void checkOverrides(const std::vector<std::string> &overrides)
{
    for (const auto &o : overrides) {
        const std::string key = o.substr(0, o.find('='));
        if (key.rfind("distillation.", 0) != 0 && key.rfind("student.train.", 0) != 0 && key != "name" &&
            key != "threads" && key != "blas_threads" && key != "log_every_steps")
            throw ConfigError("fork: --set " + key + ": a fork changes distillation.* and student.train.* settings "
                              "only (the teacher, the data and the student's model are the origin's)");
    }
}

// The origin's metrics as the fork's: paths moved to the new folder, and the
// student's ending and setting changes dropped (the fork's settings hold from
// the epoch on; resuming trims the student's lines after that epoch).
std::string forkMetrics(const fs::path &from, const fs::path &to, bool teacherCopied)
{
    std::ifstream in(from / "metrics.jsonl");
    std::string line, out;
    while (std::getline(in, line)) {
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded())
            break; // a torn last line
        const std::string event = j.value("event", std::string()), stage = j.value("stage", std::string());
        if (stage == "student" && (event == "stage_finished" || event == "setting"))
            continue;
        if (event == "run_started")
            j["run_dir"] = to.string();
        if (event == "stage_finished" && j.contains("checkpoint") && (stage != "teacher" || teacherCopied))
            j["checkpoint"] = (to / "checkpoints" / (stage + ".pt")).string();
        out += j.dump() + "\n";
    }
    return out;
}

json forkSummary(const fs::path &from, const fs::path &to, bool teacherCopied)
{
    std::ifstream in(from / "summary.json");
    json s = json::parse(in, nullptr, false);
    if (!s.is_object() || !s.value("stages", json()).is_object())
        throw ConfigError("fork: " + (from / "summary.json").string() + ": missing or damaged");
    s["stages"].erase("student");
    for (auto it = s["stages"].begin(); it != s["stages"].end(); ++it)
        if (it->contains("checkpoint") && (it.key() != "teacher" || teacherCopied))
            (*it)["checkpoint"] = (to / "checkpoints" / (it.key() + ".pt")).string();
    s["status"] = "stopped";
    s["message"] = "";
    s.erase("resumed");
    return s;
}

// `models`: the teacher's and baseline's checkpoints (a teacher taken over
// from another run has its checkpoint there).
void copyFiles(const fs::path &from, const fs::path &to, int epoch,
               const std::vector<std::pair<std::string, fs::path>> &models)
{
    fs::create_directories(to / "analysis");
    for (const auto &[stage, m] : models) // a generation's teacher is another run's student.pt
        fs::copy_file(m, to / "checkpoints" / (stage + ".pt"), fs::copy_options::overwrite_existing);
    for (const char *f : {"analysis/teacher.logits", "analysis/teacher.validation.logits", "analysis/student.dynamics",
                          "analysis/baseline.logits", "analysis/baseline.dynamics"})
        if (fs::exists(from / f))
            fs::copy_file(from / f, to / f, fs::copy_options::overwrite_existing);
    fs::copy_file(detail::epochStatePath(from / "checkpoints" / "student.state.pt", epoch),
                  to / "checkpoints" / "student.state.pt");
    // The analysis without the origin's student: the fork writes its own.
    try {
        AnalysisSummary a = readAnalysisSummary(from.string());
        a.stages.erase(std::remove_if(a.stages.begin(), a.stages.end(),
                                      [](const StageAnalysis &s) { return s.stage == "student"; }),
                       a.stages.end());
        detail::writeFileAtomically((to / "analysis" / "summary.json").string(), analysisSummaryJson(a));
    } catch (const AnalysisError &) {
    }
}

} // namespace

std::string prepareFork(const ForkRequest &request)
{
    const fs::path from = request.origin;
    const std::string where = "fork: " + from.string();
    checkOverrides(request.overrides);
    std::ifstream configFile(from / "config.json");
    if (!configFile)
        throw ConfigError(where + ": no config.json (not a run folder?)");
    const std::string configText((std::istreambuf_iterator<char>(configFile)), std::istreambuf_iterator<char>());
    Experiment e = parseExperiment(configText, (from / "config.json").string(), request.overrides);
    const std::vector<StageResult> stages = readStageResults(from.string());
    std::vector<std::pair<std::string, fs::path>> models;
    const bool online = trainsWithoutTeacher(e.distillation); // mutual learning
    for (StageKind kind : {StageKind::Teacher, StageKind::Baseline}) {
        if ((kind == StageKind::Baseline && !e.baseline) || (kind == StageKind::Teacher && online))
            continue;
        const auto done = std::find_if(stages.begin(), stages.end(), [&](const StageResult &s) {
            return s.kind == kind && s.status == RunStatus::Finished;
        });
        if (done == stages.end() || done->checkpoint.empty() || !fs::is_regular_file(done->checkpoint))
            throw ConfigError(where + ": its " + stageName(kind) + " did not finish or its model is gone; a fork "
                              "continues the distilled student after both");
        if (kind == StageKind::Baseline || e.teacher.source != "torchscript")
            models.emplace_back(stageName(kind), done->checkpoint);
    }
    const fs::path state = detail::epochStatePath(from / "checkpoints" / "student.state.pt", request.epoch);
    if (request.epoch < 1 || !fs::exists(state)) {
        const auto epochs = forkableEpochs(from.string());
        throw ConfigError(where + ": no checkpoint of the student's epoch " + std::to_string(request.epoch) +
                          (epochs.empty() ? std::string(" (it kept none: keep_epoch_states was off, or it is older)")
                                          : " (it has epochs " + std::to_string(epochs.front()) + " to " +
                                                std::to_string(epochs.back()) + ")"));
    }
    try {
        if (detail::stateEpoch(state) != request.epoch)
            throw ConfigError(where + ": " + state.string() + " holds another epoch");
    } catch (const detail::InvalidInput &err) {
        throw ConfigError(std::string("fork: ") + err.what());
    }
    if (e.studentTrain.epochs <= request.epoch)
        throw ConfigError(where + ": student.train.epochs " + std::to_string(e.studentTrain.epochs) +
                          " leaves nothing after epoch " + std::to_string(request.epoch) + "; give more");
    e.forkedFrom = {fs::absolute(from).lexically_normal().string(), request.epoch};
    e.sweepPoint = SweepMembership{};
    e.baselineRun.clear(); // the baseline is copied into the fork's folder
    e.distillation.generations = e.distillation.generation; // a fork starts no further generations
    const bool teacherCopied = e.teacher.source != "torchscript" && !online;
    if (std::none_of(request.overrides.begin(), request.overrides.end(),
                     [](const std::string &o) { return o.rfind("name=", 0) == 0; }))
        e.name += "-fork";
    fs::path to;
    try {
        to = detail::createRunDir(request.workspace, e.name);
        copyFiles(from, to, request.epoch, models);
        detail::writeFileAtomically((to / "config.json").string(), experimentToJson(e));
        detail::writeFileAtomically((to / "metrics.jsonl").string(), forkMetrics(from, to, teacherCopied));
        detail::writeFileAtomically((to / "summary.json").string(), forkSummary(from, to, teacherCopied).dump(2) + "\n");
    } catch (const ConfigError &) {
        throw;
    } catch (const std::exception &err) {
        std::error_code ec;
        if (!to.empty())
            fs::remove_all(to, ec);
        throw ConfigError(where + ": cannot make the fork's folder: " + err.what());
    }
    return to.string();
}

} // namespace distillery
