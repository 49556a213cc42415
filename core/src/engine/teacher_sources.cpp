#include "engine/teacher_sources.h"

#include "engine/pipeline.h"

#include "support/clock.h"
#include "support/errors.h"
#include "training/evaluation.h"

#include "distillery/analysis.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>

namespace distillery::detail {

namespace fs = std::filesystem;

std::string teacherLabel(const TeacherConfig &t)
{
    if (t.source == "torchscript")
        return "torchscript:" + fs::path(t.path).filename().string();
    return modelLabel(t.model);
}

fs::path resolveReusedTeacher(const Experiment &exp, Experiment &resolved)
{
    const fs::path dir = exp.teacher.run;
    Experiment earlier;
    try {
        earlier = loadExperiment((dir / "config.json").string());
    } catch (const ConfigError &e) {
        throw InvalidInput(std::string("teacher.run: ") + e.what());
    }
    // Its distilled student (born-again generations), or its teacher.
    const bool student = exp.teacher.stage == "student";
    fs::path checkpoint = dir / "checkpoints" / (student ? "student.pt" : "teacher.pt");
    if (!fs::exists(checkpoint))
        throw InvalidInput("teacher.run: " + checkpoint.string() + " not found (that run has no finished " +
                           (student ? "distilled student)" : "teacher)"));
    if (student) {
        resolved.teacher.model = earlier.student;
        resolved.teacher.train = earlier.studentTrain;
    } else {
        resolved.teacher.model = earlier.teacher.model;
        resolved.teacher.train = earlier.teacher.train;
    }
    return checkpoint;
}

namespace {

// What an imported module is given for a batch of the students' normalised
// inputs: the same (teacher.input "normalised"), or the inputs as read.
std::function<torch::Tensor(const torch::Tensor &)> importedInput(const Experiment &exp, const LoadedData &data,
                                                                   const torch::Device &device)
{
    if (exp.teacher.input == "normalised")
        return [](const torch::Tensor &x) { return x; };
    std::vector<std::int64_t> view(data.summary.inputShape.size() + 1, 1);
    view[1] = data.summary.inputShape[0];
    const auto mean = torch::tensor(std::vector<float>(data.mean.begin(), data.mean.end())).view(view).to(device);
    const auto stdev = torch::tensor(std::vector<float>(data.stdev.begin(), data.stdev.end())).view(view).to(device);
    return [mean, stdev](const torch::Tensor &x) { return x * stdev + mean; };
}

TeacherForward importedForward(const LoadedScript &script, const Experiment &exp, const LoadedData &data,
                               const torch::Device &device)
{
    return [module = script.module, input = importedInput(exp, data, device)](const torch::Tensor &x) mutable {
        return module.forward({input(x)}).toTensor();
    };
}

// The logits and the requested features (by their index in features()'s list).
TeacherFeatures importedFeatures(const LoadedScript &script, const Experiment &exp, const LoadedData &data,
                                 const torch::Device &device)
{
    return [module = script.module, input = importedInput(exp, data, device)](const torch::Tensor &x,
                                                                               const std::vector<Tap> &taps) mutable {
        const auto in = input(x);
        ModelOutputs out;
        out.logits = module.forward({in}).toTensor();
        const auto list = module.get_method("features")({in}).toTensorVector();
        for (const auto &t : taps)
            out.features.emplace_back(t.name, list.at(std::size_t(t.layer)));
        return out;
    };
}

std::string shapeText(const torch::IntArrayRef &sizes)
{
    std::ostringstream s;
    s << sizes;
    return s.str();
}

// Throws InvalidInput unless `forward` maps a batch of two inputs to [2, classes] floating-point logits.
void checkImportedOutputs(const std::string &path, const TeacherForward &forward, const LoadedData &data)
{
    const int classes = data.summary.classes;
    const auto probe = data.train.x.slice(0, 0, 2);
    const std::string inputShape = shapeText(probe.sizes());
    torch::Tensor out;
    try {
        c10::InferenceMode guard;
        out = forward(probe);
    } catch (const std::exception &e) {
        throw InvalidInput("teacher.path: " + path + ": forward fails on a batch of shape " + inputShape +
                           " (the data set's input is " + shapeToString(data.summary.inputShape) +
                           "): " + firstLine(errorText(e)));
    }
    if (out.dim() != 2 || out.size(0) != probe.size(0) || out.size(1) != classes)
        throw InvalidInput("teacher.path: " + path + ": gives outputs of shape " + shapeText(out.sizes()) +
                           " for a batch of shape " + inputShape + "; the data set has " + std::to_string(classes) +
                           " classes, so [" + std::to_string(probe.size(0)) + ", " + std::to_string(classes) +
                           "] is needed");
    if (!out.is_floating_point())
        throw InvalidInput("teacher.path: " + path + ": gives " + std::string(c10::toString(out.scalar_type())) +
                           " outputs, not floating-point logits");
}

} // namespace

std::vector<Tap> importedTaps(const LoadedScript &script, const Experiment &exp, const LoadedData &data,
                              const torch::Device &device)
{
    if (!script.hasFeatures)
        return {};
    const std::string &path = exp.teacher.path;
    std::vector<torch::Tensor> list;
    try {
        c10::InferenceMode guard;
        auto module = script.module;
        list = module.get_method("features")({importedInput(exp, data, device)(data.train.x.slice(0, 0, 2))})
                   .toTensorVector();
    } catch (const std::exception &e) {
        throw InvalidInput("teacher.path: " + path + ": features(x) fails on a batch of the data or does not give a "
                           "list of tensors: " + firstLine(errorText(e)));
    }
    if (!script.featureNames.empty() && script.featureNames.size() != list.size())
        throw InvalidInput("teacher.path: " + path + ": feature_names() names " +
                           std::to_string(script.featureNames.size()) + " features, and features(x) gives " +
                           std::to_string(list.size()));
    std::vector<Tap> taps;
    for (std::size_t i = 0; i < list.size(); ++i) {
        Tap t;
        t.name = script.featureNames.empty() ? "feature" + std::to_string(i + 1) : script.featureNames[i];
        t.layer = int(i);
        t.shape.assign(list[i].sizes().begin() + 1, list[i].sizes().end());
        taps.push_back(t);
    }
    return taps;
}

LoadedScript loadImportedTeacher(const Experiment &exp, const LoadedData &data, const torch::Device &device)
{
    const std::string &path = exp.teacher.path;
    if (!fs::is_regular_file(path))
        throw InvalidInput("teacher.path: " + path + " not found");
    LoadedScript script;
    try {
        script = loadScript(path, device);
    } catch (const ModelFileError &e) {
        throw InvalidInput(std::string("teacher.path: ") + e.what());
    }
    checkImportedOutputs(path, importedForward(script, exp, data, device), data);
    return script;
}

TeacherModel buildTeacher(const Experiment &resolved, const TeacherSource &source, const LoadedData &data,
                          const torch::Device &device)
{
    TeacherModel t;
    if (source.imported()) {
        t.forward = importedForward(*source.script, resolved, data, device);
        if (source.script->hasFeatures)
            t.features = importedFeatures(*source.script, resolved, data, device);
        return t;
    }
    t.net = Net(resolved.teacher.model.layers, data.summary.inputShape);
    t.net->to(device);
    t.forward = [net = t.net](const torch::Tensor &x) mutable { return net->forward(x); };
    t.features = [net = t.net](const torch::Tensor &x, const std::vector<Tap> &taps) mutable {
        return net->forwardWithTaps(x, taps);
    };
    return t;
}

namespace {

// The earlier run's saved teacher logits of one split (analysis/), when that
// run had the same data and the file holds this split's rows and labels; else undefined.
torch::Tensor earlierLogits(const fs::path &file, const Split &split, std::int64_t classes)
{
    if (split.size() == 0 || !fs::exists(file))
        return {};
    try {
        const AnalysisLogits a = readAnalysisLogits(file.string());
        const auto y = split.y.to(torch::kCPU).to(torch::kInt64).contiguous();
        if (a.rows != split.size() || a.classes != classes ||
            !std::equal(a.labels.begin(), a.labels.end(), y.data_ptr<std::int64_t>()))
            return {};
        return torch::from_blob(const_cast<float *>(a.logits.data()), {a.rows, a.classes}).clone();
    } catch (const AnalysisError &) {
        return {};
    }
}

double accuracyOf(const torch::Tensor &logits, const Split &split)
{
    return logits.argmax(1).eq(split.y.to(torch::kCPU)).to(torch::kDouble).mean().item<double>();
}

// A teacher taken over from a run of the same data (a sweep's points) is not
// evaluated again: its test and validation logits are read from that run's
// analysis/ and kept for this run's analysis and live fidelity.
bool takeOverTeacherLogits(StageEnvironment &env, StageResult &r)
{
    if (env.exp.teacher.stage != "teacher") // a student's validation logits are not kept
        return false;
    const fs::path dir = env.exp.teacher.run;
    try {
        const Experiment earlier = loadExperiment((dir / "config.json").string());
        const auto dataOf = [](const Experiment &e) { return nlohmann::json::parse(experimentToJson(e))["data"]; };
        if (dataOf(earlier) != dataOf(env.exp))
            return false;
    } catch (const ConfigError &) {
        return false;
    }
    const std::int64_t classes = env.data.summary.classes;
    const torch::Tensor test = earlierLogits(dir / "analysis" / "teacher.logits", env.data.test, classes);
    const torch::Tensor val = earlierLogits(dir / "analysis" / "teacher.validation.logits", env.data.validation, classes);
    if (!test.defined() || (!val.defined() && env.data.validation.size() > 0))
        return false;
    r.testAccuracy = r.finalTestAccuracy = accuracyOf(test, env.data.test);
    r.bestValAccuracy = val.defined() ? accuracyOf(val, env.data.validation) : std::nan("");
    env.kept = {StageKind::Teacher, val, test};
    return true;
}

// A reused or imported teacher is evaluated, never trained.
StageResult evaluateGivenTeacher(StageEnvironment &env, const TeacherSource &source, TeacherModel &teacher)
{
    const auto t0 = Clock::now();
    if (!source.imported()) {
        try {
            loadCheckpoint(teacher.net, source.checkpoint.string(), env.device);
        } catch (const ModelFileError &e) {
            throw InvalidInput(std::string("teacher.run: ") + e.what());
        }
        teacher.net->eval();
    }
    StageResult r;
    r.kind = StageKind::Teacher;
    if (source.imported() || !takeOverTeacherLogits(env, r)) {
        const Eval val = evaluate(teacher.forward, env.data.validation, env.device, env.precision());
        const Eval test = evaluate(teacher.forward, env.data.test, env.device, env.precision());
        r.bestValAccuracy = val.accuracy;
        r.testAccuracy = r.finalTestAccuracy = test.accuracy;
    }
    r.checkpoint = source.imported() ? env.exp.teacher.path : source.checkpoint.string();
    r.parameters = source.report.parameters;
    r.multiplyAdds = source.report.multiplyAdds;
    r.seconds = secondsSince(t0);
    return r;
}

} // namespace

bool runTeacherStage(StageEnvironment &env, const Experiment &resolved, const TeacherSource &source,
                     TeacherModel &teacher, StageInfo info)
{
    const Experiment &exp = env.exp;
    info.model = source.label;
    info.trainSamples = env.data.train.size();
    if (const StageResult *done = env.resume.finishedStage(StageKind::Teacher)) {
        // Resuming after the teacher: its model comes back from its checkpoint.
        if (!source.imported()) {
            try {
                loadCheckpoint(teacher.net, done->checkpoint, env.device);
            } catch (const ModelFileError &e) {
                throw InvalidInput(std::string("resume: ") + e.what());
            }
        }
        info.reused = exp.teacher.source != "train";
        info.epochs = exp.teacher.train.epochs;
        env.recorder.replayStage(info, *done, env.resume.kept);
        return true;
    }
    if (exp.teacher.source != "train") {
        info.reused = true;
        env.recorder.stageStarted(info);
        finishStage(env, evaluateGivenTeacher(env, source, teacher));
        return true;
    }
    info.epochs = exp.teacher.train.epochs;
    info.stepsPerEpoch = stepsPerEpoch(env.data.train.size(), exp.teacher.train.batchSize);
    auto ce = makeCrossEntropy();
    StageJob job{info, teacher.net, exp.teacher.train, env.data.train, *ce, {}, {}, exp.seed, exp.seed + 11};
    return finishStage(env, runStage(env, job));
}

void freezeTeacher(TeacherModel &teacher)
{
    if (!teacher.net)
        return;
    teacher.net->eval();
    for (auto &p : teacher.net->parameters())
        p.set_requires_grad(false);
    teacher.net->freeze();
}

} // namespace distillery::detail
