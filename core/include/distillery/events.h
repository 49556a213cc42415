// What the engine reports while it runs: plain values that can be copied across
// threads, written to disk, or turned into Qt signals.
#pragma once

#include "distillery/architecture.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace distillery {

enum class StageKind { Teacher, Baseline, Distillation };
std::string stageName(StageKind k);   // "teacher" | "baseline" | "student"

enum class RunStatus { Running, Finished, Stopped, Failed, Invalid };
std::string statusName(RunStatus s);  // "running" | "finished" | "stopped" | "failed" | "invalid"

// A named scalar, e.g. {"soft", 0.31}. Loss parts depend on the method.
using NamedValue = std::pair<std::string, double>;

struct StageInfo {
    StageKind kind = StageKind::Teacher;
    int index = 0;                      // position in the pipeline
    int stageCount = 0;
    std::string model;                  // preset or "custom"
    int epochs = 0;
    std::int64_t stepsPerEpoch = 0;
    std::int64_t trainSamples = 0;
    bool reused = false;                // teacher loaded from an earlier run
    int torchThreads = 0;               // LibTorch threads chosen for this stage
    int blasThreads = 0;                // OpenBLAS threads chosen for this stage (0: not OpenBLAS)
    std::string teacherCache;           // a stage with a teacher: "exact" | "approximate" | "off"
                                        // (teacherCacheChoice in experiment.h)
};

struct StepMetrics {
    StageKind stage = StageKind::Teacher;
    int epoch = 0;                      // 1-based
    std::int64_t step = 0;              // 1-based, counted across the stage's epochs
    std::int64_t totalSteps = 0;
    double loss = 0.0;                  // mean of the total loss since the last report
    std::vector<NamedValue> parts;      // mean of each loss part since the last report
    double learningRate = 0.0;
    double samplesPerSecond = 0.0;
};

struct EpochMetrics {
    StageKind stage = StageKind::Teacher;
    int epoch = 0;
    int epochs = 0;
    std::int64_t step = 0;
    double trainLoss = 0.0;
    double trainAccuracy = 0.0;         // fractions in [0, 1]
    std::vector<NamedValue> trainParts;
    double valLoss = 0.0;
    double valAccuracy = 0.0;           // NaN when there is no validation split
    double testLoss = 0.0;
    double testAccuracy = 0.0;
    double learningRate = 0.0;
    double samplesPerSecond = 0.0;
    double seconds = 0.0;               // this epoch, training and evaluation
    bool best = false;                  // best validation accuracy so far
    // Fidelity on the validation split (docs/INSIGHT.md); NaN where it does
    // not apply (no teacher: the teacher's stage; no validation split).
    double valAgreement = std::numeric_limits<double>::quiet_NaN(); // top-1 agreement with the teacher
    double valKl = std::numeric_limits<double>::quiet_NaN();        // mean KL(teacher ‖ model), T = 1
    double valKlAtT = std::numeric_limits<double>::quiet_NaN();     // the same at the run's temperature
    double valEce = std::numeric_limits<double>::quiet_NaN();       // the model's ECE, 15 bins
};

// The distilled student's output biases of classes its transfer set omitted,
// raised after training (Hinton et al. 2015, section 3).
struct BiasCorrection {
    std::vector<int> classes;               // empty: no correction
    double shift = 0.0;                     // added to each of their biases
    bool chosen = true;                     // on the validation split (false: set by hand)
    double omittedAccuracyBefore = 0.0;     // test accuracy on the omitted classes' examples
    double omittedAccuracyAfter = 0.0;
    double testAccuracyBefore = 0.0;        // on the whole test set
    double testAccuracyAfter = 0.0;
};

