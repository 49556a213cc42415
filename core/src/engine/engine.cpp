#include "distillery/engine.h"

#include "runs/atomic_file.h"
#include "models/dense.h"
#include "methods/distill.h"
#include "distillery/data.h"
#include "distillery/runs.h"
#include "models/model_io.h"
#include "runs/run_lock.h"
#include "data/torch_data.h"
#include "models/torch_model.h"
#include "training/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

namespace distillery {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

bool cudaAvailable()
{
    return torch::cuda::is_available();
}

bool oneDnnLinearLayers()
{
    return detail::denseOnOneDnn();
}

int effectiveThreads(int requested)
{
    if (requested > 0)
        return requested;
    const unsigned hw = std::thread::hardware_concurrency();
    return hw ? int(hw) : 1;
}

std::string libtorchVersion()
{
    return TORCH_VERSION;
}

namespace {

// Bad input found before training: the runner exits with status 2 for these.
struct InvalidInput : std::runtime_error {
    using std::runtime_error::runtime_error;
};

double seconds(Clock::time_point since)
{
    return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string nowIso()
{
    const std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", std::localtime(&t));
    return buf;
}

std::string errorText(const std::exception &e)
{
    if (const auto *c = dynamic_cast<const c10::Error *>(&e))
        return c->what_without_backtrace();
    return e.what();
}

// Writes the run folder: metrics.jsonl (appended, one event a line) and
// summary.json (replaced atomically each time it changes).
class RunWriter {
public:
    explicit RunWriter(fs::path dir) : dir_(std::move(dir)), metrics_(dir_ / "metrics.jsonl", std::ios::app) {}
    bool ok() const { return bool(metrics_); }
    void append(const std::string &line)
    {
        metrics_ << line << '\n';
        metrics_.flush();
        if (!metrics_)
            throw std::runtime_error((dir_ / "metrics.jsonl").string() + ": cannot write (disk full or folder gone?)");
    }
    void writeSummary(const json &summary) { detail::writeFileAtomically((dir_ / "summary.json").string(), summary.dump(2) + "\n"); }
    const fs::path &dir() const { return dir_; }

private:
    fs::path dir_;
    std::ofstream metrics_;
};

fs::path createRunDir(const std::string &workspace, const std::string &name)
{
    std::string clean;
    for (char c : name)
        clean += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
    const std::time_t t = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&t));
    std::error_code ec;
    const fs::path runs = fs::path(workspace) / "runs";
    fs::create_directories(runs, ec);
    if (ec)
        throw InvalidInput("workspace: cannot create " + runs.string() + ": " + ec.message());
    for (int i = 1; i < 1000; ++i) {
        const fs::path dir = runs / (std::string(stamp) + "-" + clean + (i > 1 ? "-" + std::to_string(i) : ""));
        if (fs::create_directory(dir, ec)) {
            fs::create_directory(dir / "checkpoints", ec);
            if (ec)
                throw InvalidInput("workspace: cannot create " + (dir / "checkpoints").string() + ": " + ec.message());
            return dir;
        }
        if (ec)
            throw InvalidInput("workspace: cannot create a run folder in " + runs.string() + ": " + ec.message());
    }
    throw InvalidInput("workspace: too many runs named " + clean + " in the same second");
}

// Learning rate at a point of training, `epochPos` counted in epochs (fractional).
double learningRate(const TrainConfig &t, double epochPos)
{
    if (t.warmupEpochs > 0 && epochPos < t.warmupEpochs)
        return t.lr * epochPos / t.warmupEpochs;
    if (t.schedule == "step")
        return t.lr * std::pow(t.gamma, std::floor(epochPos / t.stepEpochs));
    if (t.schedule == "cosine") {
        const double span = t.epochs - t.warmupEpochs;
        const double progress = span > 0 ? (epochPos - t.warmupEpochs) / span : 1.0;
        return t.lr * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
    }
    return t.lr;
}

std::string modelLabel(const ModelSpec &m)
{
    if (!m.preset.empty()) {
        if (m.preset == "mlp" && !m.hidden.empty()) {
            std::string s = "mlp";
            for (auto h : m.hidden)
                s += "-" + std::to_string(h);
            return s;
        }
        return m.preset;
    }
    return "custom";
}

std::string teacherLabel(const TeacherConfig &t)
{
    if (t.source == "torchscript")
        return "torchscript:" + fs::path(t.path).filename().string();
    return modelLabel(t.model);
}

std::string firstLine(const std::string &s)
{
    return s.substr(0, s.find('\n'));
}

// Writes an archive atomically. LibTorch's own file writer aborts the process
// when a write fails (its destructor throws while the first error unwinds), so
// the archive is serialised to memory and written by Distillery's writer.
void saveArchive(torch::serialize::OutputArchive &archive, const fs::path &path)
{
    std::string bytes;
    archive.save_to([&bytes](const void *data, std::size_t size) {
        bytes.append(static_cast<const char *>(data), size);
        return size;
    });
    try {
        detail::writeFileAtomically(path.string(), bytes);
    } catch (const std::runtime_error &e) {
        throw std::runtime_error(std::string(e.what()) + " (disk full or folder gone?)");
    }
}

// Where a stage stands at the end of an epoch, kept in its state checkpoint.
struct StageProgress {
    int epoch = 0;
    std::int64_t globalStep = 0;
    double bestScore = -1.0;
    int bestEpoch = 0;
    double bestValAccuracy = 0.0;
    double testAccuracy = 0.0;
    double finalTestAccuracy = 0.0;
    double seconds = 0.0;
};

// checkpoints/<stage>.state.pt: model, optimiser, the random-number states
// (LibTorch's default generator, which draws dropout, and the stage's
// shuffling generator), the best model so far and the progress. Written
// through a temporary file and renamed, so a kill leaves the previous one.
void saveStageState(const fs::path &path, detail::Net &model, torch::optim::Optimizer &optimizer,
                    at::Generator &shuffle, const std::vector<torch::Tensor> &best, const StageProgress &p)
{
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive modelArchive, optimizerArchive;
    model->save(modelArchive);
    optimizer.save(optimizerArchive);
    archive.write("model", modelArchive);
    archive.write("optimizer", optimizerArchive);
    {
        auto defaultGenerator = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(defaultGenerator.mutex());
        archive.write("rng_default", defaultGenerator.get_state());
    }
    archive.write("rng_shuffle", shuffle.get_state());
    archive.write("best_count", torch::tensor(std::int64_t(best.size())));
    for (std::size_t i = 0; i < best.size(); ++i)
        archive.write("best_" + std::to_string(i), best[i]);
    archive.write("progress", torch::tensor(std::vector<double>{double(p.epoch), double(p.globalStep), p.bestScore,
                                                                double(p.bestEpoch), p.bestValAccuracy, p.testAccuracy,
                                                                p.finalTestAccuracy, p.seconds},
                                            torch::kFloat64));
    saveArchive(archive, path);
}

// The epoch recorded in a state checkpoint, or 0 when there is none.
int stateEpoch(const fs::path &path)
{
    if (!fs::is_regular_file(path))
        return 0;
    try {
        torch::serialize::InputArchive archive;
        archive.load_from(path.string());
        torch::Tensor progress;
        archive.read("progress", progress);
        return int(progress[0].item<double>());
    } catch (const c10::Error &e) {
        throw InvalidInput(path.string() + ": not a readable checkpoint (" + firstLine(e.what_without_backtrace()) + ")");
    }
}

StageProgress loadStageState(const fs::path &path, detail::Net &model, torch::optim::Optimizer &optimizer,
                             at::Generator &shuffle, std::vector<torch::Tensor> &best)
{
    StageProgress p;
    try {
        const auto device = model->parameters().empty() ? torch::Device(torch::kCPU) : model->parameters()[0].device();
        torch::serialize::InputArchive archive;
        archive.load_from(path.string(), device);
        torch::serialize::InputArchive modelArchive, optimizerArchive;
        archive.read("model", modelArchive);
        archive.read("optimizer", optimizerArchive);
        model->load(modelArchive);
        optimizer.load(optimizerArchive);
        torch::Tensor state;
        archive.read("rng_default", state);
        {
            auto defaultGenerator = at::detail::getDefaultCPUGenerator();
            std::lock_guard<std::mutex> lock(defaultGenerator.mutex());
            defaultGenerator.set_state(state.cpu());
        }
        torch::Tensor shuffleState;
        archive.read("rng_shuffle", shuffleState);
        shuffle.set_state(shuffleState.cpu());
        torch::Tensor count;
        archive.read("best_count", count);
        best.assign(std::size_t(count.item<std::int64_t>()), torch::Tensor());
        for (std::size_t i = 0; i < best.size(); ++i)
            archive.read("best_" + std::to_string(i), best[i]);
        torch::Tensor progress;
        archive.read("progress", progress);
        const auto v = progress.cpu().contiguous();
        const double *x = v.data_ptr<double>();
        if (v.numel() != 8)
            throw std::runtime_error("its progress record has " + std::to_string(v.numel()) + " values, not 8");
        p = StageProgress{int(x[0]), std::int64_t(x[1]), x[2], int(x[3]), x[4], x[5], x[6], x[7]};
    } catch (const c10::Error &e) {
        throw InvalidInput(path.string() + ": cannot resume from it (" + firstLine(e.what_without_backtrace()) + ")");
    } catch (const std::runtime_error &e) {
        throw InvalidInput(path.string() + ": cannot resume from it (" + e.what() + ")");
    }
    return p;
}

struct Eval {
    double loss = std::nan("");
    double accuracy = std::nan("");
};

} // namespace

