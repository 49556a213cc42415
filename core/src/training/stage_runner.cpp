#include "training/stage_runner.h"

#include "distillery/analysis.h"
#include "distillery/architecture.h"
#include "distillery/engine.h"
#include "data/augment.h"
#include "runs/stage_state.h"
#include "support/clock.h"
#include "support/errors.h"
#include "training/data_parallel.h"
#include "training/live_settings.h"
#include "training/evaluation.h"
#include "training/schedule.h"

#include <cmath>
#include <optional>

namespace distillery::detail {

namespace fs = std::filesystem;

namespace {

// Rows in an epoch's last batch when it is partial; 0 when the batches divide the rows.
std::int64_t lastBatchRows(std::int64_t samples, int batchSize)
{
    return samples % std::min<std::int64_t>(batchSize, samples);
}

} // namespace

std::int64_t stepsPerEpoch(std::int64_t samples, int batchSize)
{
    return samples / std::min<std::int64_t>(batchSize, samples) + (lastBatchRows(samples, batchSize) >= 2 ? 1 : 0);
}

bool finishStage(StageEnvironment &env, const StageResult &r)
{
    env.recorder.result().seconds = env.resume.previousSeconds + secondsSince(env.runStart);
    env.recorder.stageFinished(r);
    return r.status == RunStatus::Finished;
}

namespace {

// The running sums of one epoch and what of them was reported last.
struct EpochSums {
    int epoch = 0;
    torch::Tensor acc;                  // {total·rows, part·rows..., correct}, on the device
    std::vector<double> lastReport;
    std::int64_t reportedSamples = 0;
    std::int64_t samples = 0;
    Clock::time_point windowStart = Clock::now();
    double trainSeconds = 0.0;          // paused time excluded
};

class StageRun {
public:
    StageRun(StageEnvironment &env, const StageJob &job);
    StageResult run();

private:
    StageInfo applyThreadPlan();
    void start();
    void resumeFromCheckpoint();
    // One epoch's steps; false when a stop came before it ended.
    bool trainEpoch(EpochSums &sums);
    bool betweenSteps(EpochSums &sums);
    torch::Tensor globalSums(const torch::Tensor &acc);
    void report(EpochSums &sums);
    void finishEpoch(EpochSums &sums, Clock::time_point epochStart);
    void checkWeightsFinite(int epoch);
    void saveBest();
    [[noreturn]] void fail(const std::exception &e);

