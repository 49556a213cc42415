// The engine: a short orchestration of the pipeline's parts. It checks the
// input, opens the run folder (new, or the one it resumes), records the start,
// runs the stages and records the end; every error becomes the run's status
// and message, never an exception out of run().
#include "distillery/engine.h"

#include "data/torch_data.h"
#include "distillery/data.h"
#include "distillery/runs.h"
#include "engine/distributed_job.h"
#include "engine/generations.h"
#include "engine/pipeline.h"
#include "models/dense.h"
#include "runs/atomic_file.h"
#include "runs/resume.h"
#include "runs/run_folder.h"
#include "runs/run_lock.h"
#include "runs/run_recorder.h"
#include "support/torch_compat.h"
#include "support/clock.h"
#include "support/errors.h"
#include "training/run_control.h"
#include "training/stage_runner.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <sched.h>
#include <thread>

namespace distillery {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace detail;

bool cudaAvailable()
{
    return torch::cuda::is_available();
}

bool float16Available()
{
    return compat::cpuFloat16Autocast || torch::cuda::is_available();
}

bool oneDnnLinearLayers()
{
    return denseOnOneDnn();
}

int effectiveThreads(int requested)
{
    if (requested > 0)
        return requested;
    // The cores this process may run on (srun and taskset narrow them).
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    const unsigned hw = std::thread::hardware_concurrency();
    return hw ? int(hw) : 1;
}

std::string libtorchVersion()
{
    return TORCH_VERSION;
}

namespace {

RunStartInfo startInfo(const fs::path &runDir, const torch::Device &device, int threads, const LoadedData &data,
                       const Pipeline &p)
{
    RunStartInfo info;
    info.runDir = runDir.string();
    info.device = device.str();
    info.threads = threads;
    info.dataDescription = data.summary.description;
    info.inputShape = data.summary.inputShape;
    info.classes = data.summary.classes;
    info.trainSamples = data.summary.trainSamples;
    info.validationSamples = data.summary.validationSamples;
    info.testSamples = data.summary.testSamples;
    info.studentTrainSamples = data.summary.studentTrainSamples;
    info.teacher = p.teacher.report;
    info.student = p.student;
    return info;
}

// summary.json as the run starts; the stages and the ending are added as they come.
json startSummary(const Experiment &exp, const torch::Device &device, int threads, const LoadedData &data,
                  const Pipeline &p)
{
    const auto &s = data.summary;
    return json{{"name", exp.name},
                {"started", nowIso()},
                {"device", device.str()},
                {"threads", threads},
                {"libtorch", libtorchVersion()},
                {"seed", exp.seed},
                {"distillation", {{"method", exp.distillation.method},
                                  {"temperature", exp.distillation.temperature},
                                  {"alpha", exp.distillation.alpha}}},
                {"teacher", {{"model", p.teacher.label},
                             {"parameters", p.teacher.report.parameters},
                             {"multiply_adds", p.teacher.report.multiplyAdds}}},
                {"student", {{"model", modelLabel(exp.student)},
                             {"parameters", p.student.parameters},
                             {"multiply_adds", p.student.multiplyAdds}}},
                {"compression", double(p.teacher.report.parameters) / double(p.student.parameters)},
                {"data", {{"description", s.description},
                          {"input_shape", s.inputShape},
                          {"classes", s.classes},
                          {"class_names", s.classNames},
                          {"train_samples", s.trainSamples},
                          {"validation_samples", s.validationSamples},
                          {"test_samples", s.testSamples},
                          {"student_train_samples", s.studentTrainSamples},
                          {"normalisation", {{"mean", data.mean}, {"std", data.stdev}}}}}};
}

} // namespace

struct Engine::Private {
    Experiment exp;
    EngineOptions options;
    RunControl control;

    // Set during run().
    std::unique_ptr<RunRecorder> recorder;
    std::unique_ptr<RunLock> lock;
    torch::Device device{torch::kCPU};
    int threads = 1;
    LoadedData data;
    ResumePlan resume;
    std::unique_ptr<DistributedJob> job; // a run over several processes; null for one