struct Engine::Private {
    Experiment exp;
    EngineOptions options;
    std::atomic<bool> pause{false};
    std::atomic<bool> stop{false};
    std::mutex mutex;
    std::condition_variable wake;

    // Set during run().
    RunObserver *observer = nullptr;
    std::unique_ptr<RunWriter> writer;
    torch::Device device{torch::kCPU};
    detail::LoadedData data;
    json summary;
    RunResult result;
    std::unique_ptr<detail::RunLock> lock;
    std::string currentStage;           // for messages: the stage being built or trained

    // Continuing an interrupted run (options.resumeRunDir).
    struct Resume {
        bool active = false;
        StageKind stage = StageKind::Teacher;   // the first stage that is not finished
        int epoch = 0;                          // its last checkpointed epoch (0: it starts over)
        bool allDone = false;                   // every stage finished; only the ending is missing
        std::vector<StageResult> finished;      // stages that need no more training
        RunMetrics kept;                        // the metrics kept, replayed to the observer
        double previousSeconds = 0.0;
        json previousSummary;
    } resume;

    const StageResult *finishedStage(StageKind kind) const
    {
        for (const auto &r : resume.finished)
            if (r.kind == kind)
                return &r;
        return nullptr;
    }
    // Sends the kept metrics of `kind` to the observer (not to the file, which has them).
    void replay(StageKind kind)
    {
        for (const auto &m : resume.kept.steps)
            if (m.stage == kind)
                observer->stepReported(m);
        for (const auto &e : resume.kept.epochs)
            if (e.stage == kind)
                observer->epochFinished(e);
    }
    void prepareResume(const fs::path &dir, const std::vector<StageKind> &pipeline);
    // A stage that finished before the resume: reported again, not trained.
    void replayFinishedStage(const StageInfo &info, const StageResult &done)
    {
        observer->stageStarted(info);
        replay(info.kind);
        result.stages.push_back(done);
        observer->stageFinished(done);
    }

