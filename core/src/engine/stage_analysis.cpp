#include "engine/stage_analysis.h"

#include "distillery/analysis.h"
#include "support/clock.h"
#include "training/evaluation.h"

#include <algorithm>
#include <numeric>

namespace distillery::detail {

namespace fs = std::filesystem;

namespace {

// Batch-1 latency: a few warm-up passes, then up to kPasses timed ones, fewer
// when the model is slow (at most about kBudget seconds), at least kMinPasses.
constexpr int kWarmUp = 5;
constexpr int kPasses = 200;
constexpr int kMinPasses = 20;
constexpr double kBudget = 0.25;

Latency measureLatency(const StageEnvironment &env, const TeacherForward &forward)
{
    Latency l;
    l.threads = at::get_num_threads();
    l.device = env.device.str();
    if (!env.device.is_cpu() || env.data.test.size() == 0) {
        l.device += " (not measured)";
        return l;
    }
    c10::InferenceMode guard;
    Autocast autocast(env.precision(), env.device);
    const auto x = env.data.test.x.slice(0, 0, 1);
    for (int i = 0; i < kWarmUp; ++i)
        (void)forward(x);
    std::vector<double> ms;
    const auto start = Clock::now();
    while (int(ms.size()) < kPasses && (int(ms.size()) < kMinPasses || secondsSince(start) < kBudget)) {
        const auto t0 = Clock::now();
        (void)forward(x);
        ms.push_back(1000.0 * secondsSince(t0));
    }
    std::nth_element(ms.begin(), ms.begin() + std::ptrdiff_t(ms.size() / 2), ms.end());
    l.medianMs = ms[ms.size() / 2];
    l.passes = int(ms.size());
    return l;
}

// `z` (float [rows, classes], or undefined for none) with the split's labels.
AnalysisLogits asAnalysis(const torch::Tensor &z, const Split &split, std::int64_t classes)
{
    AnalysisLogits a;
    a.rows = split.size();
    a.classes = classes;
    if (a.rows > 0) {
        const auto c = z.to(torch::kCPU, torch::kFloat).contiguous();
        a.logits.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
        const auto y = split.y.to(torch::kCPU).to(torch::kInt64).contiguous();
        a.labels.assign(y.data_ptr<std::int64_t>(), y.data_ptr<std::int64_t>() + y.numel());
    }
    a.indices.resize(std::size_t(a.rows));
    std::iota(a.indices.begin(), a.indices.end(), std::int64_t(0));
    return a;
}

bool fits(const torch::Tensor &z, const Split &split, std::int64_t classes)
{
    return z.defined() && z.dim() == 2 && z.size(0) == split.size() && z.size(1) == classes;
}

AnalysisLogits testLogits(const StageEnvironment &env, const TeacherForward &forward, const torch::Tensor &known)
{
    const Split &test = env.data.test;
    const std::int64_t classes = env.data.summary.classes;
    if (test.size() == 0)
        return asAnalysis({}, test, classes);
    return asAnalysis(fits(known, test, classes) ? known : logitsOf(forward, test, env.device, env.precision()),
                      test, classes);
}

// An earlier stage's (or session's) saved logits, when there (a run resumed
// from before the analysis existed may lack them; they are then left out or
// computed).
std::optional<AnalysisLogits> savedLogits(const fs::path &path)
{
    if (!fs::exists(path))
        return std::nullopt;
    try {
        return readAnalysisLogits(path.string());
    } catch (const AnalysisError &) {
        return std::nullopt;
    }
}

} // namespace

fs::path analysisLogitsPath(const StageEnvironment &env, StageKind kind)
{
    return env.recorder.dir() / "analysis" / (stageName(kind) + ".logits");
}

void analyseStage(StageEnvironment &env, StageKind kind, const TeacherForward &forward, const StageResult &result,
                  const torch::Tensor &known)
{
    const auto start = Clock::now();
    const AnalysisLogits logits = testLogits(env, forward, known);
    std::optional<AnalysisLogits> teacher, baseline;
    if (kind != StageKind::Teacher)
        teacher = savedLogits(analysisLogitsPath(env, StageKind::Teacher));
    if (kind == StageKind::Distillation)
        baseline = savedLogits(analysisLogitsPath(env, StageKind::Baseline));
    StageAnalysis a = analyseLogits(logits, teacher ? &*teacher : nullptr, baseline ? &*baseline : nullptr);
    a.stage = stageName(kind);
    a.logitsFile = a.stage + ".logits";
    a.parameters = result.parameters;
    a.multiplyAdds = result.multiplyAdds;
    a.latency = measureLatency(env, forward);
    std::error_code ec;
    fs::create_directory(env.recorder.dir() / "analysis", ec); // not the run folder if it vanished
    writeAnalysisLogits(analysisLogitsPath(env, kind).string(), logits);
    AnalysisSummary header;
    header.temperature = env.exp.distillation.temperature;
    header.classes = env.data.summary.classes;
    header.classNames = env.data.summary.classNames;
    a.seconds = secondsSince(start);
    recordStageAnalysis(env.recorder.dir().string(), header, a);
}

void analyseStage(StageEnvironment &env, StageKind kind, Net &model, const StageResult &result,
                  const torch::Tensor &known)
{
    model->freeze();
    struct Thaw {
        Net &m;
        ~Thaw() { m->thaw(); }
    } thaw{model};
    analyseStage(env, kind, [&](const torch::Tensor &x) { return model->forward(x); }, result, known);
}

torch::Tensor teacherValidationLogits(StageEnvironment &env, const TeacherForward &teacher)
{
    const Split &val = env.data.validation;
    const std::int64_t classes = env.data.summary.classes;
    if (val.size() == 0)
        return {};
    const fs::path path = env.recorder.dir() / "analysis" / "teacher.validation.logits";
    const bool kept = env.kept.stage == StageKind::Teacher && fits(env.kept.validation, val, classes);
    if (!kept) {
        const auto saved = savedLogits(path);
        if (saved && saved->rows == val.size() && saved->classes == classes)
            return torch::from_blob(const_cast<float *>(saved->logits.data()), {saved->rows, saved->classes})
                .clone();
    }
    const torch::Tensor z =
        kept ? env.kept.validation : logitsOf(teacher, val, env.device, env.precision()).to(torch::kCPU);
    std::error_code ec;
    fs::create_directory(path.parent_path(), ec);
    writeAnalysisLogits(path.string(), asAnalysis(z, val, classes));
    return z.contiguous();
}

} // namespace distillery::detail
