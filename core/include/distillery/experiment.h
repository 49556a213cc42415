// The experiment: everything that defines one distillation run, as plain values.
// The same structure is read from and written to the experiment JSON file that
// the desktop application and distillery-run share (see docs/EXPERIMENT.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace distillery {

// Thrown for anything wrong with an experiment file or value. The message names
// the file (when there is one) and the field, e.g.
//   "quick.json: distillation.temperature: must be > 0 (got -1)".
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One layer of an architecture. Which fields matter depends on the type:
//   linear          out, bias
//   conv2d          out, kernel, stride, padding (-1: "same" for odd kernels), bias
//   batchnorm       (channels/features from the input)
//   relu, gelu, flatten, global-avgpool
//   dropout         p
//   maxpool/avgpool kernel, stride (0: same as kernel)
//   residual        out, stride: a basic residual block (two 3x3 conv+batchnorm,
//                   with a 1x1 projection when the shape changes)
struct LayerSpec {
    std::string type;
    std::int64_t out = 0;
    int kernel = 0;
    int stride = 0;
    int padding = -1;
    double p = 0.5;
    bool bias = true;
    std::string tap;                    // names this layer's output for feature methods ("" none)

    bool operator==(const LayerSpec &o) const;
};
using Architecture = std::vector<LayerSpec>;

// A model as the user wrote it: a named preset (with its options) or an explicit
// layer list. After resolve(), `layers` always holds the exact layers.
struct ModelSpec {
    std::string preset;                 // empty when layers are given directly
    std::vector<std::int64_t> hidden;   // options of the `mlp` preset
    double dropout = 0.0;               // dropout after each hidden layer (mlp presets)
    Architecture layers;
};

struct TrainConfig {
    int epochs = 5;
    int batchSize = 128;
    std::string optimizer = "sgd";      // sgd | adam | adamw
    double lr = 0.05;
    double momentum = 0.9;
    bool nesterov = true;
    double weightDecay = 5e-4;
    std::string schedule = "cosine";    // constant | step | cosine
    double warmupEpochs = 0.0;          // linear warm-up, may be fractional
    int stepEpochs = 10;                // step schedule: decay every N epochs
    double gamma = 0.1;                 // step schedule: decay factor
    // Regularisers of dropout training (Hinton et al. 2012, 2015):
    double maxNorm = 0.0;               // each unit's incoming weight norm clipped to this after
                                        // every step (linear and convolution layers); 0: off
    int jitter = 0;                     // images shifted by up to this many pixels each way,
                                        // drawn per sample and step, zeros shifted in; 0: off
    // Augmentation of the stage's training inputs (images unless noted), drawn
    // per sample and step from the stage's seeded generator, in this order:
    int crop = 0;                       // random crop after padding each side by this many black
                                        // pixels (torchvision's RandomCrop(size, padding)); 0: off
    bool flip = false;                  // horizontal flip with probability 1/2
    double erase = 0.0;                 // random erasing with this probability (Zhong et al. 2020:
                                        // 2-33% of the area, aspect 0.3-3.3, set to the mean); 0: off
    double mixup = 0.0;                 // mixup (Zhang et al. 2018) with λ ~ Beta(a, a), images or
                                        // vectors; 0: off
    double cutmix = 0.0;                // CutMix (Yun et al. 2019) with λ ~ Beta(a, a); 0: off. With
                                        // mixup on too, each batch uses one of them, at even odds
};

struct DataConfig {
    // fashion-mnist | mnist | kmnist | idx | cifar10 | cifar100 | folder | csv
    // | synthetic-vectors | synthetic-images
    std::string source = "fashion-mnist";
    std::string path;                   // folder (idx, cifar10, cifar100, folder) or file (csv);
                                        // empty: the source's default
    std::string testPath;               // csv only: a separate test file (else a test split is held out)
    std::string labelColumn = "label";  // csv only: column name, or a 0-based index
    std::string cifar100Labels = "fine"; // cifar100 only: fine (100 classes) | coarse (20)
    // folder only: one subfolder per class of PNG/JPEG files, or train/ and
    // test/ folders each laid out that way.
    std::string color = "auto";         // auto (as the first image) | grayscale | rgb
    int imageWidth = 0, imageHeight = 0; // 0: the first image's size
    bool resize = true;                 // resize images of another size (else they are an error)
    double validationFraction = 0.1;    // of the training set, split with the data seed
    std::int64_t trainLimit = 0;        // use only the first N training samples (0: all)
    std::int64_t studentTrainSize = 0;  // transfer set: the students see only N class-balanced
                                        // training samples (0: all)
    std::uint64_t seed = 0;             // split and subset seed
    // Classes left out of the students' transfer set (the teacher still
    // learns them); the distilled student's output biases of these classes
    // are then raised (Hinton et al. 2015, section 3).
    std::vector<int> omitClasses;
    // By how much; unset: chosen on the validation split.
    std::optional<double> omittedBiasShift;
    // synthetic sources
    std::int64_t syntheticTrain = 4000;
    std::int64_t syntheticTest = 1000;
    int syntheticClasses = 4;
    int syntheticFeatures = 16;         // vectors: dimension; images: side length
};

