#include "engine/extra_teachers.h"

#include "support/errors.h"
#include "training/evaluation.h"

#include <cmath>

namespace distillery::detail {

namespace {

// teacher_sources names the field "teacher"; a further teacher's is "teachers[i]".
InvalidInput renamed(const InvalidInput &e, const std::string &field)
{
    std::string message = e.what();
    if (message.rfind("teacher.", 0) == 0)
        message = field + message.substr(std::string("teacher").size());
    return InvalidInput(message);
}

TeacherOutcome outcome(const std::string &model, double weight, const Eval &val, const Eval &test,
                       std::int64_t parameters)
{
    TeacherOutcome o;
    o.model = model;
    o.weight = weight;
    o.validationAccuracy = val.accuracy;
    o.testAccuracy = test.accuracy;
    o.parameters = parameters;
    return o;
}

} // namespace

std::vector<ExtraTeacher> planExtraTeachers(const Experiment &exp, const LoadedData &data,
                                            const torch::Device &device)
{
    std::vector<ExtraTeacher> extras;
    const int classes = data.summary.classes;
    for (std::size_t i = 0; i < exp.teachers.size(); ++i) {
        ExtraTeacher x;
        x.field = "teachers[" + std::to_string(i) + "]";
        x.view = exp;
        x.view.teacher = exp.teachers[i];
        x.view.teachers.clear();
        try {
            if (x.view.teacher.source == "run") {
                const Experiment asGiven = x.view;
                x.source.checkpoint = resolveReusedTeacher(asGiven, x.view);
                try {
                    x.view.teacher.model.layers = resolveModel(x.view.teacher.model, classes);
                } catch (const ConfigError &e) {
                    throw InvalidInput(x.field + ".model: " + e.what());
                }
                x.source.report = analyseArchitecture(x.view.teacher.model.layers, data.summary.inputShape, classes);
                if (!x.source.report.ok)
                    throw InvalidInput(x.field + ".model: " + x.source.report.error);
                x.source.label = teacherLabel(x.view.teacher);
            } else {
                x.source.script = loadImportedTeacher(x.view, data, device);
                x.source.report.ok = true;
                x.source.report.parameters = x.source.script->parameters;
                x.source.report.output = {classes};
                x.source.label = teacherLabel(x.view.teacher);
            }
        } catch (const InvalidInput &e) {
            throw renamed(e, x.field);
        }
        extras.push_back(std::move(x));
    }
    return extras;
}

TeacherForward joinTeachers(StageEnvironment &env, const TeacherSource &first, const TeacherForward &firstForward,
                            const std::vector<ExtraTeacher> &extras)
{
    const std::vector<double> weights = teacherWeights(env.exp);
    std::vector<TeacherForward> forwards{firstForward};
    auto &teachers = env.recorder.result().teachers;
    teachers.clear();
    const StageResult *stage = env.recorder.result().stage(StageKind::Teacher);
    TeacherOutcome main;
    main.model = first.label;
    main.weight = weights[0];
    main.parameters = first.report.parameters;
    main.testAccuracy = stage ? stage->testAccuracy : std::nan("");
    main.validationAccuracy = stage ? stage->bestValAccuracy : std::nan("");
    teachers.push_back(main);
    for (std::size_t i = 0; i < extras.size(); ++i) {
        const ExtraTeacher &x = extras[i];
        TeacherModel model = buildTeacher(x.view, x.source, env.data, env.device);
        if (!x.source.imported()) {
            try {
                loadCheckpoint(model.net, x.source.checkpoint.string(), env.device);
            } catch (const ModelFileError &e) {
                throw InvalidInput(x.field + ".run: " + e.what());
            }
        }
        freezeTeacher(model);
        const Eval val = evaluate(model.forward, env.data.validation, env.device, env.precision());
        const Eval test = evaluate(model.forward, env.data.test, env.device, env.precision());
        teachers.push_back(outcome(x.source.label, weights[i + 1], val, test, x.source.report.parameters));
        forwards.push_back(model.forward);
    }
    env.recorder.saveSummary();
    return [forwards](const torch::Tensor &x) {
        std::vector<torch::Tensor> logits;
        for (const auto &f : forwards)
            logits.push_back(f(x));
        return torch::cat(logits, 1);
    };
}

} // namespace distillery::detail
