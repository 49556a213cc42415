// Where a run's teacher comes from (internal to core): trained in the run
// (teacher.source = "train"), the teacher of an earlier run ("run"), or a
// TorchScript module imported from elsewhere ("torchscript"). Checked before
// the run folder exists; built and run as the pipeline's first stage.
#pragma once

#include "data/torch_data.h"
#include "distillery/architecture.h"
#include "distillery/experiment.h"
#include "models/model_io.h"
#include "models/torch_model.h"
#include "training/stage_runner.h"
#include "training/trainer.h"

#include <filesystem>
#include <optional>
#include <string>

namespace distillery::detail {

struct TeacherSource {
    std::string label;                    // e.g. "cnn-large", "torchscript:teacher.pt"
    ArchitectureReport report;            // parameters and multiply-adds (an imported one: parameters only)
    std::filesystem::path checkpoint;     // source=run: the earlier run's checkpoints/teacher.pt
    std::optional<LoadedScript> script;   // source=torchscript
    // An imported module's features (LoadedScript::hasFeatures), as taps:
    // named by its feature_names() or feature1, feature2, ...; `layer` is the
    // index in its list, the shape measured on a batch of the data.
    std::vector<Tap> importedTaps;
    bool imported() const { return script.has_value(); }
};

// "cnn-large", "mlp-256-128", "custom", or for an imported one "torchscript:<file name>".
std::string teacherLabel(const TeacherConfig &t);

// source=run: the earlier run's teacher model and training go into `resolved`;
// returns its checkpoint. Throws InvalidInput naming teacher.run.
std::filesystem::path resolveReusedTeacher(const Experiment &exp, Experiment &resolved);

// source=torchscript: the module, checked to map a batch of the data's inputs
// to one floating-point logit per class. Throws InvalidInput naming teacher.path.
LoadedScript loadImportedTeacher(const Experiment &exp, const LoadedData &data, const torch::Device &device);
// Its features' taps; empty when it has no features method. Throws
// InvalidInput naming teacher.path when features(x) fails or gives a list
// that does not match feature_names().
std::vector<Tap> importedTaps(const LoadedScript &script, const Experiment &exp, const LoadedData &data,
                              const torch::Device &device);

// The teacher as the students see it: a Distillery net (undefined for an
// imported module) and its logits for a batch of normalised inputs.
struct TeacherModel {
    Net net{nullptr};
    TeacherForward forward;
    TeacherFeatures features;   // a Distillery net's taps; empty for an imported module
};

// Builds the teacher's net (drawing its initial weights) or wraps the module.
TeacherModel buildTeacher(const Experiment &resolved, const TeacherSource &source, const LoadedData &data,
                          const torch::Device &device);

// The teacher's stage: replayed when a resumed run has it finished, evaluated
// when reused or imported, trained otherwise. False when the run ends there
// (a stop while the teacher trains).
bool runTeacherStage(StageEnvironment &env, const Experiment &resolved, const TeacherSource &source,
                     TeacherModel &teacher, StageInfo info);

// From here on the teacher only gives logits: no gradients, batch norms folded, ReLUs in place.
void freezeTeacher(TeacherModel &teacher);

} // namespace distillery::detail