// Which teacher feature a feature method matches with which student feature,
// by tap name (modelTaps in architecture.h lists a model's taps).
struct FeaturePair {
    std::string teacher;
    std::string student;
    bool operator==(const FeaturePair &o) const { return teacher == o.teacher && student == o.student; }
};

// A distillation setting that changes over the student's epochs: from `from`
// to `to` between `start` and `end` epochs into the stage (end 0: its last
// epoch), linearly or along a half cosine; `step` jumps to `to` at `start`;
// `constant` keeps `from`. Before `start` it is `from`, after `end` it is `to`.
struct ValueSchedule {
    std::string shape = "linear";       // constant | linear | cosine | step
    double from = 0.0, to = 0.0;
    double start = 0.0, end = 0.0;
    bool operator==(const ValueSchedule &o) const
    {
        return shape == o.shape && from == o.from && to == o.to && start == o.start && end == o.end;
    }
};

struct DistillConfig {
    std::string method = "kd";          // kd | dkd | dist: distillationMethods() in methods.h
    double temperature = 4.0;
    double alpha = 0.5;                 // kd: weight of the soft term
    // The method's own parameters by key (methods.h lists them with their
    // defaults, which apply to keys not given here).
    std::map<std::string, double> params;
    // Feature methods: the taps they match; empty for the method's default
    // pairing of the models' automatic taps (defaultPairs in methods.h).
    std::vector<FeaturePair> pairs;
    // Settings that follow a schedule in the distillation stage, by key:
    // "temperature", "alpha" or a parameter of the method (methods.h:
    // adjustableSettings). The schedule's value replaces the fixed one.
    std::map<std::string, ValueSchedule> schedules;
    bool teacherCache = true;           // compute the frozen teacher's logits once (exact only
                                        // when the students' inputs are not augmented)
    bool approximateCache = false;      // keep the cache even then: the teacher sees unaugmented
                                        // inputs (JSON: "teacher_cache": "approximate")
    double featureCacheMb = 2048;       // feature methods: the teacher's features are cached with its
                                        // logits when they fit in this many MiB (0: never)
    // Born-again generations (Furlanello et al. 2018): after this run, a run
    // per further generation whose teacher is the previous generation's
    // distilled student (teacher.source "run", teacher.stage "student"), each
    // student from scratch with the same settings. `generation` is this run's
    // place in the chain, from 1; Distillery sets it in the runs it starts.
    int generations = 1;
    int generation = 1;
};

struct TeacherConfig {
    std::string source = "train";       // train | run (reuse the teacher of an earlier run)
                                        // | torchscript (a model saved by torch.jit.save)
    std::string run;                    // source=run: the earlier run's folder
    std::string stage = "teacher";      // source=run: which of its models teaches: its teacher, or
                                        // its distilled "student" (born-again generations)
    std::string path;                   // source=torchscript: the .pt file
    std::string input = "raw";          // source=torchscript: what its forward expects: raw
                                        // (as read: pixels in [0, 1]) | normalised (as the students see)
    ModelSpec model;
    TrainConfig train;
    // Several teachers (Experiment::teachers): this teacher's share of the
    // distillation target, before the shares are normalised to sum to 1.
    double weight = 1.0;
};

// A setting a sweep draws at random: uniformly between min and max, or
// log-uniformly (log), rounded to a whole number (integer).
struct SweepRange {
    std::string key;                    // a dotted setting, e.g. "student.train.lr"
    double min = 0.0, max = 0.0;
    bool log = false;
    bool integer = false;
    bool operator==(const SweepRange &o) const
    {
        return key == o.key && min == o.min && max == o.max && log == o.log && integer == o.integer;
    }
};

// Many runs from one experiment (docs/SWEEPS.md): every combination of the
// grid's values, each with `randomCount` points drawn from the ranges, each
// for every seed. Empty: no sweep.
struct SweepSpec {
    // Setting (dotted, as --set takes it) and its values as JSON text, in key order.
    std::vector<std::pair<std::string, std::vector<std::string>>> grid;
    int randomCount = 0;
    std::uint64_t randomSeed = 1;
    std::vector<SweepRange> ranges;
    std::vector<std::uint64_t> seeds;   // empty: the experiment's seed alone
    bool active() const { return !grid.empty() || randomCount > 0 || !seeds.empty(); }
    bool operator==(const SweepSpec &o) const
    {
        return grid == o.grid && randomCount == o.randomCount && randomSeed == o.randomSeed && ranges == o.ranges &&
               seeds == o.seeds;
    }
};

// The sweep a run was made for and its point there, recorded in the run's
// config.json ("sweep_point") for the index and the sweep views.
struct SweepMembership {
    std::string sweep;                  // the sweep's folder name under <workspace>/sweeps/
    int point = -1;                     // -1: not part of a sweep
    std::uint64_t seed = 0;
    std::vector<std::pair<std::string, std::string>> settings; // what the point sets: key, JSON value
    bool operator==(const SweepMembership &o) const
    {
        return sweep == o.sweep && point == o.point && seed == o.seed && settings == o.settings;
    }
};