struct StageResult {
    StageKind kind = StageKind::Teacher;
    RunStatus status = RunStatus::Finished;
    int epochsDone = 0;
    int bestEpoch = 0;                  // chosen on validation accuracy (last epoch without one)
    double bestValAccuracy = 0.0;
    double testAccuracy = 0.0;          // of the model at the best epoch, which the stage keeps
    double finalTestAccuracy = 0.0;     // of the last epoch
    double seconds = 0.0;
    std::int64_t parameters = 0;
    std::int64_t multiplyAdds = 0;
    std::string checkpoint;             // path of the saved model
    int blasThreads = 0;                // as in StageInfo
    BiasCorrection biasCorrection;      // the kept model has it; testAccuracy is after it
    // A run over several processes (this session of the stage): the seconds
    // of its training steps (pauses excluded), and of them those this
    // process waited in collectives (docs/DISTRIBUTED.md).
    double trainSeconds = 0.0;
    double collectiveSeconds = 0.0;
    // Precision fp16 (docs/EXPERIMENT.md): the optimizer steps skipped because
    // the scaled gradients were not finite, and the loss scale at the end.
    std::int64_t skippedSteps = 0;
    double lossScale = 0.0;
    // Deep Mutual Learning: the test accuracy of each member of the cohort
    // other than the stage's student, after the last epoch (compare with
    // finalTestAccuracy).
    std::vector<double> peerTestAccuracy;
};

// Several teachers (Experiment::teachers): one teacher as it was evaluated,
// with its share of the distillation target (the weights normalised to sum to 1).
struct TeacherOutcome {
    std::string model;                  // e.g. "cnn-small", "torchscript:teacher.pt"
    double weight = 0.0;
    double testAccuracy = 0.0;
    double validationAccuracy = 0.0;    // NaN without a validation split
    std::int64_t parameters = 0;
};

struct RunResult {
    RunStatus status = RunStatus::Finished;
    std::string runDir;                 // empty when the run never started (invalid input)
    std::string message;                // the error, for Failed and Invalid
    std::vector<StageResult> stages;
    std::int64_t teacherParameters = 0;
    std::int64_t studentParameters = 0;
    std::int64_t teacherMultiplyAdds = 0;
    std::int64_t studentMultiplyAdds = 0;
    double seconds = 0.0;
    // Several teachers: every teacher, the main one (the teacher stage's)
    // first; empty with one teacher.
    std::vector<TeacherOutcome> teachers;

    const StageResult *stage(StageKind k) const;
};

struct RunStartInfo {
    std::string runDir;
    std::string device;                 // "cpu" or "cuda:0"
    int threads = 0;
    std::string dataDescription;
    Shape inputShape;
    int classes = 0;
    std::int64_t trainSamples = 0;
    std::int64_t validationSamples = 0;
    std::int64_t testSamples = 0;
    std::int64_t studentTrainSamples = 0;
    ArchitectureReport teacher;
    ArchitectureReport student;
};

// Receives the engine's reports on the thread that runs the engine. Calls are
// short and must not block for long: a UI implementation queues them.
// A distillation setting changed while the student trains (Engine::
// requestSettingChange), in force from the step after `step`.
struct SettingChange {
    StageKind stage = StageKind::Distillation;
    int epoch = 0;
    std::int64_t step = 0;              // steps of the stage done before it took effect
    std::string key;                    // "temperature", "alpha" or a parameter of the method
    double value = 0.0;
};

class RunObserver {
public:
    virtual ~RunObserver() = default;
    // Loading the data set before the run starts: `done` of `total` image
    // files decoded (image folders only; a cached folder reports nothing).
    virtual void dataProgress(std::int64_t /*done*/, std::int64_t /*total*/) {}
    virtual void runStarted(const RunStartInfo &) {}
    virtual void stageStarted(const StageInfo &) {}
    virtual void stepReported(const StepMetrics &) {}
    virtual void epochFinished(const EpochMetrics &) {}
    virtual void stageFinished(const StageResult &) {}
    virtual void pausedChanged(bool /*paused*/) {}
    virtual void settingChanged(const SettingChange &) {}
    virtual void runFinished(const RunResult &) {}
    // A failure; runFinished follows with status Failed or Invalid.
    virtual void errorOccurred(const std::string & /*message*/) {}
};

} // namespace distillery
