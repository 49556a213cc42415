#include "engine/pipeline.h"

#include "engine/baseline_source.h"
#include "engine/stage_analysis.h"
#include "distillery/methods.h"
#include "methods/multi_teacher.h"
#include "methods/mutual.h"
#include "runs/stage_state.h"
#include "support/errors.h"
#include "training/bias_correction.h"
#include "training/evaluation.h"

namespace distillery::detail {

namespace fs = std::filesystem;

std::vector<StageKind> stagesOf(const Experiment &exp)
{
    std::vector<StageKind> stages;
    if (!trainsWithoutTeacher(exp.distillation))
        stages.push_back(StageKind::Teacher);
    if (exp.baseline)
        stages.push_back(StageKind::Baseline);
    stages.push_back(StageKind::Distillation);
    return stages;
}

std::string modelLabel(const ModelSpec &m)
{
    if (m.preset.empty())
        return "custom";
    if (m.preset == "mlp" && !m.hidden.empty()) {
        std::string s = "mlp";
        for (auto h : m.hidden)
            s += "-" + std::to_string(h);
        return s;
    }
    return m.preset;
}

namespace {

ArchitectureReport checkedReport(const Architecture &layers, const Shape &shape, int classes, const std::string &field)
{
    ArchitectureReport report = analyseArchitecture(layers, shape, classes);
    if (!report.ok)
        throw InvalidInput(field + ": " + report.error + " (input " + shapeToString(shape) + ")");
    return report;
}

// Settings that depend on the data or the models, checked before anything is written.
void checkAgainstData(const Experiment &exp, const Pipeline &p, const Shape &shape)
{
    const bool images = shape.size() == 3;
    const std::pair<const TrainConfig *, const char *> stages[] = {{&exp.teacher.train, "teacher.train."},
                                                                    {&exp.studentTrain, "student.train."}};
    for (const auto &[train, prefix] : stages) {
        if (images || (train == &exp.teacher.train && exp.teacher.source != "train"))
            continue;
        // Mixup mixes vectors as well; the rest move or cover pixels.
        const std::pair<bool, const char *> imageOnly[] = {{train->jitter > 0, "jitter"}, {train->crop > 0, "crop"},
                                                           {train->flip, "flip"},         {train->erase > 0, "erase"},
                                                           {train->cutmix > 0, "cutmix"}};
        for (const auto &[on, key] : imageOnly)
            if (on)
                throw InvalidInput(std::string(prefix) + key + ": " + key + " works on images, and this data set's "
                                   "samples are " + shapeToString(shape) + " vectors");
    }
    const Architecture &student = p.resolved.student.layers;
    if (!exp.data.omitClasses.empty() && (student.empty() || student.back().type != "linear" || !student.back().bias))
        throw InvalidInput("data.omit_classes: the omitted classes' output biases are raised after training, so the "
                           "student's last layer must be linear with a bias (student.model)");
}

// A feature method's pairs of taps, resolved against both models and checked.
// An imported teacher's are those its features() gives.
void pairFeatures(const Experiment &exp, Pipeline &p, const LoadedData &data, const torch::Device &device)
{
    const MethodInfo *method = findMethod(exp.distillation.method);
    if (!method || !method->usesFeatures())
        return;
    const Shape &shape = data.summary.inputShape;
    std::vector<Tap> teacherTaps;
    if (p.teacher.imported()) {
        teacherTaps = p.teacher.importedTaps = importedTaps(*p.teacher.script, exp, data, device);
        if (teacherTaps.empty())
            throw InvalidInput("distillation.method: " + method->name + " reads the teacher's features, and the "
                               "TorchScript teacher " + exp.teacher.path + " has no method features(x) -> "
                               "List[Tensor] (docs/EXPORT.md shows how to add one; Distillery's own exports have "
                               "it); methods on logits (kd, dkd, dist) work with any teacher");
    } else {
        teacherTaps = modelTaps(p.resolved.teacher.model.layers, shape);
    }
    try {
        p.method->setPairs(resolvePairs(exp.distillation, teacherTaps, modelTaps(p.resolved.student.layers, shape)));
    } catch (const ConfigError &e) {
        throw InvalidInput(e.what());
    }
}

// Deep Mutual Learning: no teacher; the student and its peers.
Pipeline planCohort(const Experiment &exp, const LoadedData &data, Pipeline &p)
{
    try {
        p.resolved.student.layers = resolveModel(exp.student, data.summary.classes);
    } catch (const ConfigError &e) {
        throw InvalidInput(std::string("model: ") + e.what());
    }
    p.teacher.label = "none";
    p.student = checkedReport(p.resolved.student.layers, data.summary.inputShape, data.summary.classes,
                              "student.model");
    checkAgainstData(exp, p, data.summary.inputShape);
    if (exp.baseline && !exp.baselineRun.empty())
        checkReusedBaseline(p.resolved);
    p.method = makeMutualLearning(exp.distillation, p.resolved.student.layers, data.summary.inputShape);
    return std::move(p);
}

} // namespace

Pipeline planPipeline(const Experiment &exp, const LoadedData &data, const torch::Device &device)
{
    const Shape &shape = data.summary.inputShape;
    const int classes = data.summary.classes;
    Pipeline p;
    p.resolved = exp;
    p.stages = stagesOf(exp);
    if (trainsWithoutTeacher(exp.distillation))
        return planCohort(exp, data, p);
    if (exp.teacher.source == "run")
        p.teacher.checkpoint = resolveReusedTeacher(exp, p.resolved);
    const bool imported = exp.teacher.source == "torchscript";
    try {
        if (!imported)
            p.resolved.teacher.model.layers = resolveModel(p.resolved.teacher.model, classes);
        p.resolved.student.layers = resolveModel(exp.student, classes);
    } catch (const ConfigError &e) {
        throw InvalidInput(std::string("model: ") + e.what());
    }
    p.teacher.label = teacherLabel(p.resolved.teacher);
    if (imported) {
        // An imported teacher is checked against the data before anything is written.
        p.teacher.script = loadImportedTeacher(exp, data, device);
        p.teacher.report.ok = true;
        p.teacher.report.parameters = p.teacher.script->parameters;
        p.teacher.report.output = {classes};
    } else {
        p.teacher.report = checkedReport(p.resolved.teacher.model.layers, shape, classes, "teacher.model");
    }
    p.student = checkedReport(p.resolved.student.layers, shape, classes, "student.model");
    checkAgainstData(exp, p, shape);
    if (exp.baseline && !exp.baselineRun.empty())
        checkReusedBaseline(p.resolved); // models as layer lists, as the earlier run's config.json has them
    if (exp.teachers.empty()) {
        p.method = makeMethod(exp.distillation);
        pairFeatures(exp, p, data, device);
        // A method that keeps something per training row (CRD) sees the
        // students' labels now, so that what it cannot use is said before
        // anything trains; the stage gives them again.
        p.method->setTrainingLabels(data.studentIndices.defined() ? data.train.y.index_select(0, data.studentIndices)
                                                                  : data.train.y);
    } else {
        p.extraTeachers = planExtraTeachers(exp, data, device);
        p.method = makeMultiTeacherKd(exp.distillation, teacherWeights(exp));
    }
    return p;
}

namespace {

// The baseline and the distilled student, from `initialState`.
bool runStudentStage(StageEnvironment &env, const Pipeline &p, StageInfo info, const Split &studentTrain,
                     DistillationMethod &method, const TeacherForward &teacher,
                     const std::vector<torch::Tensor> &initialState,
                     const TeacherFeatures &teacherFeatures = {})
{
    const Experiment &exp = env.exp;
    info.model = modelLabel(exp.student);
    info.epochs = exp.studentTrain.epochs;
    info.trainSamples = studentTrain.size();
    info.stepsPerEpoch = stepsPerEpoch(studentTrain.size(), exp.studentTrain.batchSize);
    if (const StageResult *done = env.resume.finishedStage(info.kind)) {
        env.recorder.replayStage(info, *done, env.resume.kept);
        return true;
    }
    if (info.kind == StageKind::Baseline && !exp.baselineRun.empty())
        return takeOverBaseline(env, info);
    env.recorder.currentStage = stageName(info.kind);
    Net student(p.resolved.student.layers, env.data.summary.inputShape);
    restore(*student, initialState);
    student->to(env.device);
    StageJob job{info,    student, exp.studentTrain, studentTrain, method, teacher, p.resolved.teacher.model.layers,
                 exp.seed + 2, exp.seed + 23, /*fidelity=*/true};
    if (!method.pairs().empty())
        job.teacherFeatures = teacherFeatures;
    job.trainRows = env.data.studentIndices;
    StageResult r = runStage(env, job);
    if (r.status == RunStatus::Finished && r.epochsDone > 0)
        for (auto &peer : cohortPeers(method)) {
            peer->eval();
            r.peerTestAccuracy.push_back(evaluate(peer, env.data.test, env.device, env.precision(), false).accuracy);
        }
    if (info.kind == StageKind::Distillation && !exp.data.omitClasses.empty() && r.status == RunStatus::Finished &&
        r.epochsDone > 0) {
        // The kept model, with the omitted classes' biases raised, replaces the stage's checkpoint.
        r.biasCorrection = correctOmittedBiases(student, env.data, exp.data, env.device, env.precision());
        r.testAccuracy = r.biasCorrection.testAccuracyAfter;
        torch::serialize::OutputArchive archive;
        student->save(archive);
        saveArchive(archive, r.checkpoint);
    }
    // The kept model's figures are on disk before the stage is recorded as
    // finished; its test logits are those of its best epoch's evaluation,
    // unless the bias correction changed it.
    if (r.status == RunStatus::Finished && r.epochsDone > 0) {
        const bool kept = env.kept.stage == info.kind && r.biasCorrection.classes.empty();
        analyseStage(env, info.kind, student, r, kept ? env.kept.test : torch::Tensor());
    }
    return finishStage(env, r);
}

} // namespace

namespace {

// What the students distil from: the frozen teacher (and the further ones),
// after its stage. False when the run ends there.
struct Teachers {
    TeacherForward forward;
    TeacherFeatures features;
};

bool teacherStage(StageEnvironment &env, Pipeline &p, StageInfo info, Teachers &out)
{
    torch::manual_seed(env.exp.seed);
    TeacherModel teacher = buildTeacher(p.resolved, p.teacher, env.data, env.device);
    info.kind = StageKind::Teacher;
    info.index = 0;
    if (!runTeacherStage(env, p.resolved, p.teacher, teacher, info))
        return false;
    freezeTeacher(teacher);
    // The teacher's analysis, unless a resumed run has it already. A teacher
    // trained in this session has its best epoch's test logits kept
    // (undefined otherwise: computed then).
    const StageResult *teacherResult = env.recorder.result().stage(StageKind::Teacher);
    if (teacherResult && (!env.resume.finishedStage(StageKind::Teacher) ||
                          !fs::exists(analysisLogitsPath(env, StageKind::Teacher))))
        analyseStage(env, StageKind::Teacher, teacher.forward, *teacherResult,
                     env.kept.stage == StageKind::Teacher ? env.kept.test : torch::Tensor());
    env.teacherValidation = teacherValidationLogits(env, teacher.forward);
    // Several teachers: the students see them all, their logits side by side.
    out.forward =
        p.extraTeachers.empty() ? teacher.forward : joinTeachers(env, p.teacher, teacher.forward, p.extraTeachers);
    out.features = teacher.features;
    return true;
}

} // namespace

bool runStages(StageEnvironment &env, Pipeline &p)
{
    const Experiment &exp = env.exp;
    StageInfo info;
    info.stageCount = int(p.stages.size());
    Teachers teachers; // none for an online method (mutual learning)
    if (p.stages.front() == StageKind::Teacher && !teacherStage(env, p, info, teachers))
        return false;

    // Both students start from the same weights and see batches in the same
    // order, so the difference between them is the loss alone.
    const Split studentTrain = studentSplit(env.data);
    torch::manual_seed(exp.seed + 1);
    env.recorder.currentStage = exp.baseline ? "baseline" : "student";
    const auto initialState = snapshot(*Net(p.resolved.student.layers, env.data.summary.inputShape));
    if (exp.baseline) {
        auto ce = makeCrossEntropy();
        info.kind = StageKind::Baseline;
        info.index = int(p.stages.size()) - 2;
        if (!runStudentStage(env, p, info, studentTrain, *ce, {}, initialState))
            return false;
    }
    info.kind = StageKind::Distillation;
    info.index = int(p.stages.size()) - 1;
    return runStudentStage(env, p, info, studentTrain, *p.method, teachers.forward, initialState, teachers.features);
}

} // namespace distillery::detail