// The run and distillation epoch a fork continues from (distillery/fork.h).
struct ForkOrigin {
    std::string run;                    // the origin's run folder
    int epoch = 0;                      // 0: not a fork
    bool operator==(const ForkOrigin &o) const { return run == o.run && epoch == o.epoch; }
};

// One run trained data-parallel over several processes (docs/DISTRIBUTED.md).
struct DistributedConfig {
    // Processes this machine starts for the run (distillery-run --nproc N);
    // a job started by srun or with RANK/WORLD_SIZE takes its size from there.
    int processes = 1;
    std::string backend = "auto";       // auto (nccl on CUDA, gloo on the CPU) | gloo | nccl
    bool syncBatchNorm = false;         // batch statistics over every process's rows, not each one's own
    int timeoutSeconds = 60;            // a rank that does not take part in a collective for this long ends the run
    bool operator==(const DistributedConfig &o) const
    {
        return processes == o.processes && backend == o.backend && syncBatchNorm == o.syncBatchNorm &&
               timeoutSeconds == o.timeoutSeconds;
    }
};

struct Experiment {
    int version = 1;
    std::string name = "experiment";
    std::uint64_t seed = 1;
    std::string device = "auto";        // auto | cpu | cuda
    std::string precision = "fp32";     // fp32 | bf16 | fp16 (mixed: forward passes autocast to
                                        // bfloat16, or to float16 with a loss scale, docs/EXPERIMENT.md)
    int threads = 0;                    // CPU threads (0: all cores)
    int blasThreads = 0;                // OpenBLAS threads (0: chosen per stage from the size of
                                        // the model's products, see docs/PERFORMANCE.md)
    int logEverySteps = 50;             // step metrics reported every N steps
    DistributedConfig distributed;
    DataConfig data;
    TeacherConfig teacher;
    // Further teachers (multi-teacher KD, docs/METHODS.md): each reused from a
    // run or imported, with its weight; the student then learns the weighted
    // average of all the teachers' softened probabilities. Empty: one teacher.
    std::vector<TeacherConfig> teachers;
    ModelSpec student;
    TrainConfig studentTrain;           // the budget of both baseline and distilled student
    bool baseline = true;
    // The baseline student of this earlier run (its folder) is taken over
    // instead of training one: it must have the same data, seed and student
    // settings (a sweep's points share one baseline per seed this way).
    std::string baselineRun;
    DistillConfig distillation;
    SweepSpec sweep;                    // run by `distillery-run --sweep`; a plain run ignores it
    SweepMembership sweepPoint;
    // Keep the distilled student's state after every epoch (a hard link of
    // its state checkpoint each), so that a fork may start from any epoch.
    bool keepEpochStates = true;
    ForkOrigin forkedFrom;
};

// Parses experiment JSON. `origin` (a file name) prefixes error messages.
// `overrides` are "dotted.key=value" assignments applied before validation; a
// value is read as JSON when it parses as JSON, else as a string.
Experiment parseExperiment(const std::string &json, const std::string &origin = {},
                           const std::vector<std::string> &overrides = {});
Experiment loadExperiment(const std::string &path, const std::vector<std::string> &overrides = {});
std::string experimentToJson(const Experiment &e);
// Writes atomically (temporary file, then rename). Throws ConfigError naming the file.
void saveExperiment(const Experiment &e, const std::string &path);

// An architecture alone: the JSON list of layers, as in a model's "layers".
std::string architectureToJson(const Architecture &layers);
// Parses such a list. `origin` (a file name) prefixes error messages. Throws ConfigError.
Architecture parseArchitecture(const std::string &json, const std::string &origin = {});

// Checks ranges and consistency without touching data or files. Throws ConfigError.
void validateExperiment(const Experiment &e, const std::string &origin = {});

// Whether a stage's training inputs are changed before its model sees them
// (jitter, crop, flip, erase, mixup or cutmix).
bool augmentsInputs(const TrainConfig &train);

// How the distillation stage gets its teacher's outputs: "exact" (computed
// once, for the inputs the students see), "approximate" (computed once, for
// unaugmented inputs, while the students see augmented ones) or "off" (the
// teacher runs on every batch); and why, in a sentence for the user.
struct TeacherCacheChoice {
    std::string mode;
    std::string reason;
};
TeacherCacheChoice teacherCacheChoice(const Experiment &e);

// Every teacher's share of the distillation target: the main teacher's, then
// each of `teachers`', the weights normalised to sum to 1 ({1} with one teacher).
std::vector<double> teacherWeights(const Experiment &e);

// The nearest of `candidates` to `word` (edit distance), or "" when none is close.
std::string nearestName(const std::string &word, const std::vector<std::string> &candidates);

} // namespace distillery