    void emit(const std::string &line)
    {
        if (writer)
            writer->append(line);
    }
    void saveSummary()
    {
        if (!writer)
            return;
        json stages = json::object();
        for (const auto &s : result.stages)
            stages[stageName(s.kind)] = json::parse(eventJson(s));
        summary["stages"] = stages;
        summary["status"] = statusName(result.status);
        summary["seconds"] = result.seconds;
        summary["message"] = result.message;
        writer->writeSummary(summary);
    }

    // Between steps: wait while paused; true when a stop was requested.
    bool checkControl(Clock::time_point &windowStart)
    {
        if (pause.load() && !stop.load()) {
            emit(pausedEventJson(true));
            observer->pausedChanged(true);
            {
                std::unique_lock<std::mutex> lock(mutex);
                wake.wait(lock, [&] { return !pause.load() || stop.load(); });
            }
            emit(pausedEventJson(false));
            observer->pausedChanged(false);
            windowStart = Clock::now(); // paused time is not training time
        }
        return stop.load();
    }

    bool mixedPrecision() const { return exp.precision == "bf16"; }

    Eval evaluate(detail::Net &model, const detail::Split &split)
    {
        model->freeze(); // eval mode; batch norms folded for the evaluation's forward passes
        struct Thaw {
            detail::Net &m;
            ~Thaw() { m->thaw(); }
        } thaw{model};
        return evaluate([&](const torch::Tensor &x) { return model->forward(x); }, split);
    }

