// Experiments and architectures written out as JSON: the form parseExperiment
// and parseArchitecture read back.
#include "distillery/experiment.h"
#include "experiment/sweep_reader.h"

#include "distillery/methods.h"
#include "runs/atomic_file.h"

#include <nlohmann/json.hpp>

namespace distillery {

using nlohmann::json;

namespace {

json layerToJson(const LayerSpec &l)
{
    json j{{"type", l.type}};
    const LayerSpec d;
    if (l.type == "linear" || l.type == "conv2d" || l.type == "residual")
        j["out"] = l.out;
    if (l.kernel != d.kernel)
        j["kernel"] = l.kernel;
    if (l.stride != d.stride)
        j["stride"] = l.stride;
    if (l.padding != d.padding)
        j["padding"] = l.padding;
    if (l.type == "dropout")
        j["p"] = l.p;
    if (l.bias != d.bias)
        j["bias"] = l.bias;
    if (!l.tap.empty())
        j["tap"] = l.tap;
    return j;
}

json pairsToJson(const std::vector<FeaturePair> &pairs)
{
    json out = json::array();
    for (const auto &p : pairs)
        out.push_back({{"teacher", p.teacher}, {"student", p.student}});
    return out;
}

// Every parameter of the method, defaults written out (a run's config.json
// then says exactly what it trained with), its pairs, cache and schedules.
void addMethodSettings(const DistillConfig &d, json &out)
{
    const MethodInfo *m = findMethod(d.method);
    if (m && !m->params.empty()) {
        json params = json::object();
        for (const auto &p : m->params) {
            const double v = methodParam(d, p.key);
            params[p.key] = p.isSwitch ? json(v != 0) : json(v);
        }
        out["params"] = params;
    }
    if (!d.pairs.empty())
        out["pairs"] = pairsToJson(d.pairs);
    if (m && m->usesFeatures())
        out["feature_cache_mb"] = d.featureCacheMb;
    if (d.generations != 1 || d.generation != 1) {
        out["generations"] = d.generations;
        out["generation"] = d.generation;
    }
    for (const auto &[key, s] : d.schedules)
        out["schedules"][key] = {{"shape", s.shape}, {"from", s.from}, {"to", s.to}, {"start", s.start}, {"end", s.end}};
}

json modelToJson(const ModelSpec &m)
{
    json j = json::object();
    if (!m.preset.empty())
        j["preset"] = m.preset;
    if (!m.hidden.empty())
        j["hidden"] = m.hidden;
    if (m.dropout != 0.0)
        j["dropout"] = m.dropout;
    if (!m.layers.empty()) {
        j["layers"] = json::array();
        for (const auto &l : m.layers)
            j["layers"].push_back(layerToJson(l));
    }
    return j;
}

json trainToJson(const TrainConfig &t)
{
    return {{"epochs", t.epochs},           {"batch_size", t.batchSize},     {"optimizer", t.optimizer},
            {"lr", t.lr},                   {"momentum", t.momentum},        {"nesterov", t.nesterov},
            {"weight_decay", t.weightDecay}, {"schedule", t.schedule},        {"warmup_epochs", t.warmupEpochs},
            {"step_epochs", t.stepEpochs},  {"gamma", t.gamma},              {"max_norm", t.maxNorm},
            {"jitter", t.jitter},           {"crop", t.crop},                {"flip", t.flip},
            {"erase", t.erase},             {"mixup", t.mixup},              {"cutmix", t.cutmix}};
}

// A teacher's object; its weight only where there are several teachers.
json teacherToJson(const TeacherConfig &t, bool weighted)
{
    json teacher{{"source", t.source}};
    if (t.source == "run")
        teacher["run"] = t.run;
    if (t.source == "run" && t.stage != "teacher")
        teacher["stage"] = t.stage;
    if (t.source == "torchscript") {
        teacher["path"] = t.path;
        teacher["input"] = t.input;
    }
    if (!t.model.preset.empty() || !t.model.layers.empty())
        teacher["model"] = modelToJson(t.model);
    if (t.source == "train")
        teacher["train"] = trainToJson(t.train);
    if (weighted || t.weight != 1.0)
        teacher["weight"] = t.weight;
    return teacher;
}

} // namespace

std::string experimentToJson(const Experiment &e)
{
    const auto &d = e.data;
    json data{{"source", d.source}, {"validation_fraction", d.validationFraction}, {"seed", d.seed}};
    if (!d.path.empty())
        data["path"] = d.path;
    if (d.source == "csv") {
        data["label_column"] = d.labelColumn;
        if (!d.testPath.empty())
            data["test_path"] = d.testPath;
    }
    if (d.source == "cifar100")
        data["cifar100_labels"] = d.cifar100Labels;
    if (d.source == "folder") {
        data["color"] = d.color;
        if (d.imageWidth > 0)
            data["image_size"] = {d.imageHeight, d.imageWidth};
        data["resize"] = d.resize;
    }
    if (d.trainLimit)
        data["train_limit"] = d.trainLimit;
    if (d.studentTrainSize)
        data["student_train_size"] = d.studentTrainSize;
    if (!d.omitClasses.empty()) {
        data["omit_classes"] = d.omitClasses;
        data["omitted_bias_shift"] = d.omittedBiasShift ? json(*d.omittedBiasShift) : json("auto");
    }
    if (d.source.rfind("synthetic", 0) == 0) {
        data["synthetic_train"] = d.syntheticTrain;
        data["synthetic_test"] = d.syntheticTest;
        data["synthetic_classes"] = d.syntheticClasses;
        data["synthetic_features"] = d.syntheticFeatures;
    }
    json root{{"version", e.version},
              {"name", e.name},
              {"seed", e.seed},
              {"device", e.device},
              {"precision", e.precision},
              {"threads", e.threads},
              {"blas_threads", e.blasThreads},
              {"log_every_steps", e.logEverySteps},
              {"data", data},
              {"teacher", teacherToJson(e.teacher, !e.teachers.empty())},
              {"student", {{"model", modelToJson(e.student)}, {"train", trainToJson(e.studentTrain)}}},
              {"baseline", e.baseline},
              {"distillation",
               {{"method", e.distillation.method},
                {"temperature", e.distillation.temperature},
                {"alpha", e.distillation.alpha},
                {"teacher_cache", e.distillation.teacherCache && e.distillation.approximateCache
                                      ? json("approximate")
                                      : json(e.distillation.teacherCache)}}}};
    addMethodSettings(e.distillation, root["distillation"]);
    if (!e.teachers.empty()) {
        root["teachers"] = json::array();
        for (const auto &t : e.teachers)
            root["teachers"].push_back(teacherToJson(t, true));
    }
    if (!(e.distributed == DistributedConfig{}))
        root["distributed"] = {{"processes", e.distributed.processes},
                               {"backend", e.distributed.backend},
                               {"sync_batch_norm", e.distributed.syncBatchNorm},
                               {"timeout_seconds", e.distributed.timeoutSeconds}};
    if (!e.baselineRun.empty())
        root["baseline_run"] = e.baselineRun;
    if (e.sweep.active())
        root["sweep"] = detail::sweepToJson(e.sweep);
    if (e.sweepPoint.point >= 0)
        root["sweep_point"] = detail::sweepPointToJson(e.sweepPoint);
    root["keep_epoch_states"] = e.keepEpochStates;
    if (e.forkedFrom.epoch > 0)
        root["forked_from"] = {{"run", e.forkedFrom.run}, {"epoch", e.forkedFrom.epoch}};
    return root.dump(2) + "\n";
}

std::string architectureToJson(const Architecture &layers)
{
    json j = json::array();
    for (const auto &l : layers)
        j.push_back(layerToJson(l));
    return j.dump(2);
}

void saveExperiment(const Experiment &e, const std::string &path)
{
    try {
        detail::writeFileAtomically(path, experimentToJson(e));
    } catch (const std::exception &ex) {
        throw ConfigError(ex.what());
    }
}

} // namespace distillery
