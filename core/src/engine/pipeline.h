// The pipeline of a run (internal to core): which stages, in which order, with
// which teacher and which loss, decided and checked before anything is written.
#pragma once

#include "data/torch_data.h"
#include "distillery/architecture.h"
#include "distillery/experiment.h"
#include "engine/extra_teachers.h"
#include "engine/teacher_sources.h"
#include "methods/method.h"
#include "training/stage_runner.h"

#include <memory>
#include <vector>

namespace distillery::detail {

struct Pipeline {
    Experiment resolved;                        // models as layer lists; a reused teacher's model filled in
    std::vector<StageKind> stages;              // teacher, baseline (when asked for), student
    TeacherSource teacher;
    std::vector<ExtraTeacher> extraTeachers;    // several teachers: the further ones (Experiment::teachers)
    ArchitectureReport student;
    std::unique_ptr<DistillationMethod> method; // the distilled student's loss
};

// The stages `exp` runs, in order.
std::vector<StageKind> stagesOf(const Experiment &exp);

// Resolves the models against the data, loads and checks the teacher's
// source, analyses both architectures and makes the method. Throws
// InvalidInput naming the field at fault.
Pipeline planPipeline(const Experiment &exp, const LoadedData &data, const torch::Device &device);

// "mlp-256-128", a preset's name, or "custom".
std::string modelLabel(const ModelSpec &m);

// Runs the stages in order: the teacher, then the students, which start from
// the same weights and see batches in the same order, so that the difference
// between them is the loss alone. False when a stage stopped (or was stopped)
// before the end.
bool runStages(StageEnvironment &env, Pipeline &pipeline);

} // namespace distillery::detail