    Eval evaluate(const detail::TeacherForward &forward, const detail::Split &split)
    {
        Eval e;
        if (split.size() == 0)
            return e;
        c10::InferenceMode guard;
        const std::int64_t batch = detail::kEvalBatch;
        auto lossSum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
        auto correct = torch::zeros({}, torch::TensorOptions().dtype(torch::kInt64).device(device));
        for (std::int64_t i = 0; i < split.size(); i += batch) {
            const auto end = std::min(i + batch, split.size());
            torch::Tensor logits;
            {
                detail::Autocast autocast(mixedPrecision(), device);
                logits = forward(split.x.slice(0, i, end));
            }
            logits = logits.to(torch::kFloat);
            auto y = split.y.slice(0, i, end);
            lossSum += torch::nn::functional::cross_entropy(
                           logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                           .to(torch::kFloat64);
            correct += logits.argmax(1).eq(y).sum();
        }
        e.loss = lossSum.item<double>() / double(split.size());
        e.accuracy = double(correct.item<std::int64_t>()) / double(split.size());
        return e;
    }

    StageResult trainStage(const StageInfo &info, detail::Net &model, const TrainConfig &tc, const detail::Split &train,
                           detail::DistillationMethod &method, const detail::TeacherForward &teacher,
                           const Architecture &teacherLayers, std::uint64_t initSeed, std::uint64_t shuffleSeed);

    RunResult runPipeline();
    std::string outOfMemoryMessage(const std::string &detail) const
    {
        const std::string where = currentStage.empty() ? "before training" : "in the " + currentStage + " stage";
        return "out of memory " + where + " (" + detail + "). Try a smaller batch size (teacher.train.batch_size is " +
               std::to_string(exp.teacher.train.batchSize) + ", student.train.batch_size " +
               std::to_string(exp.studentTrain.batchSize) + ") or smaller models.";
    }
    bool resumingMidStage(StageKind kind) const
    {
        return resume.active && resume.stage == kind && resume.epoch > 0;
    }

    // source=torchscript: the module, checked to map a batch of the data's
    // inputs to one logit per class. Throws InvalidInput naming teacher.path.
    detail::LoadedScript loadImportedTeacher();
    detail::TeacherForward importedForward(detail::LoadedScript &script);
};

detail::TeacherForward Engine::Private::importedForward(detail::LoadedScript &script)
{
    torch::jit::Module module = script.module;
    if (exp.teacher.input == "normalised")
        return [module](const torch::Tensor &x) mutable { return module.forward({x}).toTensor(); };
    // The students see normalised inputs; the teacher gets them as read.
    std::vector<std::int64_t> view(data.summary.inputShape.size() + 1, 1);
    view[1] = data.summary.inputShape[0];
    const auto mean = torch::tensor(std::vector<float>(data.mean.begin(), data.mean.end())).view(view).to(device);
    const auto stdev = torch::tensor(std::vector<float>(data.stdev.begin(), data.stdev.end())).view(view).to(device);
    return [module, mean, stdev](const torch::Tensor &x) mutable {
        return module.forward({x * stdev + mean}).toTensor();
    };
}

detail::LoadedScript Engine::Private::loadImportedTeacher()
{
    const std::string &path = exp.teacher.path;
    if (!fs::is_regular_file(path))
        throw InvalidInput("teacher.path: " + path + " not found");
    detail::LoadedScript script;
    try {
        script = detail::loadScript(path, device);
    } catch (const detail::ModelFileError &e) {
        throw InvalidInput(std::string("teacher.path: ") + e.what());
    }
    const Shape &shape = data.summary.inputShape;
    const int classes = data.summary.classes;
    auto forward = importedForward(script);
    const auto probe = data.train.x.slice(0, 0, 2);
    std::ostringstream inputShape;
    inputShape << probe.sizes();
    torch::Tensor out;
    try {
        c10::InferenceMode guard;
        out = forward(probe);
    } catch (const std::exception &e) {
        std::string why = errorText(e);
        throw InvalidInput("teacher.path: " + path + ": forward fails on a batch of shape " + inputShape.str() +
                           " (the data set's input is " + shapeToString(shape) + "): " + why.substr(0, why.find('\n')));
    }
    if (out.dim() != 2 || out.size(0) != probe.size(0) || out.size(1) != classes) {
        std::ostringstream got;
        got << out.sizes();
        throw InvalidInput("teacher.path: " + path + ": gives outputs of shape " + got.str() + " for a batch of shape " +
                           inputShape.str() + "; the data set has " + std::to_string(classes) + " classes, so [" +
                           std::to_string(probe.size(0)) + ", " + std::to_string(classes) + "] is needed");
    }
    if (!out.is_floating_point())
        throw InvalidInput("teacher.path: " + path + ": gives " + std::string(c10::toString(out.scalar_type())) +
                           " outputs, not floating-point logits");
    return script;
}

StageResult Engine::Private::trainStage(const StageInfo &info, detail::Net &model, const TrainConfig &tc,
                                        const detail::Split &train, detail::DistillationMethod &method,
                                        const detail::TeacherForward &teacher, const Architecture &teacherLayers,
                                        std::uint64_t initSeed, std::uint64_t shuffleSeed)
{
    const auto stageStart = Clock::now();
    StageResult r;
    r.kind = info.kind;
    const std::string stage = stageName(info.kind);
    currentStage = stage;
    torch::manual_seed(initSeed); // dropout draws of this stage
    auto shuffle = at::detail::createCPUGenerator(shuffleSeed);
    auto optimizer = detail::makeOptimizer(model->parameters(), tc);

    const bool cached = method.needsTeacher() && teacher && exp.distillation.teacherCache;

    // Split the cores between LibTorch's and OpenBLAS's threads for this
    // stage's model (see planThreads), unless the experiment fixes BLAS threads.
    StageInfo started = info;
    const auto report = analyseArchitecture(model->architecture(), data.summary.inputShape, data.summary.classes);
    r.parameters = report.parameters;
    r.multiplyAdds = report.multiplyAdds;
    auto [linear, conv] = detail::linearAndConvMultiplyAdds(model->architecture(), report);
    if (teacher && !cached && !teacherLayers.empty()) {
        const auto [teacherLinear, teacherConv] = detail::linearAndConvMultiplyAdds(
            teacherLayers, analyseArchitecture(teacherLayers, data.summary.inputShape, data.summary.classes));
        linear += teacherLinear;
        conv += teacherConv;
    }
    const std::int64_t n = train.size();
    const std::int64_t bs = std::min<std::int64_t>(tc.batchSize, n);
    const int threads = effectiveThreads(exp.threads);
    detail::ThreadPlan plan = detail::planThreads(linear, conv, threads);
    if (exp.blasThreads > 0)
        plan.blas = exp.blasThreads; // the experiment fixes OpenBLAS's share
    started.torchThreads = plan.torch;
    started.blasThreads = detail::applyThreads(plan) ? plan.blas : 0;
    r.blasThreads = started.blasThreads;
    // After the threads are set: the cache's last bits depend on them, and a
    // resumed stage must compute the same cache as an uninterrupted one.
    torch::Tensor cache;
    if (cached)
        cache = detail::teacherLogits(teacher, train, mixedPrecision());
    detail::StepContext context{model, *optimizer, method, teacher, cache, train, mixedPrecision()};
    if (!resumingMidStage(info.kind)) // the file has the stage's start already
        emit(eventJson(started));
    observer->stageStarted(started);

    const std::int64_t steps = info.stepsPerEpoch;
    const auto partNames = method.partNames();
    const auto nAcc = std::int64_t(partNames.size()) + 2; // total, parts..., correct
    const auto accOptions = torch::TensorOptions().dtype(torch::kFloat64).device(device);

    std::vector<torch::Tensor> best;
    double bestVal = -1.0;
    std::int64_t globalStep = 0;
    bool stopped = false;
    double previousSeconds = 0.0; // of the sessions before a resume
    int firstEpoch = 1;

    // Resuming: the stage continues after its last checkpointed epoch, with the
    // model, optimiser, random-number states and best model as they were.
    const fs::path statePath = writer->dir() / "checkpoints" / (stage + ".state.pt");
    if (resumingMidStage(info.kind)) {
        const StageProgress p = loadStageState(statePath, model, *optimizer, shuffle, best);
        firstEpoch = p.epoch + 1;
        globalStep = p.globalStep;
        bestVal = p.bestScore;
        r.bestEpoch = p.bestEpoch;
        r.bestValAccuracy = p.bestValAccuracy;
        r.testAccuracy = p.testAccuracy;
        r.finalTestAccuracy = p.finalTestAccuracy;
        r.epochsDone = p.epoch;
        previousSeconds = p.seconds;
        replay(info.kind);
    }

    // The kept model: the best epoch's, saved as checkpoints/<stage>.pt.
    const fs::path bestPath = writer->dir() / "checkpoints" / (stage + ".pt");
    auto saveBest = [&] {
        if (!best.empty())
            detail::restore(*model, best);
        model->eval();
        if (r.epochsDone == 0)
            return;
        torch::serialize::OutputArchive archive;
        model->save(archive);
        saveArchive(archive, bestPath);
        r.checkpoint = bestPath.string();
    };

    try {
    for (int epoch = firstEpoch; epoch <= tc.epochs && !stopped; ++epoch) {
        const auto epochStart = Clock::now();
        model->train();
        auto perm = torch::randperm(n, shuffle, torch::kInt64).to(device);
        auto epochAcc = torch::zeros({nAcc}, accOptions);
        std::vector<double> lastReport(std::size_t(nAcc), 0.0);
        std::int64_t reportedSamples = 0, epochSamples = 0;
        auto windowStart = Clock::now();
        double trainSeconds = 0.0;

        auto report = [&](std::int64_t step) {
            const auto acc = epochAcc.cpu();
            const double *v = acc.data_ptr<double>();
            const double samples = double(epochSamples - reportedSamples);
            StepMetrics m;
            m.stage = info.kind;
            m.epoch = epoch;
            m.step = step;
            m.totalSteps = steps * tc.epochs;
            m.loss = (v[0] - lastReport[0]) / samples;
            for (std::size_t i = 0; i < partNames.size(); ++i)
                m.parts.emplace_back(partNames[i], (v[i + 1] - lastReport[i + 1]) / samples);
            m.learningRate = optimizer->param_groups()[0].options().get_lr();
            const double dt = seconds(windowStart);
            trainSeconds += dt;
            m.samplesPerSecond = dt > 0 ? samples / dt : 0.0;
            if (!std::isfinite(m.loss))
                throw std::runtime_error(
                    stage + " stage, epoch " + std::to_string(epoch) + ", step " + std::to_string(step) +
                    ": the loss is not finite (NaN or infinity). Likely causes: a learning rate too high (" +
                    std::to_string(m.learningRate) + "), or a temperature so small that large logits overflow.");
            lastReport.assign(v, v + nAcc);
            reportedSamples = epochSamples;
            emit(eventJson(m));
            observer->stepReported(m);
            windowStart = Clock::now();
        };

        for (std::int64_t b = 0; b < steps; ++b) {
            if (checkControl(windowStart)) {
                stopped = true;
                break;
            }
            ++globalStep;
            const double lr = learningRate(tc, (epoch - 1) + double(b) / double(steps));
            for (auto &group : optimizer->param_groups())
                group.options().set_lr(lr);

            auto idx = perm.slice(0, b * bs, std::min(n, (b + 1) * bs));
            detail::trainStep(context, idx, epochAcc);
            epochSamples += idx.size(0);
            if ((b + 1) % exp.logEverySteps == 0 || b + 1 == steps)
                report(globalStep);
        }
        if (stopped && epochSamples == 0)
            break;
        if (stopped) {
            // A partly trained epoch is not evaluated; keep what was reported.
            if (epochSamples > reportedSamples)
                report(globalStep);
            break;
        }

        {
            torch::NoGradGuard guard;
            for (const auto &p : model->parameters())
                if (!torch::isfinite(p).all().item<bool>())
                    throw std::runtime_error(stage + " stage, epoch " + std::to_string(epoch) +
                                             ": the weights are not finite (NaN or infinity). Likely causes: a "
                                             "learning rate too high, or a temperature so small that large logits "
                                             "overflow.");
        }
        const auto acc = epochAcc.cpu();
        const double *v = acc.data_ptr<double>();
        EpochMetrics e;
        e.stage = info.kind;
        e.epoch = epoch;
        e.epochs = tc.epochs;
        e.step = globalStep;
        e.trainLoss = v[0] / double(epochSamples);
        for (std::size_t i = 0; i < partNames.size(); ++i)
            e.trainParts.emplace_back(partNames[i], v[i + 1] / double(epochSamples));
        e.trainAccuracy = v[nAcc - 1] / double(epochSamples);
        e.learningRate = optimizer->param_groups()[0].options().get_lr();
        e.samplesPerSecond = trainSeconds > 0 ? double(epochSamples) / trainSeconds : 0.0;
        const Eval val = evaluate(model, data.validation);
        const Eval test = evaluate(model, data.test);
        e.valLoss = val.loss;
        e.valAccuracy = val.accuracy;
        e.testLoss = test.loss;
        e.testAccuracy = test.accuracy;
        // Model selection on validation accuracy; without a validation split the
        // last epoch is the one kept.
        const double score = std::isfinite(val.accuracy) ? val.accuracy : double(epoch);
        if (score > bestVal) {
            bestVal = score;
            best = detail::snapshot(*model);
            r.bestEpoch = epoch;
            r.bestValAccuracy = val.accuracy;
            r.testAccuracy = test.accuracy;
            e.best = true;
        }
        r.finalTestAccuracy = test.accuracy;
        r.epochsDone = epoch;
        e.seconds = seconds(epochStart);
        emit(eventJson(e));
        observer->epochFinished(e);
        StageProgress progress{epoch, globalStep, bestVal, r.bestEpoch, r.bestValAccuracy, r.testAccuracy,
                               r.finalTestAccuracy, previousSeconds + seconds(stageStart)};
        saveStageState(statePath, model, *optimizer, shuffle, best, progress);
    }

    } catch (const std::exception &e) {
        // The stage cannot go on (non-finite loss, a write that failed, memory):
        // what it learnt up to its best epoch is kept where it can be used.
        std::string message = errorText(e);
        const bool outOfMemory = dynamic_cast<const std::bad_alloc *>(&e) != nullptr;
        r.status = RunStatus::Failed;
        r.seconds = previousSeconds + seconds(stageStart);
        if (r.epochsDone > 0 && !outOfMemory) {
            try {
                saveBest();
                message += " The best model so far (epoch " + std::to_string(r.bestEpoch) + ") is kept in " +
                           bestPath.string() + ".";
                emit(eventJson(r));
            } catch (const std::exception &) {
                // The disk or folder that failed the stage fails this too; the
                // epoch checkpoints already written are left as they were.
            }
        }
        result.stages.push_back(r);
        if (outOfMemory)
            throw;
        throw std::runtime_error(message);
    }

    saveBest();
    r.status = stopped ? RunStatus::Stopped : RunStatus::Finished;
    r.seconds = previousSeconds + seconds(stageStart);
    return r;
}

void Engine::Private::prepareResume(const fs::path &dir, const std::vector<StageKind> &pipeline)
{
    resume.active = true;
    const fs::path metricsPath = dir / "metrics.jsonl";
    std::vector<std::string> lines;
    {
        std::ifstream in(metricsPath);
        if (!in)
            throw InvalidInput("resume: " + metricsPath.string() + " not found (is this a run folder?)");
        std::string line;
        while (std::getline(in, line)) {
            // A line cut short by a kill ends what can be trusted.
            if (!json::accept(line))
                break;
            lines.push_back(line);
        }
    }
    resume.previousSummary = json::parse(std::ifstream(dir / "summary.json"), nullptr, false);
    if (!resume.previousSummary.is_object())
        resume.previousSummary = json::object();
    if (resume.previousSummary.value("status", std::string()) == "finished")
        throw InvalidInput("resume: " + dir.string() + " finished; there is nothing to resume");
    resume.previousSeconds = resume.previousSummary.value("seconds", 0.0);

    // Stages that finished and left their model: those are not trained again.
    {
        const RunMetrics all = readRunMetrics(dir.string());
        for (const auto &r : all.stageResults)
            if (r.status == RunStatus::Finished && !r.checkpoint.empty() && fs::exists(r.checkpoint))
                resume.finished.push_back(r);
    }
    resume.allDone = true;
    for (StageKind kind : pipeline)
        if (!finishedStage(kind)) {
            resume.stage = kind;
            resume.allDone = false;
            break;
        }
    const std::string stage = stageName(resume.stage);
    resume.epoch = resume.allDone ? 0 : stateEpoch(dir / "checkpoints" / (stage + ".state.pt"));

    // Keep the metrics up to the checkpointed epoch of the stage that goes on
    // (or up to its start, when it starts over), so that each epoch is
    // recorded once; what a killed or stopped session wrote after is dropped.
    std::size_t keep = lines.size();
    bool found = false;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const json j = json::parse(lines[i]);
        if (j.value("stage", std::string()) != stage || resume.allDone)
            continue;
        if (resume.epoch == 0) {
            keep = i;
            found = true;
            break;
        }
        if (j.value("event", std::string()) == "epoch" && j.value("epoch", 0) == resume.epoch) {
            keep = i + 1;
            found = true;
            break;
        }
    }
    if (!found && resume.epoch > 0) {
        // The checkpoint is ahead of the metrics: start the stage over.
        resume.epoch = 0;
        for (std::size_t i = 0; i < lines.size(); ++i)
            if (json::parse(lines[i]).value("stage", std::string()) == stage) {
                keep = i;
                break;
            }
    }
    while (keep > 0) {
        const std::string event = json::parse(lines[keep - 1]).value("event", std::string());
        if (event != "run_finished" && event != "error")
            break;
        --keep;
    }
    std::string text;
    for (std::size_t i = 0; i < keep; ++i)
        text += lines[i] + "\n";
    detail::writeFileAtomically(metricsPath.string(), text);
    resume.kept = readRunMetrics(dir.string());
}

