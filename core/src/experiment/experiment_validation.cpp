// The checks of an experiment's values: ranges and consistency, without
// touching data or files.
#include "distillery/experiment.h"

#include "distillery/methods.h"
#include "experiment/field_error.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

namespace distillery {

namespace {

using detail::plainNumber;

void checkTrain(const TrainConfig &t, const std::string &path, const std::string &origin)
{
    auto fail = [&](const std::string &field, const std::string &msg) { detail::throwFieldError(origin, field, msg); };
    auto f = [&](const char *k) { return path + "." + k; };
    if (t.epochs < 1)
        fail(f("epochs"), "must be >= 1 (got " + std::to_string(t.epochs) + ")");
    if (t.batchSize < 1)
        fail(f("batch_size"), "must be >= 1 (got " + std::to_string(t.batchSize) + ")");
    static const std::vector<std::string> optimizers{"sgd", "adam", "adamw"};
    if (std::find(optimizers.begin(), optimizers.end(), t.optimizer) == optimizers.end()) {
        const auto n = nearestName(t.optimizer, optimizers);
        fail(f("optimizer"), "unknown optimizer '" + t.optimizer + "'" +
                                 (n.empty() ? " (sgd, adam or adamw)" : "; did you mean '" + n + "'?"));
    }
    if (!(t.lr > 0) || !std::isfinite(t.lr))
        fail(f("lr"), "must be > 0 (got " + plainNumber(t.lr) + ")");
    if (!(t.momentum >= 0 && t.momentum < 1))
        fail(f("momentum"), "must be in [0, 1) (got " + plainNumber(t.momentum) + ")");
    if (t.nesterov && t.optimizer == "sgd" && t.momentum == 0)
        fail(f("nesterov"), "needs momentum > 0");
    if (!(t.weightDecay >= 0))
        fail(f("weight_decay"), "must be >= 0");
    static const std::vector<std::string> schedules{"constant", "step", "cosine"};
    if (std::find(schedules.begin(), schedules.end(), t.schedule) == schedules.end()) {
        const auto n = nearestName(t.schedule, schedules);
        fail(f("schedule"), "unknown schedule '" + t.schedule + "'" +
                                (n.empty() ? " (constant, step or cosine)" : "; did you mean '" + n + "'?"));
    }
    if (!(t.warmupEpochs >= 0) || t.warmupEpochs > t.epochs)
        fail(f("warmup_epochs"), "must be between 0 and the number of epochs");
    if (t.stepEpochs < 1)
        fail(f("step_epochs"), "must be >= 1");
    if (!(t.gamma > 0 && t.gamma <= 1))
        fail(f("gamma"), "must be in (0, 1]");
    if (!(t.maxNorm >= 0) || !std::isfinite(t.maxNorm))
        fail(f("max_norm"), "must be >= 0 (0: off; got " + plainNumber(t.maxNorm) + ")");
    if (t.jitter < 0 || t.jitter > 16)
        fail(f("jitter"), "must be between 0 (off) and 16 pixels (got " + std::to_string(t.jitter) + ")");
    if (t.crop < 0 || t.crop > 64)
        fail(f("crop"), "must be between 0 (off) and 64 pixels of padding (got " + std::to_string(t.crop) + ")");
    if (!(t.erase >= 0 && t.erase <= 1))
        fail(f("erase"), "is a probability, between 0 (off) and 1 (got " + plainNumber(t.erase) + ")");
    for (auto [key, a] : {std::pair{"mixup", t.mixup}, std::pair{"cutmix", t.cutmix}})
        if (!(a >= 0 && a <= 100))
            fail(f(key), "is the a of Beta(a, a): between 0 (off) and 100; 0.2 to 1 is usual (got " + plainNumber(a) + ")");
}

// Born-again generations: a chain of runs, each taught by the last one's student.
template <typename Fail> void checkGenerations(const Experiment &e, const Fail &fail)
{
    const auto &k = e.distillation;
    if (k.generations < 1 || k.generations > 20)
        fail("distillation.generations", "must be between 1 and 20 (got " + std::to_string(k.generations) + ")");
    if (k.generation < 1 || k.generation > k.generations)
        fail("distillation.generation", "is this run's generation, between 1 and distillation.generations (" +
                                            std::to_string(k.generations) + "; got " + std::to_string(k.generation) + ")");
    if (k.generation > 1 && (e.teacher.source != "run" || e.teacher.stage != "student"))
        fail("distillation.generation", "a generation after the first is taught by the last generation's "
                                        "student: teacher.source 'run' with teacher.stage 'student' (got source '" +
                                            e.teacher.source + "', stage '" + e.teacher.stage + "')");
    if (k.generations == 1)
        return;
    if (trainsWithoutTeacher(k))
        fail("distillation.generations", "born-again generations distil each generation from the last one's "
                                         "student; " + k.method + " has no teacher to replace");
    if (!e.teachers.empty())
        fail("distillation.generations", "born-again generations have one teacher each, the last generation's "
                                         "student; leave out \"teachers\"");
    if (e.distributed.processes > 1)
        fail("distillation.generations", "born-again generations run in one process for now (distributed."
                                         "processes is " + std::to_string(e.distributed.processes) + ")");
}

void checkDistillation(const Experiment &e, const std::string &origin)
{
    auto fail = [&](const std::string &field, const std::string &msg) { detail::throwFieldError(origin, field, msg); };
    const auto &k = e.distillation;
    if (const auto problem = methodSettingsProblem(k))
        fail(problem->first, problem->second);
    if (const auto problem = scheduleProblem(k))
        fail(problem->first, problem->second);
    if (!(k.featureCacheMb >= 0) || !std::isfinite(k.featureCacheMb))
        fail("distillation.feature_cache_mb", "must be >= 0 MiB (0: never; got " + plainNumber(k.featureCacheMb) + ")");
    if (!(k.temperature > 0) || !std::isfinite(k.temperature))
        fail("distillation.temperature", "must be > 0 (got " + plainNumber(k.temperature) + ")");
    if (!(k.alpha >= 0 && k.alpha <= 1))
        fail("distillation.alpha", "must be in [0, 1] (got " + plainNumber(k.alpha) + ")");
    checkGenerations(e, fail);
    if (k.method == "crd" && e.distributed.processes > 1)
        fail("distillation.method", "crd keeps a memory of every training row that each batch updates; over "
                                    "several processes each would keep its own, so crd runs in one process "
                                    "(distributed.processes is " + std::to_string(e.distributed.processes) + ")");
}

// Where the teacher comes from: its source and what that source needs.
void checkTeacherSource(const TeacherConfig &t, const std::string &path, const std::string &origin)
{
    auto fail = [&](const std::string &field, const std::string &msg) { detail::throwFieldError(origin, field, msg); };
    if (t.source != "train" && t.source != "run" && t.source != "torchscript")
        fail(path + ".source", "must be 'train', 'run' or 'torchscript' (got '" + t.source + "')");
    if (t.source == "torchscript" && t.path.empty())
        fail(path + ".path", "the TorchScript file (saved by torch.jit.save) is required with source 'torchscript'");
    if (t.input != "raw" && t.input != "normalised")
        fail(path + ".input", "must be 'raw' or 'normalised' (got '" + t.input + "')");
    if (t.source == "run" && t.run.empty())
        fail(path + ".run", "the folder of the earlier run whose teacher to reuse is required with source 'run'");
    if (t.stage != "teacher" && t.stage != "student")
        fail(path + ".stage", "must be 'teacher' (the earlier run's teacher) or 'student' (its distilled student) "
                              "(got '" + t.stage + "')");
    if (t.stage != "teacher" && t.source != "run")
        fail(path + ".stage", "chooses which model of an earlier run teaches, so it needs source 'run' (got "
                              "source '" + t.source + "')");
}

// Several teachers: each further one reused or imported, the weights >= 0
// and not all 0, and a method that averages probabilities (kd).
void checkTeachers(const Experiment &e, const std::string &origin)
{
    auto fail = [&](const std::string &field, const std::string &msg) { detail::throwFieldError(origin, field, msg); };
    double sum = 0;
    for (std::size_t i = 0; i <= e.teachers.size(); ++i) {
        const TeacherConfig &t = i == 0 ? e.teacher : e.teachers[i - 1];
        const std::string path = i == 0 ? "teacher" : "teachers[" + std::to_string(i - 1) + "]";
        if (i > 0 && t.source != "run" && t.source != "torchscript")
            fail(path + ".source", "a further teacher is reused from an earlier run ('run', with \"run\": its "
                                   "folder) or imported ('torchscript'); only the first teacher (\"teacher\") is "
                                   "trained in the run, so train the others in runs of their own first (got '" +
                                   t.source + "')");
        if (i > 0)
            checkTeacherSource(t, path, origin);
        if (!(t.weight >= 0) || !std::isfinite(t.weight))
            fail(path + ".weight", "must be >= 0 (got " + plainNumber(t.weight) + ")");
        sum += t.weight;
    }
    if (e.teachers.empty())
        return;
    if (!(sum > 0))
        fail("teachers", "the teachers' weights are all 0; at least one must be > 0");
    if (e.distillation.method != "kd")
        fail("distillation.method", "several teachers (teachers) are distilled with kd, whose target is the "
                                    "weighted average of their probabilities; " + e.distillation.method +
                                    " takes one teacher");
}

} // namespace

std::vector<double> teacherWeights(const Experiment &e)
{
    if (e.teachers.empty())
        return {1.0};
    std::vector<double> w{e.teacher.weight};
    for (const auto &t : e.teachers)
        w.push_back(t.weight);
    double sum = 0;
    for (double x : w)
        sum += x;
    for (double &x : w)
        x /= sum;
    return w;
}

namespace {

// The processes of one run: each takes a share of every batch, so every
// batch must have a row for each.
void checkDistributed(const Experiment &e, const std::string &origin)
{
    auto fail = [&](const std::string &field, const std::string &msg) { detail::throwFieldError(origin, field, msg); };
    const auto &d = e.distributed;
    if (d.processes < 1 || d.processes > 1024)
        fail("distributed.processes", "must be between 1 and 1024 (got " + std::to_string(d.processes) + ")");
    if (d.backend != "auto" && d.backend != "gloo" && d.backend != "nccl")
        fail("distributed.backend", "must be auto, gloo or nccl (got '" + d.backend + "')");
    if (d.timeoutSeconds < 1)
        fail("distributed.timeout_seconds", "must be >= 1 (got " + std::to_string(d.timeoutSeconds) + ")");
    if (d.backend == "nccl" && e.device == "cpu")
        fail("distributed.backend", "nccl runs on CUDA devices, and device is cpu (use gloo or auto)");
    const std::pair<const char *, const TrainConfig *> stages[] = {{"teacher.train.batch_size", &e.teacher.train},
                                                                    {"student.train.batch_size", &e.studentTrain}};
    for (const auto &[field, train] : stages)
        if (train->batchSize < d.processes && (train != &e.teacher.train || e.teacher.source == "train"))
            fail(field, "is " + std::to_string(train->batchSize) + ", fewer rows than distributed.processes (" +
                            std::to_string(d.processes) + "): every process needs a share of each batch");
}

} // namespace

void validateExperiment(const Experiment &e, const std::string &origin)
{
    auto fail = [&](const std::string &field, const std::string &msg) { detail::throwFieldError(origin, field, msg); };
    if (e.version != 1)
        fail("version", "this Distillery reads version 1 experiment files (got " + std::to_string(e.version) + ")");
    if (e.name.empty())
        fail("name", "must not be empty");
    static const std::vector<std::string> devices{"auto", "cpu", "cuda"};
    if (std::find(devices.begin(), devices.end(), e.device) == devices.end())
        fail("device", "must be auto, cpu or cuda (got '" + e.device + "')");
    if (e.precision != "fp32" && e.precision != "bf16" && e.precision != "fp16")
        fail("precision", "must be fp32, bf16 or fp16 (got '" + e.precision + "')");
    if (e.threads < 0)
        fail("threads", "must be >= 0 (0: all cores)");
    if (e.blasThreads < 0)
        fail("blas_threads", "must be >= 0 (0: chosen per stage from the model)");
    if (e.logEverySteps < 1)
        fail("log_every_steps", "must be >= 1");
    checkDistributed(e, origin);
    const auto &d = e.data;
    if (!(d.validationFraction >= 0 && d.validationFraction < 1))
        fail("data.validation_fraction", "must be in [0, 1) (got " + plainNumber(d.validationFraction) + ")");
    if (d.trainLimit < 0)
        fail("data.train_limit", "must be >= 0 (0: all)");
    if (d.studentTrainSize < 0)
        fail("data.student_train_size", "must be >= 0 (0: all)");
    for (int c : d.omitClasses)
        if (c < 0)
            fail("data.omit_classes", "class indices start at 0 (got " + std::to_string(c) + ")");
    if (d.omittedBiasShift && !(*d.omittedBiasShift >= 0 && std::isfinite(*d.omittedBiasShift)))
        fail("data.omitted_bias_shift", "must be >= 0, or \"auto\" (got " + plainNumber(*d.omittedBiasShift) + ")");
    if (d.cifar100Labels != "fine" && d.cifar100Labels != "coarse")
        fail("data.cifar100_labels", "must be 'fine' (100 classes) or 'coarse' (20 superclasses) (got '" +
                                         d.cifar100Labels + "')");
    if (d.color != "auto" && d.color != "grayscale" && d.color != "rgb")
        fail("data.color", "must be auto (as the first image), grayscale or rgb (got '" + d.color + "')");
    if (d.imageWidth < 0 || d.imageHeight < 0 || d.imageWidth > 4096 || d.imageHeight > 4096 ||
        (d.imageWidth == 0) != (d.imageHeight == 0))
        fail("data.image_size", "must be [height, width] between 1 and 4096 pixels each (got [" +
                                    std::to_string(d.imageHeight) + ", " + std::to_string(d.imageWidth) + "])");
    if (d.syntheticTrain < 10 || d.syntheticTest < 1)
        fail("data.synthetic_train", "synthetic data needs at least 10 training and 1 test samples");
    if (d.syntheticClasses < 2 || d.syntheticClasses > 100)
        fail("data.synthetic_classes", "must be between 2 and 100");
    if (d.syntheticFeatures < 2 || d.syntheticFeatures > 256)
        fail("data.synthetic_features", "must be between 2 and 256");
    checkTeacherSource(e.teacher, "teacher", origin);
    checkTeachers(e, origin);
    if (!e.baselineRun.empty() && !e.baseline)
        fail("baseline_run", "takes over an earlier run's baseline, and this experiment has none (baseline false)");
    if (e.teacher.source == "train")
        checkTrain(e.teacher.train, "teacher.train", origin);
    checkTrain(e.studentTrain, "student.train", origin);
    checkDistillation(e, origin);
    for (const auto *m : {&e.teacher.model, &e.student}) {
        const std::string path = m == &e.student ? "student.model" : "teacher.model";
        if (!(m->dropout >= 0 && m->dropout < 1))
            fail(path + ".dropout", "must be in [0, 1)");
        for (std::size_t i = 0; i < m->layers.size(); ++i) {
            const auto &l = m->layers[i];
            if (l.type == "dropout" && !(l.p >= 0 && l.p < 1))
                fail(path + ".layers[" + std::to_string(i) + "].p", "must be in [0, 1)");
        }
    }
}

} // namespace distillery
