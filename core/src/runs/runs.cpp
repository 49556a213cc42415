#include "distillery/runs.h"

#include "runs/setting_events.h"

#include "runs/run_lock.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace distillery {

using nlohmann::json;
namespace fs = std::filesystem;

std::string stageName(StageKind k)
{
    switch (k) {
    case StageKind::Teacher: return "teacher";
    case StageKind::Baseline: return "baseline";
    case StageKind::Distillation: return "student";
    }
    return "?";
}

std::string statusName(RunStatus s)
{
    switch (s) {
    case RunStatus::Running: return "running";
    case RunStatus::Finished: return "finished";
    case RunStatus::Stopped: return "stopped";
    case RunStatus::Failed: return "failed";
    case RunStatus::Invalid: return "invalid";
    }
    return "?";
}

const StageResult *RunResult::stage(StageKind k) const
{
    for (const auto &s : stages)
        if (s.kind == k)
            return &s;
    return nullptr;
}

double RunInfo::compression() const
{
    return studentParameters > 0 ? double(teacherParameters) / double(studentParameters) : 0.0;
}

namespace {

// JSON has no NaN: a missing measurement is null.
json number(double v)
{
    return std::isfinite(v) ? json(v) : json(nullptr);
}

double numberOr(const json &j, const char *key, double fallback)
{
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

// A stage's bias_correction (in a stage_finished event or summary.json's
// stages), as far as it is well formed.
void readBiasCorrection(const json &j, BiasCorrection &b)
{
    const auto it = j.find("bias_correction");
    if (it == j.end() || !it->is_object())
        return;
    const json &c = *it;
    if (const auto classes = c.find("classes"); classes != c.end() && classes->is_array())
        for (const auto &k : *classes)
            if (k.is_number_integer() && k.get<std::int64_t>() >= 0 && k.get<std::int64_t>() < (1 << 20))
                b.classes.push_back(int(k.get<std::int64_t>()));
    b.shift = numberOr(c, "shift", 0.0);
    const auto chosenOn = c.find("chosen_on");
    b.chosen = !(chosenOn != c.end() && chosenOn->is_string() && chosenOn->get<std::string>() == "experiment");
    b.omittedAccuracyBefore = numberOr(c, "omitted_accuracy_before", std::nan(""));
    b.omittedAccuracyAfter = numberOr(c, "omitted_accuracy_after", std::nan(""));
    b.testAccuracyBefore = numberOr(c, "test_accuracy_before", std::nan(""));
    b.testAccuracyAfter = numberOr(c, "test_accuracy_after", std::nan(""));
}

json partsJson(const std::vector<NamedValue> &parts)
{
    json j = json::object();
    for (const auto &[k, v] : parts)
        j[k] = number(v);
    return j;
}

std::vector<NamedValue> partsFrom(const json &j)
{
    std::vector<NamedValue> out;
    if (j.is_object())
        for (auto it = j.begin(); it != j.end(); ++it)
            out.emplace_back(it.key(), it->is_number() ? it->get<double>() : std::nan(""));
    return out;
}

StageKind stageFrom(const std::string &s)
{
    return s == "teacher" ? StageKind::Teacher : s == "baseline" ? StageKind::Baseline : StageKind::Distillation;
}

RunStatus statusFrom(const std::string &s)
{
    for (auto st : {RunStatus::Running, RunStatus::Finished, RunStatus::Stopped, RunStatus::Failed, RunStatus::Invalid})
        if (statusName(st) == s)
            return st;
    return RunStatus::Failed;
}

json archJson(const ArchitectureReport &r)
{
    return {{"parameters", r.parameters}, {"multiply_adds", r.multiplyAdds}};
}

json biasCorrectionJson(const BiasCorrection &b)
{
    return {{"classes", b.classes},
            {"shift", b.shift},
            {"chosen_on", b.chosen ? "validation" : "experiment"},
            {"omitted_accuracy_before", number(b.omittedAccuracyBefore)},
            {"omitted_accuracy_after", number(b.omittedAccuracyAfter)},
            {"test_accuracy_before", number(b.testAccuracyBefore)},
            {"test_accuracy_after", number(b.testAccuracyAfter)}};
}

json stageResultFields(const StageResult &e)
{
    return {{"stage", stageName(e.kind)},          {"status", statusName(e.status)},
            {"epochs_done", e.epochsDone},         {"best_epoch", e.bestEpoch},
            {"best_val_accuracy", number(e.bestValAccuracy)}, {"test_accuracy", number(e.testAccuracy)},
            {"final_test_accuracy", number(e.finalTestAccuracy)}, {"seconds", e.seconds},
            {"parameters", e.parameters},          {"multiply_adds", e.multiplyAdds},
            {"checkpoint", e.checkpoint}, {"blas_threads", e.blasThreads}};
}

json stageResultJson(const StageResult &e)
{
    json j = stageResultFields(e);
    if (!e.biasCorrection.classes.empty())
        j["bias_correction"] = biasCorrectionJson(e.biasCorrection);
    if (e.collectiveSeconds > 0) {
        j["train_seconds"] = e.trainSeconds;
        j["collective_seconds"] = e.collectiveSeconds;
    }
    if (e.lossScale > 0) {
        j["loss_scale"] = e.lossScale;
        j["skipped_steps"] = e.skippedSteps;
    }
    if (!e.peerTestAccuracy.empty())
        j["peer_test_accuracy"] = e.peerTestAccuracy;
    return j;
}

} // namespace

std::string eventJson(const RunStartInfo &e)
{
    return json{{"event", "run_started"},       {"run_dir", e.runDir},
                {"device", e.device},           {"threads", e.threads},
                {"data", e.dataDescription},    {"input_shape", e.inputShape},
                {"classes", e.classes},         {"train_samples", e.trainSamples},
                {"validation_samples", e.validationSamples}, {"test_samples", e.testSamples},
                {"student_train_samples", e.studentTrainSamples},
                {"teacher", archJson(e.teacher)}, {"student", archJson(e.student)}}
        .dump();
}

std::string eventJson(const StageInfo &e)
{
    json j{{"event", "stage_started"}, {"stage", stageName(e.kind)},   {"index", e.index},
                {"stages", e.stageCount},   {"model", e.model},             {"epochs", e.epochs},
                {"steps_per_epoch", e.stepsPerEpoch}, {"train_samples", e.trainSamples}, {"reused", e.reused},
                {"torch_threads", e.torchThreads}, {"blas_threads", e.blasThreads}};
    if (!e.teacherCache.empty())
        j["teacher_cache"] = e.teacherCache;
    return j.dump();
}

std::string eventJson(const StepMetrics &e)
{
    return json{{"event", "step"},       {"stage", stageName(e.stage)}, {"epoch", e.epoch},
                {"step", e.step},        {"total_steps", e.totalSteps}, {"loss", number(e.loss)},
                {"parts", partsJson(e.parts)}, {"lr", e.learningRate}, {"samples_per_second", e.samplesPerSecond}}
        .dump();
}

std::string eventJson(const EpochMetrics &e)
{
    return json{{"event", "epoch"},
                {"stage", stageName(e.stage)},
                {"epoch", e.epoch},
                {"epochs", e.epochs},
                {"step", e.step},
                {"train_loss", number(e.trainLoss)},
                {"train_accuracy", number(e.trainAccuracy)},
                {"train_parts", partsJson(e.trainParts)},
                {"val_loss", number(e.valLoss)},
                {"val_accuracy", number(e.valAccuracy)},
                {"test_loss", number(e.testLoss)},
                {"test_accuracy", number(e.testAccuracy)},
                {"lr", e.learningRate},
                {"samples_per_second", e.samplesPerSecond},
                {"seconds", e.seconds},
                {"best", e.best},
                {"val_agreement", number(e.valAgreement)},
                {"val_kl", number(e.valKl)},
                {"val_kl_at_t", number(e.valKlAtT)},
                {"val_ece", number(e.valEce)}}
        .dump();
}

std::string eventJson(const StageResult &e)
{
    json j = stageResultJson(e);
    j["event"] = "stage_finished";
    return j.dump();
}

std::string eventJson(const RunResult &e)
{
    json stages = json::array();
    for (const auto &s : e.stages)
        stages.push_back(stageResultJson(s));
    return json{{"event", "run_finished"},
                {"status", statusName(e.status)},
                {"run_dir", e.runDir},
                {"message", e.message},
                {"seconds", e.seconds},
                {"teacher_parameters", e.teacherParameters},
                {"student_parameters", e.studentParameters},
                {"teacher_multiply_adds", e.teacherMultiplyAdds},
                {"student_multiply_adds", e.studentMultiplyAdds},
                {"stages", stages}}
        .dump();
}

std::string dataProgressEventJson(std::int64_t done, std::int64_t total)
{
    return json{{"event", "data_progress"}, {"done", done}, {"total", total}}.dump();
}

std::string pausedEventJson(bool paused)
{
    return json{{"event", paused ? "paused" : "resumed"}}.dump();
}

std::string errorEventJson(const std::string &message)
{
    return json{{"event", "error"}, {"message", message}}.dump();
}

namespace {
json readJsonFile(const fs::path &p)
{
    std::ifstream f(p);
    if (!f)
        return nullptr;
    return json::parse(f, nullptr, /*allow_exceptions=*/false);
}
} // namespace

namespace {
void readRunInfoInto(const std::string &runDir, RunInfo &info);
void readMetricsLine(const json &j, RunMetrics &m);

// A stage_finished event, or a stage of summary.json's "stages".
StageResult stageResultFrom(const json &j)
{
    StageResult r;
    r.kind = stageFrom(j.value("stage", std::string()));
    r.status = statusFrom(j.value("status", std::string("failed")));
    r.epochsDone = j.value("epochs_done", 0);
    r.bestEpoch = j.value("best_epoch", 0);
    r.bestValAccuracy = numberOr(j, "best_val_accuracy", std::nan(""));
    r.testAccuracy = numberOr(j, "test_accuracy", std::nan(""));
    r.finalTestAccuracy = numberOr(j, "final_test_accuracy", std::nan(""));
    r.seconds = numberOr(j, "seconds", 0.0);
    r.parameters = j.value("parameters", std::int64_t(0));
    r.multiplyAdds = j.value("multiply_adds", std::int64_t(0));
    r.checkpoint = j.value("checkpoint", std::string());
    r.blasThreads = j.value("blas_threads", 0);
    readBiasCorrection(j, r.biasCorrection);
    r.lossScale = numberOr(j, "loss_scale", 0.0);
    r.skippedSteps = std::int64_t(numberOr(j, "skipped_steps", 0.0));
    if (const auto peers = j.find("peer_test_accuracy"); peers != j.end() && peers->is_array())
        for (const auto &a : *peers)
            if (a.is_number())
                r.peerTestAccuracy.push_back(a.get<double>());
    return r;
}
} // namespace

RunInfo readRunInfo(const std::string &runDir)
{
    RunInfo info;
    info.dir = runDir;
    info.name = fs::path(runDir).filename().string();
    try {
        readRunInfoInto(runDir, info);
    } catch (const json::exception &) {
        // A damaged file (a field of the wrong type): keep what was read, and
        // show the run as failed unless a live process is writing it.
        info.status = RunStatus::Failed;
        info.ownerPid = detail::RunLock::holder(runDir);
    }
    return info;
}

namespace {
void readRunInfoInto(const std::string &runDir, RunInfo &info)
{
    const json config = readJsonFile(fs::path(runDir) / "config.json");
    if (config.is_object()) {
        info.name = config.value("name", info.name);
        if (auto d = config.find("distillation"); d != config.end() && d->is_object()) {
            info.temperature = numberOr(*d, "temperature", 0.0);
            info.alpha = numberOr(*d, "alpha", 0.0);
            if (auto m = d->find("method"); m != d->end() && m->is_string())
                info.method = m->get<std::string>();
        }
        if (auto f = config.find("forked_from"); f != config.end() && f->is_object()) {
            info.forkedFrom = f->value("run", json()).is_string() ? (*f)["run"].get<std::string>() : std::string();
            info.forkedEpoch = f->value("epoch", json()).is_number_integer() ? (*f)["epoch"].get<int>() : 0;
        }
        if (auto p = config.find("sweep_point"); p != config.end() && p->is_object()) {
            info.sweep = p->value("sweep", json()).is_string() ? (*p)["sweep"].get<std::string>() : std::string();
            info.sweepPoint = p->value("point", json()).is_number_integer() ? (*p)["point"].get<int>() : -1;
        }
    }
    const json summary = readJsonFile(fs::path(runDir) / "summary.json");
    if (!summary.is_object())
        return;
    info.status = statusFrom(summary.value("status", std::string("failed")));
    info.ownerPid = detail::RunLock::holder(runDir);
    info.started = summary.value("started", std::string());
    info.seconds = numberOr(summary, "seconds", 0.0);
    if (auto t = summary.find("teacher"); t != summary.end() && t->is_object())
        info.teacherParameters = t->value("parameters", std::int64_t(0));
    if (auto s = summary.find("student"); s != summary.end() && s->is_object())
        info.studentParameters = s->value("parameters", std::int64_t(0));
    if (auto st = summary.find("stages"); st != summary.end() && st->is_object()) {
        auto acc = [&](const char *name) {
            auto it = st->find(name);
            if (it == st->end() || !it->is_object() || it->value("status", std::string()) != "finished")
                return -1.0;
            return numberOr(*it, "test_accuracy", -1.0);
        };
        info.teacherTestAccuracy = acc("teacher");
        info.baselineTestAccuracy = acc("baseline");
        info.studentTestAccuracy = acc("student");
        if (auto student = st->find("student"); student != st->end() && student->is_object())
            readBiasCorrection(*student, info.studentBiasCorrection);
    }
}
} // namespace

std::vector<RunInfo> listRuns(const std::string &workspace)
{
    std::vector<RunInfo> runs;
    std::error_code ec;
    const fs::path root = fs::path(workspace) / "runs";
    if (!fs::is_directory(root, ec))
        return runs;
    for (const auto &entry : fs::directory_iterator(root, ec)) {
        if (!entry.is_directory(ec) || !fs::exists(entry.path() / "config.json", ec))
            continue;
        runs.push_back(readRunInfo(entry.path().string()));
    }
    // Folder names start with the start time, so the name orders them.
    std::sort(runs.begin(), runs.end(), [](const RunInfo &a, const RunInfo &b) { return a.dir > b.dir; });
    return runs;
}

std::vector<StageResult> readStageResults(const std::string &runDir)
{
    std::vector<StageResult> out;
    const json summary = readJsonFile(fs::path(runDir) / "summary.json");
    if (!summary.is_object())
        return out;
    const auto stages = summary.find("stages");
    if (stages == summary.end() || !stages->is_object())
        return out;
    for (const char *name : {"teacher", "baseline", "student"})
        if (const auto it = stages->find(name); it != stages->end() && it->is_object()) {
            try {
                out.push_back(stageResultFrom(*it));
            } catch (const json::exception &) {
                // a field of the wrong type: the stage is left out
            }
        }
    return out;
}

RunMetrics readRunMetrics(const std::string &runDir)
{
    RunMetrics m;
    std::ifstream f(fs::path(runDir) / "metrics.jsonl");
    std::string line;
    while (std::getline(f, line)) {
        const json j = json::parse(line, nullptr, false);
        if (!j.is_object())
            continue; // a line cut short by a kill: skip it
        try {
            readMetricsLine(j, m);
        } catch (const json::exception &) {
            // A damaged line (a field of the wrong type): skipped like a cut one.
        }
    }
    return m;
}

namespace {
void readMetricsLine(const json &j, RunMetrics &m)
{
    {
        const std::string event = j.value("event", std::string());
        if (event == "setting") {
            m.changes.push_back(detail::settingChangeFrom(j));
        } else if (event == "step") {
            StepMetrics s;
            s.stage = stageFrom(j.value("stage", std::string()));
            s.epoch = j.value("epoch", 0);
            s.step = j.value("step", std::int64_t(0));
            s.totalSteps = j.value("total_steps", std::int64_t(0));
            s.loss = numberOr(j, "loss", std::nan(""));
            s.parts = partsFrom(j.value("parts", json::object()));
            s.learningRate = numberOr(j, "lr", 0.0);
            s.samplesPerSecond = numberOr(j, "samples_per_second", 0.0);
            m.steps.push_back(s);
        } else if (event == "epoch") {
            EpochMetrics e;
            e.stage = stageFrom(j.value("stage", std::string()));
            e.epoch = j.value("epoch", 0);
            e.epochs = j.value("epochs", 0);
            e.step = j.value("step", std::int64_t(0));
            e.trainLoss = numberOr(j, "train_loss", std::nan(""));
            e.trainAccuracy = numberOr(j, "train_accuracy", std::nan(""));
            e.trainParts = partsFrom(j.value("train_parts", json::object()));
            e.valLoss = numberOr(j, "val_loss", std::nan(""));
            e.valAccuracy = numberOr(j, "val_accuracy", std::nan(""));
            e.testLoss = numberOr(j, "test_loss", std::nan(""));
            e.testAccuracy = numberOr(j, "test_accuracy", std::nan(""));
            e.learningRate = numberOr(j, "lr", 0.0);
            e.samplesPerSecond = numberOr(j, "samples_per_second", 0.0);
            e.seconds = numberOr(j, "seconds", 0.0);
            e.best = j.value("best", false);
            e.valAgreement = numberOr(j, "val_agreement", std::nan(""));
            e.valKl = numberOr(j, "val_kl", std::nan(""));
            e.valKlAtT = numberOr(j, "val_kl_at_t", std::nan(""));
            e.valEce = numberOr(j, "val_ece", std::nan(""));
            m.epochs.push_back(e);
        } else if (event == "stage_finished") {
            m.stageResults.push_back(stageResultFrom(j));
        }
    }
}
} // namespace

} // namespace distillery
