// One stage of a run (internal to core): its epochs of training steps, the
// reports, the evaluation after each epoch, model selection and the
// checkpoints that let it resume.
#pragma once

#include "data/torch_data.h"
#include "distributed/communicator.h"
#include "distillery/events.h"
#include "distillery/experiment.h"
#include "methods/method.h"
#include "models/torch_model.h"
#include "runs/resume.h"
#include "runs/run_recorder.h"
#include "training/run_control.h"
#include "training/trainer.h"

#include <chrono>
#include <cstdint>

namespace distillery::detail {

// The logits of a stage's kept model (its best epoch's), from the evaluation
// after that epoch (or, when that epoch came before a resume, the same
// evaluation again at the stage's end): float, on the CPU; undefined for an
// empty split, and before the stage trained.
struct KeptLogits {
    StageKind stage = StageKind::Teacher;
    torch::Tensor validation;
    torch::Tensor test;
};

// What every stage of a run shares.
struct StageEnvironment {
    const Experiment &exp;
    const LoadedData &data;
    torch::Device device;
    RunRecorder &recorder;
    RunControl &control;
    const ResumePlan &resume;
    std::chrono::steady_clock::time_point runStart; // of this session, for the run's time
    KeptLogits kept = {};           // of the stage that ran last (runStage), for its analysis
    // The frozen teacher's validation logits (float, CPU) for the students'
    // live fidelity metrics: its best epoch's, or as saved in the run folder
    // (analysis/teacher.validation.logits), so that a resumed run reports the
    // same numbers as one never interrupted.
    torch::Tensor teacherValidation{};
    Precision precision() const { return precisionNamed(exp.precision); }
    // The run's processes when it trains over several (data-parallel); null for one.
    Communicator *comm = nullptr;
};

// One stage to train.
struct StageJob {
    StageInfo info;                 // kind, position, epochs, steps per epoch
    Net &model;
    const TrainConfig &train;
    const Split &split;             // the rows it learns from
    DistillationMethod &method;
    TeacherForward teacher;         // empty when the method needs none
    Architecture teacherLayers;     // a Distillery teacher's layers, for the thread plan; empty for an imported one
    std::uint64_t initSeed = 0;     // LibTorch's default generator (dropout) for this stage
    std::uint64_t shuffleSeed = 0;  // the order of the batches
    // Report agreement and KL with the teacher in each epoch (the students,
    // against StageEnvironment::teacherValidation).
    bool fidelity = false;
    TeacherFeatures teacherFeatures{}; // feature methods: the teacher with its taps, run per batch
    torch::Tensor trainRows{};      // the rows of the training split that `split` holds; undefined: all
};

// Trains the stage to its last epoch or a stop, continuing from its state
// checkpoint when the run resumes in the middle of it. Leaves the best epoch's
// weights in the model and in checkpoints/<stage>.pt, and returns the result
// (Finished or Stopped). When training cannot go on (a non-finite loss, a
// failed write, memory), the failed stage goes into the recorder's result,
// what it learnt up to its best epoch is kept where possible, and the error
// is thrown on (std::bad_alloc as itself).
StageResult runStage(StageEnvironment &env, const StageJob &job);

// Records a stage that ended (the run's time so far, the event, the summary).
// True when it finished, false when it stopped or failed.
bool finishStage(StageEnvironment &env, const StageResult &r);

// Optimisation steps per epoch for `samples` rows in batches of `batchSize`.
// A last batch of one sample would break batch norm; it is dropped.
std::int64_t stepsPerEpoch(std::int64_t samples, int batchSize);

} // namespace distillery::detail