RunResult Engine::Private::runPipeline()
{
    const auto start = Clock::now();
    result = RunResult{};

    // 1. Everything that can be wrong with the input, before any folder exists.
    const bool resuming = !options.resumeRunDir.empty();
    if (resuming) {
        const fs::path dir = options.resumeRunDir;
        if (!fs::is_directory(dir))
            throw InvalidInput("resume: " + dir.string() + ": no such run folder");
        try {
            exp = loadExperiment((dir / "config.json").string());
        } catch (const ConfigError &e) {
            throw InvalidInput(std::string("resume: ") + e.what());
        }
    }
    validateExperiment(exp);
    if (exp.device == "cuda" && !torch::cuda::is_available())
        throw InvalidInput("device: cuda was asked for, but LibTorch sees no CUDA device (use auto or cpu)");
    device = (exp.device == "cpu" || !torch::cuda::is_available()) ? torch::Device(torch::kCPU)
                                                                   : torch::Device(torch::kCUDA, 0);
    const int threads = effectiveThreads(exp.threads);
    at::set_num_threads(threads);

    try {
        data = detail::loadData(exp.data, device);
    } catch (const DataError &e) {
        throw InvalidInput(e.what());
    } catch (const ConfigError &e) {
        throw InvalidInput(e.what());
    }
    const Shape &shape = data.summary.inputShape;
    const int classes = data.summary.classes;

    Experiment resolved = exp;
    fs::path teacherCheckpoint;
    if (exp.teacher.source == "run") {
        const fs::path dir = exp.teacher.run;
        Experiment earlier;
        try {
            earlier = loadExperiment((dir / "config.json").string());
        } catch (const ConfigError &e) {
            throw InvalidInput(std::string("teacher.run: ") + e.what());
        }
        teacherCheckpoint = dir / "checkpoints" / "teacher.pt";
        if (!fs::exists(teacherCheckpoint))
            throw InvalidInput("teacher.run: " + teacherCheckpoint.string() +
                               " not found (that run has no finished teacher)");
        resolved.teacher.model = earlier.teacher.model;
        resolved.teacher.train = earlier.teacher.train;
    }
    const bool imported = exp.teacher.source == "torchscript";
    try {
        if (!imported)
            resolved.teacher.model.layers = resolveModel(resolved.teacher.model, classes);
        resolved.student.layers = resolveModel(exp.student, classes);
    } catch (const ConfigError &e) {
        throw InvalidInput(std::string("model: ") + e.what());
    }
    ArchitectureReport teacherReport;
    std::optional<detail::LoadedScript> script;
    if (imported) {
        // An imported teacher is checked against the data before anything is written.
        script = loadImportedTeacher();
        teacherReport.ok = true;
        teacherReport.parameters = script->parameters;
        teacherReport.output = {classes};
    } else {
        teacherReport = analyseArchitecture(resolved.teacher.model.layers, shape, classes);
        if (!teacherReport.ok)
            throw InvalidInput("teacher.model: " + teacherReport.error + " (input " + shapeToString(shape) + ")");
    }
    const auto studentReport = analyseArchitecture(resolved.student.layers, shape, classes);
    if (!studentReport.ok)
        throw InvalidInput("student.model: " + studentReport.error + " (input " + shapeToString(shape) + ")");
    auto method = detail::makeMethod(exp.distillation);

    // 2. The run folder, locked against a second writer.
    std::vector<StageKind> pipeline{StageKind::Teacher};
    if (exp.baseline)
        pipeline.push_back(StageKind::Baseline);
    pipeline.push_back(StageKind::Distillation);
    const fs::path runDir = resuming ? fs::path(options.resumeRunDir) : createRunDir(options.workspace, exp.name);
    try {
        lock = std::make_unique<detail::RunLock>(runDir.string());
    } catch (const std::runtime_error &e) {
        throw InvalidInput(std::string(resuming ? "resume: " : "workspace: ") + e.what());
    }
    if (resuming) {
        try {
            prepareResume(runDir, pipeline);
        } catch (const json::exception &e) {
            throw InvalidInput("resume: " + runDir.string() + ": damaged summary.json or metrics.jsonl (" + e.what() + ")");
        }
    }
    writer = std::make_unique<RunWriter>(runDir);
    if (!writer->ok())
        throw InvalidInput("workspace: cannot write in " + runDir.string());
    result.runDir = runDir.string();
    result.status = RunStatus::Running;
    result.teacherParameters = teacherReport.parameters;
    result.studentParameters = studentReport.parameters;
    result.teacherMultiplyAdds = teacherReport.multiplyAdds;
    result.studentMultiplyAdds = studentReport.multiplyAdds;
    if (!resuming)
        detail::writeFileAtomically((runDir / "config.json").string(), experimentToJson(resolved));

    RunStartInfo startInfo;
    startInfo.runDir = runDir.string();
    startInfo.device = device.str();
    startInfo.threads = threads;
    startInfo.dataDescription = data.summary.description;
    startInfo.inputShape = shape;
    startInfo.classes = classes;
    startInfo.trainSamples = data.summary.trainSamples;
    startInfo.validationSamples = data.summary.validationSamples;
    startInfo.testSamples = data.summary.testSamples;
    startInfo.studentTrainSamples = data.summary.studentTrainSamples;
    startInfo.teacher = teacherReport;
    startInfo.student = studentReport;

    summary = json{{"name", exp.name},
                   {"started", nowIso()},
                   {"device", device.str()},
                   {"threads", threads},
                   {"libtorch", libtorchVersion()},
                   {"seed", exp.seed},
                   {"distillation", {{"method", exp.distillation.method},
                                     {"temperature", exp.distillation.temperature},
                                     {"alpha", exp.distillation.alpha}}},
                   {"teacher", {{"model", teacherLabel(resolved.teacher)},
                                {"parameters", teacherReport.parameters},
                                {"multiply_adds", teacherReport.multiplyAdds}}},
                   {"student", {{"model", modelLabel(exp.student)},
                                {"parameters", studentReport.parameters},
                                {"multiply_adds", studentReport.multiplyAdds}}},
                   {"compression", double(teacherReport.parameters) / double(studentReport.parameters)},
                   {"data", {{"description", data.summary.description},
                             {"input_shape", shape},
                             {"classes", classes},
                             {"class_names", data.summary.classNames},
                             {"train_samples", data.summary.trainSamples},
                             {"validation_samples", data.summary.validationSamples},
                             {"test_samples", data.summary.testSamples},
                             {"student_train_samples", data.summary.studentTrainSamples},
                             {"normalisation", {{"mean", data.mean}, {"std", data.stdev}}}}}};
    if (resuming) {
        summary["started"] = resume.previousSummary.value("started", summary["started"].get<std::string>());
        json resumed = resume.previousSummary.value("resumed", json::array());
        resumed.push_back(nowIso());
        summary["resumed"] = resumed;
    }
    saveSummary();
    if (resuming)
        emit(json{{"event", "run_resumed"},
                  {"stage", resume.allDone ? std::string() : stageName(resume.stage)},
                  {"from_epoch", resume.epoch}}
                 .dump());
    else
        emit(eventJson(startInfo));
    observer->runStarted(startInfo);

    // 3. The stages.
    const int stageCount = 1 + (exp.baseline ? 1 : 0) + 1;
    int index = 0;
    auto finishStage = [&](const StageResult &r) {
        result.stages.push_back(r);
        result.seconds = resume.previousSeconds + seconds(start);
        emit(eventJson(r));
        observer->stageFinished(r);
        saveSummary();
        return r.status == RunStatus::Finished;
    };
    auto stepsPerEpoch = [](std::int64_t n, int batch) {
        const std::int64_t bs = std::min<std::int64_t>(batch, n);
        // A last batch of one sample would break batch norm; it is dropped.
        return n / bs + (n % bs >= 2 ? 1 : 0);
    };

    torch::manual_seed(exp.seed);
    detail::Net teacher{nullptr};
    detail::TeacherForward teacherForward;
    if (imported) {
        teacherForward = importedForward(*script);
    } else {
        teacher = detail::Net(resolved.teacher.model.layers, shape);
        teacher->to(device);
        teacherForward = [teacher](const torch::Tensor &x) mutable { return teacher->forward(x); };
    }
    StageInfo ti;
    ti.kind = StageKind::Teacher;
    ti.index = index++;
    ti.stageCount = stageCount;
    ti.model = teacherLabel(resolved.teacher);
    ti.trainSamples = data.train.size();
    if (const StageResult *done = finishedStage(StageKind::Teacher)) {
        // Resuming after the teacher: its model comes back from its checkpoint.
        if (!imported) {
            try {
                detail::loadCheckpoint(teacher, done->checkpoint, device);
            } catch (const detail::ModelFileError &e) {
                throw InvalidInput(std::string("resume: ") + e.what());
            }
        }
        ti.reused = exp.teacher.source != "train";
        ti.epochs = exp.teacher.train.epochs;
        replayFinishedStage(ti, *done);
    } else if (exp.teacher.source != "train") {
        // Imported or reused: evaluated, never trained.
        ti.reused = true;
        emit(eventJson(ti));
        observer->stageStarted(ti);
        const auto t0 = Clock::now();
        if (!imported) {
            try {
                detail::loadCheckpoint(teacher, teacherCheckpoint.string(), device);
            } catch (const detail::ModelFileError &e) {
                throw InvalidInput(std::string("teacher.run: ") + e.what());
            }
            teacher->eval();
        }
        StageResult r;
        r.kind = StageKind::Teacher;
        const Eval val = evaluate(teacherForward, data.validation);
        const Eval test = evaluate(teacherForward, data.test);
        r.bestValAccuracy = val.accuracy;
        r.testAccuracy = r.finalTestAccuracy = test.accuracy;
        r.checkpoint = imported ? exp.teacher.path : teacherCheckpoint.string();
        r.parameters = teacherReport.parameters;
        r.multiplyAdds = teacherReport.multiplyAdds;
        r.seconds = seconds(t0);
        finishStage(r);
    } else {
        ti.epochs = exp.teacher.train.epochs;
        ti.stepsPerEpoch = stepsPerEpoch(data.train.size(), exp.teacher.train.batchSize);
        auto ce = detail::makeCrossEntropy();
        StageResult r = trainStage(ti, teacher, exp.teacher.train, data.train, *ce, {}, {}, exp.seed, exp.seed + 11);
        if (!finishStage(r)) {
            result.status = r.status;
            return result;
        }
    }
    if (teacher) {
        teacher->eval();
        for (auto &p : teacher->parameters())
            p.set_requires_grad(false);
        teacher->freeze(); // from here on it only gives logits: batch norms folded, ReLUs in place
    }

    // Both students start from the same weights and see batches in the same
    // order, so the difference between them is the loss alone.
    const detail::Split studentTrain = detail::studentSplit(data);
    torch::manual_seed(exp.seed + 1);
    currentStage = exp.baseline ? "baseline" : "student";
    detail::Net initial(resolved.student.layers, shape);
    const auto initialState = detail::snapshot(*initial);
    const std::uint64_t studentShuffle = exp.seed + 23;

    auto studentStage = [&](StageKind kind, detail::DistillationMethod &m, const detail::TeacherForward &t) {
        StageInfo si;
        si.kind = kind;
        si.index = index++;
        si.stageCount = stageCount;
        si.model = modelLabel(exp.student);
        si.epochs = exp.studentTrain.epochs;
        si.trainSamples = studentTrain.size();
        si.stepsPerEpoch = stepsPerEpoch(studentTrain.size(), exp.studentTrain.batchSize);
        if (const StageResult *done = finishedStage(kind)) {
            replayFinishedStage(si, *done);
            return true;
        }
        currentStage = stageName(kind);
        detail::Net student(resolved.student.layers, shape);
        detail::restore(*student, initialState);
        student->to(device);
        return finishStage(trainStage(si, student, exp.studentTrain, studentTrain, m, t, resolved.teacher.model.layers,
                                      exp.seed + 2, studentShuffle));
    };
    if (exp.baseline) {
        auto ce = detail::makeCrossEntropy();
        if (!studentStage(StageKind::Baseline, *ce, {})) {
            result.status = result.stages.back().status;
            return result;
        }
    }
    if (!studentStage(StageKind::Distillation, *method, teacherForward)) {
        result.status = result.stages.back().status;
        return result;
    }
    result.status = RunStatus::Finished;
    return result;
}