    StageEnvironment &env_;
    const StageJob &job_;
    const std::string stage_;
    const Clock::time_point stageStart_ = Clock::now();
    StageResult r_;
    at::Generator shuffle_;
    torch::nn::Module *adapters_ = nullptr; // the method's, or null
    std::optional<LiveSettings> live_;      // the distillation stage's T, α and parameters
    std::unique_ptr<torch::optim::Optimizer> optimizer_;
    torch::Tensor cache_;
    ModelOutputs features_;                 // the teacher's logits and features, when cached
    std::unique_ptr<StepContext> context_;
    std::unique_ptr<DataParallel> parallel_; // over several processes; null for one
    std::optional<LossScaler> scaler_;      // precision fp16
    std::vector<std::string> partNames_;
    std::int64_t nAcc_ = 0;
    std::vector<torch::Tensor> best_;
    double bestScore_ = -1.0;
    std::int64_t globalStep_ = 0;
    double previousSeconds_ = 0.0;      // of the sessions before a resume
    int firstEpoch_ = 1;
    const fs::path statePath_;
    const fs::path bestPath_;           // the kept model: the best epoch's
    DynamicsRecorder dynamics_;         // analysis/<stage>.dynamics
};

StageRun::StageRun(StageEnvironment &env, const StageJob &job)
    : env_(env), job_(job), stage_(stageName(job.info.kind)),
      statePath_(env.recorder.dir() / "checkpoints" / (stage_ + ".state.pt")),
      bestPath_(env.recorder.dir() / "checkpoints" / (stage_ + ".pt")),
      dynamics_(env.recorder.dir() / "analysis" / (stage_ + ".dynamics"), job.split, job.trainRows)
{
    r_.kind = job.info.kind;
    env_.recorder.currentStage = stage_;
    torch::manual_seed(job.initSeed); // dropout draws of this stage
    shuffle_ = at::detail::createCPUGenerator(job.shuffleSeed);
    // A method's own learned parts (a FitNets regressor) train with the student.
    job.method.setTrainingLabels(job.split.y);
    adapters_ = job.method.prepare(env.device);
    auto parameters = job.model->parameters();
    if (adapters_)
        for (auto &p : adapters_->parameters())
            parameters.push_back(p);
    optimizer_ = makeOptimizer(parameters, job.train);
    if (job.info.kind == StageKind::Distillation)
        live_.emplace(env.exp.distillation, job.method, env.recorder, env.control, job.info.kind, job.train.epochs);
    partNames_ = job.method.partNames();
    nAcc_ = std::int64_t(partNames_.size()) + 2; // total, parts..., correct
}

// The teacher's logits are computed once for the whole split, not per batch:
// exact only when the student sees the inputs unchanged, so a stage with
// augmentation runs the teacher on each batch as the student sees it, unless
// the experiment accepts the approximation (teacherCacheChoice).
bool usesCache(const StageEnvironment &env, const StageJob &job)
{
    const auto &k = env.exp.distillation;
    return job.method.needsTeacher() && job.teacher && !job.teacherFeatures && k.teacherCache &&
           (!augmentsInputs(job.train) || k.approximateCache);
}

// Feature methods: the frozen teacher's logits and features computed once,
// on the same terms as the logits, when they fit in feature_cache_mb.
bool usesFeatureCache(const StageEnvironment &env, const StageJob &job)
{
    const auto &k = env.exp.distillation;
    if (!job.teacherFeatures || !k.teacherCache || (augmentsInputs(job.train) && !k.approximateCache))
        return false;
    double floats = double(env.data.summary.classes);
    for (const auto &t : job.method.teacherTaps()) {
        double n = 1;
        for (auto d : t.shape)
            n *= double(d);
        floats += n;
    }
    return floats * 4.0 * double(job.split.size()) <= k.featureCacheMb * 1024.0 * 1024.0;
}

// Splits the cores between LibTorch's and OpenBLAS's threads for this stage's
// model (see planThreads), unless the experiment fixes BLAS threads.
StageInfo StageRun::applyThreadPlan()
{
    StageInfo started = job_.info;
    const Shape &shape = env_.data.summary.inputShape;
    const int classes = env_.data.summary.classes;
    const auto report = analyseArchitecture(job_.model->architecture(), shape, classes);
    r_.parameters = report.parameters;
    r_.multiplyAdds = report.multiplyAdds;
    auto [linear, conv] = linearAndConvMultiplyAdds(job_.model->architecture(), report);
    if (job_.teacher && !usesCache(env_, job_) && !usesFeatureCache(env_, job_) && !job_.teacherLayers.empty()) {
        const auto [teacherLinear, teacherConv] = linearAndConvMultiplyAdds(
            job_.teacherLayers, analyseArchitecture(job_.teacherLayers, shape, classes));
        linear += teacherLinear;
        conv += teacherConv;
    }
    ThreadPlan plan = detail::planThreads(linear, conv, effectiveThreads(env_.exp.threads));
    if (env_.exp.blasThreads > 0)
        plan.blas = env_.exp.blasThreads; // the experiment fixes OpenBLAS's share
    const bool cached = usesCache(env_, job_) || usesFeatureCache(env_, job_);
    if (job_.method.needsTeacher() && job_.teacher)
        started.teacherCache = !cached ? "off" : augmentsInputs(job_.train) ? "approximate" : "exact";
    started.torchThreads = plan.torch;
    started.blasThreads = applyThreads(plan) ? plan.blas : 0;
    r_.blasThreads = started.blasThreads;
    return started;
}

void StageRun::start()
{
    const StageInfo started = applyThreadPlan();
    // After the threads are set: the cache's last bits depend on them, and a
    // resumed stage must compute the same cache as an uninterrupted one.
    if (usesCache(env_, job_))
        cache_ = teacherLogits(job_.teacher, job_.split, env_.precision());
    if (usesFeatureCache(env_, job_))
        features_ = teacherOutputs(job_.teacherFeatures, job_.method.teacherTaps(), job_.split,
                                   env_.precision());
    context_ = std::make_unique<StepContext>(StepContext{job_.model, *optimizer_, job_.method, job_.teacher, cache_,
                                                         job_.split, env_.precision(), &job_.train,
                                                         blackPixel(env_.data), env_.data.summary.classes,
                                                         job_.teacherFeatures,
                                                         features_.logits.defined() ? &features_ : nullptr});
    context_->dynamics = &dynamics_;
    if (env_.precision() == Precision::Float16)
        context_->scaler = &scaler_.emplace();
    if (env_.comm) {
        if (env_.exp.distributed.syncBatchNorm)
            checkSyncBatchNormRows(stage_, lastBatchRows(job_.split.size(), job_.train.batchSize), env_.comm->size());
        parallel_ = std::make_unique<DataParallel>(*env_.comm, *job_.model, adapters_, *optimizer_,
                                                   env_.exp.distributed.syncBatchNorm);
        context_->reducer = &parallel_->reducer();
        context_->rank = parallel_->rank();
        context_->ranks = parallel_->size();
    }
    // A stage resumed mid-way has its start in the file already.
    env_.recorder.stageStarted(started, !env_.resume.midStage(job_.info.kind));
    if (env_.resume.midStage(job_.info.kind))
        resumeFromCheckpoint();
    if (live_ && env_.resume.active && env_.resume.stage == job_.info.kind)
        live_->replay(env_.resume.changes, env_.resume.midStage(job_.info.kind), globalStep_);
}

// The epoch's running sums over every process's rows (for the reports); the
// tensor itself holds this process's.
torch::Tensor StageRun::globalSums(const torch::Tensor &acc)
{
    return parallel_ ? parallel_->globalSums(acc) : acc.cpu();
}

// The stage continues after its last checkpointed epoch, with the model,
// optimiser, random-number states and best model as they were.
void StageRun::resumeFromCheckpoint()
{
    const StageProgress p = loadStageState(statePath_, job_.model, *optimizer_, shuffle_, best_, adapters_);
    firstEpoch_ = p.epoch + 1;
    globalStep_ = p.globalStep;
    bestScore_ = p.bestScore;
    r_.bestEpoch = p.bestEpoch;
    r_.bestValAccuracy = p.bestValAccuracy;
    r_.testAccuracy = p.testAccuracy;
    r_.finalTestAccuracy = p.finalTestAccuracy;
    r_.epochsDone = p.epoch;
    previousSeconds_ = p.seconds;
    if (scaler_)
        scaler_.emplace(p.lossScale);
    dynamics_.resume(p.epoch);
    env_.recorder.replay(env_.resume.kept, job_.info.kind);
}

void StageRun::report(EpochSums &sums)
{
    const auto acc = globalSums(sums.acc);
    const double *v = acc.data_ptr<double>();
    const double samples = double(sums.samples - sums.reportedSamples);
    StepMetrics m;
    m.stage = job_.info.kind;
    m.epoch = sums.epoch;
    m.step = globalStep_;
    m.totalSteps = job_.info.stepsPerEpoch * job_.train.epochs;
    m.loss = (v[0] - sums.lastReport[0]) / samples;
    for (std::size_t i = 0; i < partNames_.size(); ++i)
        m.parts.emplace_back(partNames_[i], (v[i + 1] - sums.lastReport[i + 1]) / samples);
    m.learningRate = optimizer_->param_groups()[0].options().get_lr();
    const double dt = secondsSince(sums.windowStart);
    sums.trainSeconds += dt;
    m.samplesPerSecond = dt > 0 ? samples / dt : 0.0;
    if (!std::isfinite(m.loss))
        throw std::runtime_error(
            stage_ + " stage, epoch " + std::to_string(sums.epoch) + ", step " + std::to_string(globalStep_) +
            ": the loss is not finite (NaN or infinity). Likely causes: a learning rate too high (" +
            std::to_string(m.learningRate) + "), or a temperature so small that large logits overflow.");
    sums.lastReport.assign(v, v + nAcc_);
    sums.reportedSamples = sums.samples;
    env_.recorder.stepReported(m);
    sums.windowStart = Clock::now();
}

// Agreement and KL with the teacher (at T = 1 and at the run's temperature)
// and ECE on the validation split, from the logits the evaluation computed.
void liveFidelity(EpochMetrics &e, const torch::Tensor &logits, const Split &validation,
                  const torch::Tensor &teacherLogits, double temperature)
{
    if (!logits.defined() || logits.dim() != 2 || logits.size(0) == 0)
        return;
    const LogitsView model{logits.data_ptr<float>(), logits.size(0), logits.size(1)};
    const auto labels = validation.y.to(torch::kCPU).contiguous();
    e.valEce = calibration(model, labels.data_ptr<std::int64_t>()).ece;
    if (!teacherLogits.defined() || teacherLogits.sizes() != logits.sizes())
        return;
    const LogitsView teacher{teacherLogits.data_ptr<float>(), teacherLogits.size(0), teacherLogits.size(1)};
    e.valAgreement = agreement(teacher, model);
    e.valKl = meanKl(teacher, model, 1.0);
    e.valKlAtT = meanKl(teacher, model, temperature);
}

// The kept model's logits when its best epoch came before a resume: the same
// evaluation as then, under the same thread plan, so the same numbers.
void keepBestLogits(StageEnvironment &env, const StageJob &job)
{
    const Eval val = evaluate(job.model, env.data.validation, env.device, env.precision(), true);
    const Eval test = evaluate(job.model, env.data.test, env.device, env.precision(), true);
    env.kept = KeptLogits{job.info.kind, val.logits, test.logits};
}

// Pause and stop between two steps (over several processes, as they agree).
// True when training stops.
bool StageRun::betweenSteps(EpochSums &sums)
{
    const auto pausedChanged = [this](bool paused) { env_.recorder.pausedChanged(paused); };
    bool waited = false;
    const bool stop = parallel_ ? parallel_->betweenSteps(env_.control, pausedChanged, waited)
                                : env_.control.betweenSteps(pausedChanged, &waited);
    if (waited)
        sums.windowStart = Clock::now(); // paused time is not training time
    return stop;
}

bool StageRun::trainEpoch(EpochSums &sums)
{
    const std::int64_t n = job_.split.size();
    const std::int64_t bs = std::min<std::int64_t>(job_.train.batchSize, n);
    const std::int64_t steps = job_.info.stepsPerEpoch;
    job_.model->train();
    job_.method.setEpoch(sums.epoch); // a method's warm-up follows the stage's epochs
    dynamics_.beginEpoch();
    auto perm = torch::randperm(n, shuffle_, torch::kInt64).to(env_.device);
    sums.acc = torch::zeros({nAcc_}, torch::TensorOptions().dtype(torch::kFloat64).device(env_.device));
    sums.lastReport.assign(std::size_t(nAcc_), 0.0);
    sums.windowStart = Clock::now();
    if (parallel_)
        parallel_->seedEpoch(job_.initSeed, sums.epoch);
    // The time this process waited in collectives during the steps (their
    // reports included, as in the epoch's training seconds).
    const double waitedBefore = env_.comm ? env_.comm->waitSeconds() : 0.0;
    const auto waited = [&] { r_.collectiveSeconds += env_.comm ? env_.comm->waitSeconds() - waitedBefore : 0.0; };
    for (std::int64_t b = 0; b < steps; ++b) {
        if (betweenSteps(sums)) {
            waited();
            return false;
        }
        const double progress = (sums.epoch - 1) + double(b) / double(steps); // in epochs
        if (live_)
            live_->beforeStep(sums.epoch, globalStep_, progress);
        ++globalStep_;
        const double lr = learningRate(job_.train, progress);
        for (auto &group : optimizer_->param_groups())
            group.options().set_lr(lr);

        auto idx = perm.slice(0, b * bs, std::min(n, (b + 1) * bs));
        trainStep(*context_, idx, sums.acc);
        sums.samples += idx.size(0);
        if ((b + 1) % env_.exp.logEverySteps == 0 || b + 1 == steps)
            report(sums);
    }
    waited();
    return true;
}

void StageRun::checkWeightsFinite(int epoch)
{
    torch::NoGradGuard guard;
    for (const auto &p : job_.model->parameters())
        if (!torch::isfinite(p).all().item<bool>())
            throw std::runtime_error(stage_ + " stage, epoch " + std::to_string(epoch) +
                                     ": the weights are not finite (NaN or infinity). Likely causes: a "
                                     "learning rate too high, or a temperature so small that large logits "
                                     "overflow.");
}

void StageRun::finishEpoch(EpochSums &sums, Clock::time_point epochStart)
{
    checkWeightsFinite(sums.epoch);
    const auto acc = globalSums(sums.acc);
    if (parallel_)
        parallel_->beforeEvaluation(*job_.model, dynamics_);
    const double *v = acc.data_ptr<double>();
    const double samples = double(sums.samples);
    EpochMetrics e;
    e.stage = job_.info.kind;
    e.epoch = sums.epoch;
    e.epochs = job_.train.epochs;
    e.step = globalStep_;
    e.trainLoss = v[0] / samples;
    for (std::size_t i = 0; i < partNames_.size(); ++i)
        e.trainParts.emplace_back(partNames_[i], v[i + 1] / samples);
    e.trainAccuracy = v[nAcc_ - 1] / samples;
    e.learningRate = optimizer_->param_groups()[0].options().get_lr();
    e.samplesPerSecond = sums.trainSeconds > 0 ? samples / sums.trainSeconds : 0.0;
    const Eval val = evaluate(job_.model, env_.data.validation, env_.device, env_.precision(), true);
    const Eval test = evaluate(job_.model, env_.data.test, env_.device, env_.precision(), true);
    liveFidelity(e, val.logits, env_.data.validation, job_.fidelity ? env_.teacherValidation : torch::Tensor(),
                 env_.exp.distillation.temperature);
    e.valLoss = val.loss;
    e.valAccuracy = val.accuracy;
    e.testLoss = test.loss;
    e.testAccuracy = test.accuracy;
    // Model selection on validation accuracy; without a validation split the
    // last epoch is the one kept.
    const double score = std::isfinite(val.accuracy) ? val.accuracy : double(sums.epoch);
    if (score > bestScore_) {
        bestScore_ = score;
        best_ = snapshot(*job_.model);
        r_.bestEpoch = sums.epoch;
        r_.bestValAccuracy = val.accuracy;
        r_.testAccuracy = test.accuracy;
        env_.kept = KeptLogits{job_.info.kind, val.logits, test.logits}; // the analysis needs no second pass
        e.best = true;
    }
    r_.finalTestAccuracy = test.accuracy;
    r_.epochsDone = sums.epoch;
    r_.trainSeconds += sums.trainSeconds;
    dynamics_.endEpoch(); // before the checkpoint: a resume keeps the epochs up to it
    e.seconds = secondsSince(epochStart);
    env_.recorder.epochFinished(e);
    const StageProgress progress{sums.epoch,    globalStep_,          bestScore_,
                                 r_.bestEpoch,  r_.bestValAccuracy,   r_.testAccuracy,
                                 r_.finalTestAccuracy, previousSeconds_ + secondsSince(stageStart_),
                                 scaler_ ? scaler_->state() : LossScaleState{}};
    saveStageState(statePath_, job_.model, *optimizer_, shuffle_, best_, progress, adapters_);
    if (job_.info.kind == StageKind::Distillation && env_.exp.keepEpochStates)
        keepEpochState(statePath_, sums.epoch); // a fork may start from this epoch
}

// Leaves the best epoch's weights in the model and saves them as checkpoints/<stage>.pt.
void StageRun::saveBest()
{
    if (!best_.empty())
        detail::restore(*job_.model, best_);
    job_.model->eval();
    if (r_.epochsDone == 0)
        return;
    torch::serialize::OutputArchive archive;
    job_.model->save(archive);
    saveArchive(archive, bestPath_);
    r_.checkpoint = bestPath_.string();
}

// The stage cannot go on (non-finite loss, a write that failed, memory): what
// it learnt up to its best epoch is kept where it can be used.
void StageRun::fail(const std::exception &e)
{
    std::string message = errorText(e);
    const bool outOfMemory = dynamic_cast<const std::bad_alloc *>(&e) != nullptr;
    r_.status = RunStatus::Failed;
    r_.seconds = previousSeconds_ + secondsSince(stageStart_);
    if (r_.epochsDone > 0 && !outOfMemory) {
        try {
            saveBest();
            message += " The best model so far (epoch " + std::to_string(r_.bestEpoch) + ") is kept in " +
                       bestPath_.string() + ".";
            env_.recorder.write(eventJson(r_));
        } catch (const std::exception &) {
            // The disk or folder that failed the stage fails this too; the
            // epoch checkpoints already written are left as they were.
        }
    }
    env_.recorder.result().stages.push_back(r_);
    if (outOfMemory)
        throw; // fail() runs inside the handler: the allocation failure itself goes on
    throw std::runtime_error(message);
}

StageResult StageRun::run()
{
    start();
    bool stopped = false;
    try {
        for (int epoch = firstEpoch_; epoch <= job_.train.epochs && !stopped; ++epoch) {
            const auto epochStart = Clock::now();
            EpochSums sums;
            sums.epoch = epoch;
            stopped = !trainEpoch(sums);
            if (stopped) {
                // A partly trained epoch is not evaluated; keep what was reported.
                if (sums.samples > sums.reportedSamples)
                    report(sums);
                break;
            }
            finishEpoch(sums, epochStart);
        }
    } catch (const std::exception &e) {
        fail(e);
    }
    saveBest();
    if (!stopped && r_.epochsDone > 0 && !env_.kept.test.defined())
        keepBestLogits(env_, job_); // its best epoch came before a resume
    r_.status = stopped ? RunStatus::Stopped : RunStatus::Finished;
    r_.seconds = previousSeconds_ + secondsSince(stageStart_);
    if (scaler_) {
        r_.skippedSteps = scaler_->state().skippedSteps;
        r_.lossScale = scaler_->state().scale;
    }
    return r_;
}

} // namespace

StageResult runStage(StageEnvironment &env, const StageJob &job)
{
    env.kept = KeptLogits{job.info.kind, {}, {}};
    return StageRun(env, job).run();
}

} // namespace distillery::detail