    bool resuming() const { return !options.resumeRunDir.empty(); }
    void checkInput();
    void loadData();
    fs::path openRunFolder(const Pipeline &pipeline);
    void recordStart(const fs::path &runDir, const Pipeline &pipeline);
    void runPipeline(Clock::time_point start);
    void fail(RunStatus status, const std::string &message);
    void handleErrors(Clock::time_point start);
    std::string outOfMemoryMessage(const std::string &detail) const;
    RunResult runOnce(RunObserver &observer);
};

// Everything that can be wrong with the experiment and the machine, before any folder exists.
void Engine::Private::checkInput()
{
    if (resuming()) {
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
    control.setSettings(exp.distillation); // a resumed run's own, from its config
    if (exp.device == "cuda" && !torch::cuda::is_available())
        throw InvalidInput("device: cuda was asked for, but LibTorch sees no CUDA device (use auto or cpu)");
    device = (exp.device == "cpu" || !torch::cuda::is_available()) ? torch::Device(torch::kCPU)
                                                                   : torch::Device(torch::kCUDA, 0);
    if (exp.precision == "fp16" && !device.is_cuda() && !compat::cpuFloat16Autocast)
        throw InvalidInput("precision: fp16 on the CPU needs LibTorch 2 or later, whose CPU autocast has float16 "
                           "(this build has LibTorch " TORCH_VERSION "); use bf16, or fp16 on a CUDA device");
    threads = effectiveThreads(exp.threads);
    // A job's processes on one machine take its GPUs in turn (rank 0 of a
    // run started here, and a run of one process, the first).
    if (device.is_cuda() && options.group.active())
        device = torch::Device(torch::kCUDA, torch::DeviceIndex(options.group.localRank % torch::cuda::device_count()));
    job = DistributedJob::start(exp, options, device);
    if (job) {
        threads = job->threads(exp.threads, threads);
        control.shareChanges(); // rank 0's setting changes reach every process at the same step
    }
    at::set_num_threads(threads);
}

void Engine::Private::loadData()
{
    // Decoded image folders are kept in the workspace's cache, beside its runs.
    fs::path workspace = options.workspace;
    if (job) {
        workspace = job->workspace(); // every rank's cache is the workspace's, not a scratch folder's
    } else if (resuming()) {
        fs::path run = fs::absolute(options.resumeRunDir);
        if (run.filename().empty())
            run = run.parent_path();
        workspace = run.parent_path().parent_path();
    }
    DataLoadOptions loading;
    loading.cacheDir = (workspace / "cache").string();
    loading.progress = [this](std::int64_t done, std::int64_t total) { recorder->observer().dataProgress(done, total); };
    try {
        data = detail::loadData(exp.data, device, loading);
    } catch (const DataError &e) {
        throw InvalidInput(e.what());
    } catch (const ConfigError &e) {
        throw InvalidInput(e.what());
    }
}

// The run folder, new or resumed, locked against a second writer.
fs::path Engine::Private::openRunFolder(const Pipeline &pipeline)
{
    const fs::path runDir = resuming()                 ? fs::path(options.resumeRunDir)
                            : options.runDir.empty() ? createRunDir(options.workspace, exp.name)
                                                     : createRunDirAt(options.runDir);
    try {
        lock = std::make_unique<RunLock>(runDir.string());
    } catch (const std::runtime_error &e) {
        throw InvalidInput(std::string(resuming() ? "resume: " : "workspace: ") + e.what());
    }
    if (resuming()) {
        try {
            resume = prepareResume(runDir, pipeline.stages);
        } catch (const json::exception &e) {
            throw InvalidInput("resume: " + runDir.string() + ": damaged summary.json or metrics.jsonl (" + e.what() + ")");
        }
    }
    recorder->open(runDir);
    recorder->updateIndex = !job || job->leader(); // the run's row in runs.sqlite follows each summary
    RunResult &result = recorder->result();
    result.status = RunStatus::Running;
    result.teacherParameters = pipeline.teacher.report.parameters;
    result.studentParameters = pipeline.student.parameters;
    result.teacherMultiplyAdds = pipeline.teacher.report.multiplyAdds;
    result.studentMultiplyAdds = pipeline.student.multiplyAdds;
    if (!resuming())
        writeFileAtomically((runDir / "config.json").string(), experimentToJson(pipeline.resolved));
    return runDir;
}

void Engine::Private::recordStart(const fs::path &runDir, const Pipeline &pipeline)
{
    json &summary = recorder->summary();
    summary = startSummary(exp, device, threads, data, pipeline);
    if (job)
        summary["processes"] = job->comm().size();
    if (resuming()) {
        summary["started"] = resume.previousSummary.value("started", summary["started"].get<std::string>());
        json resumed = resume.previousSummary.value("resumed", json::array());
        resumed.push_back(nowIso());
        summary["resumed"] = resumed;
    }
    recorder->saveSummary();
    const RunStartInfo info = startInfo(runDir, device, threads, data, pipeline);
    if (resuming())
        recorder->write(json{{"event", "run_resumed"},
                             {"stage", resume.allDone ? std::string() : stageName(resume.stage)},
                             {"from_epoch", resume.epoch}}
                            .dump());
    recorder->runStarted(info, !resuming());
}

void Engine::Private::runPipeline(Clock::time_point start)
{
    checkInput();
    loadData();
    Pipeline pipeline = planPipeline(exp, data, device);
    const fs::path runDir = openRunFolder(pipeline);
    recordStart(runDir, pipeline);
    StageEnvironment env{exp, data, device, *recorder, control, resume, start};
    env.comm = job ? &job->comm() : nullptr;
    RunResult &result = recorder->result();
    if (runStages(env, pipeline))
        result.status = RunStatus::Finished;
    else
        result.status = result.stages.back().status;
}

std::string Engine::Private::outOfMemoryMessage(const std::string &detail) const
{
    const std::string &stage = recorder->currentStage;
    const std::string where = stage.empty() ? "before training" : "in the " + stage + " stage";
    return "out of memory " + where + " (" + detail + "). Try a smaller batch size (teacher.train.batch_size is " +
           std::to_string(exp.teacher.train.batchSize) + ", student.train.batch_size " +
           std::to_string(exp.studentTrain.batchSize) + ") or smaller models.";
}

void Engine::Private::fail(RunStatus status, const std::string &message)
{
    recorder->result().status = status;
    recorder->result().message = message;
    recorder->errorOccurred(message);
}

// Runs the pipeline; whatever ends it becomes the result's status and message.
void Engine::Private::handleErrors(Clock::time_point start)
{
    try {
        runPipeline(start);
    } catch (const InvalidInput &e) {
        fail(RunStatus::Invalid, e.what());
    } catch (const ConfigError &e) {
        fail(RunStatus::Invalid, e.what());
    } catch (const std::bad_alloc &) {
        fail(RunStatus::Failed, outOfMemoryMessage("the allocation failed"));
    } catch (const std::exception &e) {
        const std::string text = errorText(e);
        // LibTorch reports a failed allocation as its own error, on the CPU and on CUDA.
        fail(RunStatus::Failed, isOutOfMemory(text) ? outOfMemoryMessage(firstLine(text)) : text);
    }
}

Engine::Engine(Experiment experiment, EngineOptions options) : d(std::make_unique<Private>())
{
    d->exp = std::move(experiment);
    d->options = std::move(options);
    d->control.setSettings(d->exp.distillation); // until run() reads a resumed run's
}

Engine::~Engine() = default;

RunResult Engine::run(RunObserver &observer)
{
    RunResult r = d->runOnce(observer);
    // Born-again generations: each finished generation but the last starts
    // the next run, taught by its student (a resumed one too).
    while (r.status == RunStatus::Finished && !d->control.stopRequested()) {
        std::optional<Experiment> next = nextGeneration(r.runDir);
        if (!next)
            break;
        d->exp = std::move(*next);
        d->options.resumeRunDir.clear();
        d->options.runDir.clear();
        // Beside the run it follows (a resumed run's engine may have no workspace of its own).
        d->options.workspace = fs::absolute(r.runDir).lexically_normal().parent_path().parent_path().string();
        d->control.dropChanges();
        r = d->runOnce(observer);
    }
    return r;
}

RunResult Engine::Private::runOnce(RunObserver &observer)
{
    recorder = std::make_unique<RunRecorder>(observer);
    resume = ResumePlan{};
    tuneAllocator();
    const auto start = Clock::now();
    handleErrors(start);
    RunResult &result = recorder->result();
    result.seconds = secondsSince(start);
    if (result.status == RunStatus::Running)
        result.status = RunStatus::Failed;
    if (job) {
        // The other ranks of a local run end with this one; those of a failed
        // run have ended already or are killed.
        const bool failed = result.status == RunStatus::Failed || result.status == RunStatus::Invalid;
        const std::string others = job->finish(failed ? 5.0 : 60.0);
        if (failed && !others.empty() && result.message.find(others) == std::string::npos)
            result.message += (result.message.empty() ? "" : " ") + ("Other processes: " + others + ".");
    }
    try {
        recorder->saveSummary();
        recorder->write(eventJson(result));
    } catch (const std::exception &e) {
        if (result.message.empty())
            result.message = e.what();
        result.status = RunStatus::Failed;
    }
    recorder->close();
    job.reset();
    lock.reset();
    data = {};
    const RunResult finished = result;
    recorder.reset();
    observer.runFinished(finished);
    return finished;
}

void Engine::requestPause()
{
    d->control.requestPause();
}

void Engine::requestResume()
{
    d->control.requestResume();
}

void Engine::requestStop()
{
    d->control.requestStop();
}

bool Engine::pauseRequested() const
{
    return d->control.pauseRequested();
}

std::string Engine::requestSettingChange(const std::string &key, double value)
{
    return d->control.requestChange(key, value);
}

bool Engine::stopRequested() const
{
    return d->control.stopRequested();
}

} // namespace distillery