Engine::Engine(Experiment experiment, EngineOptions options) : d(std::make_unique<Private>())
{
    d->exp = std::move(experiment);
    d->options = std::move(options);
}

Engine::~Engine() = default;

RunResult Engine::run(RunObserver &observer)
{
    d->observer = &observer;
    detail::tuneAllocator();
    const auto start = Clock::now();
    auto fail = [&](RunStatus status, const std::string &message) {
        d->result.status = status;
        d->result.message = message;
        try {
            d->emit(errorEventJson(message));
        } catch (...) {
        }
        observer.errorOccurred(message);
    };
    try {
        d->runPipeline();
    } catch (const InvalidInput &e) {
        fail(RunStatus::Invalid, e.what());
    } catch (const ConfigError &e) {
        fail(RunStatus::Invalid, e.what());
    } catch (const std::bad_alloc &) {
        fail(RunStatus::Failed, d->outOfMemoryMessage("the allocation failed"));
    } catch (const std::exception &e) {
        const std::string text = errorText(e);
        // LibTorch reports a failed allocation as its own error, on the CPU and on CUDA.
        const bool memory = text.find("not enough memory") != std::string::npos ||
                            text.find("out of memory") != std::string::npos ||
                            text.find("can't allocate memory") != std::string::npos;
        fail(RunStatus::Failed, memory ? d->outOfMemoryMessage(firstLine(text)) : text);
    }
    d->result.seconds = seconds(start);
    if (d->result.status == RunStatus::Running)
        d->result.status = RunStatus::Failed;
    try {
        d->saveSummary();
        d->emit(eventJson(d->result));
    } catch (const std::exception &e) {
        if (d->result.message.empty())
            d->result.message = e.what();
        d->result.status = RunStatus::Failed;
    }
    d->writer.reset();
    d->lock.reset();
    d->data = {};
    observer.runFinished(d->result);
    d->observer = nullptr;
    return d->result;
}

void Engine::requestPause()
{
    d->pause = true;
}

void Engine::requestResume()
{
    {
        std::lock_guard<std::mutex> lock(d->mutex);
        d->pause = false;
    }
    d->wake.notify_all();
}

void Engine::requestStop()
{
    {
        std::lock_guard<std::mutex> lock(d->mutex);
        d->stop = true;
    }
    d->wake.notify_all();
}

bool Engine::pauseRequested() const
{
    return d->pause.load();
}

bool Engine::stopRequested() const
{
    return d->stop.load();
}

} // namespace distillery
