#include "distillery/experiment.h"

#include "runs/atomic_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace distillery {

using nlohmann::json;

bool LayerSpec::operator==(const LayerSpec &o) const
{
    return type == o.type && out == o.out && kernel == o.kernel && stride == o.stride && padding == o.padding &&
           p == o.p && bias == o.bias;
}

std::string nearestName(const std::string &word, const std::vector<std::string> &candidates)
{
    auto distance = [](const std::string &a, const std::string &b) {
        std::vector<std::size_t> row(b.size() + 1);
        for (std::size_t j = 0; j <= b.size(); ++j)
            row[j] = j;
        for (std::size_t i = 1; i <= a.size(); ++i) {
            std::size_t diag = row[0];
            row[0] = i;
            for (std::size_t j = 1; j <= b.size(); ++j) {
                const std::size_t up = row[j];
                const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                                  std::tolower(static_cast<unsigned char>(b[j - 1]));
                row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
                diag = up;
            }
        }
        return row[b.size()];
    };
    std::string best;
    std::size_t bestD = std::string::npos;
    for (const auto &c : candidates) {
        const auto d = distance(word, c);
        if (d < bestD) {
            bestD = d;
            best = c;
        }
    }
    // Close enough to be a typo: at most a third of the word, and at least 1 edit allowed.
    return bestD <= std::max<std::size_t>(2, word.size() / 3) ? best : std::string();
}

namespace {

// Walks one JSON object, reading the keys it knows and rejecting the others.
class ObjectReader {
public:
    ObjectReader(const json &j, std::string path, const std::string &origin)
        : j_(j), path_(std::move(path)), origin_(origin)
    {
        if (!j_.is_object())
            error(path_.empty() ? std::string("the experiment") : path_, "must be a JSON object");
    }

    [[noreturn]] void error(const std::string &field, const std::string &msg) const
    {
        throw ConfigError((origin_.empty() ? std::string() : origin_ + ": ") + field + ": " + msg);
    }
    std::string field(const std::string &key) const { return path_.empty() ? key : path_ + "." + key; }

    const json *find(const std::string &key)
    {
        known_.push_back(key);
        auto it = j_.find(key);
        return it == j_.end() || it->is_null() ? nullptr : &*it;
    }

    template <typename T> void read(const std::string &key, T &out)
    {
        const json *v = find(key);
        if (!v)
            return;
        try {
            if constexpr (std::is_same_v<T, bool>) {
                if (!v->is_boolean())
                    error(field(key), "must be true or false (got " + v->dump() + ")");
            } else if constexpr (std::is_integral_v<T>) {
                if (!v->is_number_integer() && !(v->is_number_float() && std::floor(v->get<double>()) == v->get<double>()))
                    error(field(key), "must be a whole number (got " + v->dump() + ")");
                if (v->is_number_unsigned() ? v->get<std::uint64_t>() > std::uint64_t(std::numeric_limits<T>::max())
                                            : (v->get<double>() < double(std::numeric_limits<T>::lowest()) ||
                                               v->get<double>() > double(std::numeric_limits<T>::max())))
                    error(field(key), "is out of range (got " + v->dump() + ")");
                out = v->is_number_float() ? T(v->get<double>()) : v->get<T>();
                return;
            } else if constexpr (std::is_floating_point_v<T>) {
                if (!v->is_number())
                    error(field(key), "must be a number (got " + v->dump() + ")");
            } else if constexpr (std::is_same_v<T, std::string>) {
                if (!v->is_string())
                    error(field(key), "must be a string (got " + v->dump() + ")");
            }
            out = v->get<T>();
        } catch (const json::exception &e) {
            error(field(key), e.what());
        }
    }

    // Call last: any key not read is unknown.
    void finish() const
    {
        for (auto it = j_.begin(); it != j_.end(); ++it) {
            if (std::find(known_.begin(), known_.end(), it.key()) != known_.end())
                continue;
            const auto near = nearestName(it.key(), known_);
            error(field(it.key()), "unknown key" + (near.empty() ? std::string(" (known: ") + join(known_) + ")"
                                                                 : "; did you mean '" + near + "'?"));
        }
    }

private:
    static std::string join(const std::vector<std::string> &v)
    {
        std::string s;
        for (const auto &x : v)
            s += (s.empty() ? "" : ", ") + x;
        return s;
    }
    const json &j_;
    std::string path_;
    const std::string &origin_;
    std::vector<std::string> known_;
};

void readLayer(const json &j, const std::string &path, const std::string &origin, LayerSpec &l)
{
    ObjectReader r(j, path, origin);
    r.read("type", l.type);
    r.read("out", l.out);
    r.read("kernel", l.kernel);
    r.read("stride", l.stride);
    r.read("padding", l.padding);
    r.read("p", l.p);
    r.read("bias", l.bias);
    r.finish();
    if (l.type.empty())
        r.error(r.field("type"), "is required");
}

void readModel(const json &j, const std::string &path, const std::string &origin, ModelSpec &m)
{
    ObjectReader r(j, path, origin);
    r.read("preset", m.preset);
    if (const json *h = r.find("hidden")) {
        if (!h->is_array())
            r.error(r.field("hidden"), "must be a list of layer widths, e.g. [128]");
        m.hidden.clear();
        for (const auto &x : *h) {
            if (!x.is_number_integer() || x.get<std::int64_t>() < 1)
                r.error(r.field("hidden"), "widths must be whole numbers >= 1 (got " + x.dump() + ")");
            m.hidden.push_back(x.get<std::int64_t>());
        }
    }
    r.read("dropout", m.dropout);
    if (const json *ls = r.find("layers")) {
        if (!ls->is_array())
            r.error(r.field("layers"), "must be a list of layers");
        m.layers.clear();
        for (std::size_t i = 0; i < ls->size(); ++i) {
            LayerSpec l;
            readLayer((*ls)[i], r.field("layers") + "[" + std::to_string(i) + "]", origin, l);
            m.layers.push_back(l);
        }
    }
    r.finish();
    if (m.preset.empty() && m.layers.empty())
        r.error(path, "give a \"preset\" or a list of \"layers\"");
}

void readTrain(const json &j, const std::string &path, const std::string &origin, TrainConfig &t)
{
    ObjectReader r(j, path, origin);
    r.read("epochs", t.epochs);
    r.read("batch_size", t.batchSize);
    r.read("optimizer", t.optimizer);
    r.read("lr", t.lr);
    r.read("momentum", t.momentum);
    r.read("nesterov", t.nesterov);
    r.read("weight_decay", t.weightDecay);
    r.read("schedule", t.schedule);
    r.read("warmup_epochs", t.warmupEpochs);
    r.read("step_epochs", t.stepEpochs);
    r.read("gamma", t.gamma);
    r.finish();
}

void readData(const json &j, const std::string &origin, DataConfig &d)
{
    ObjectReader r(j, "data", origin);
    r.read("source", d.source);
    r.read("path", d.path);
    r.read("test_path", d.testPath);
    if (const json *lc = r.find("label_column")) {
        if (lc->is_number_integer())
            d.labelColumn = std::to_string(lc->get<std::int64_t>());
        else if (lc->is_string())
            d.labelColumn = lc->get<std::string>();
        else
            r.error(r.field("label_column"), "must be a column name or a 0-based column index");
    }
    r.read("validation_fraction", d.validationFraction);
    r.read("train_limit", d.trainLimit);
    r.read("student_train_size", d.studentTrainSize);
    r.read("seed", d.seed);
    r.read("synthetic_train", d.syntheticTrain);
    r.read("synthetic_test", d.syntheticTest);
    r.read("synthetic_classes", d.syntheticClasses);
    r.read("synthetic_features", d.syntheticFeatures);
    r.finish();
}

void applyOverride(json &root, const std::string &assignment, const std::string &origin)
{
    const auto eq = assignment.find('=');
    const std::string where = origin.empty() ? std::string("--set") : origin + ": --set";
    if (eq == std::string::npos || eq == 0)
        throw ConfigError(where + " " + assignment + ": expected key=value, e.g. distillation.temperature=4");
    const std::string key = assignment.substr(0, eq);
    const std::string text = assignment.substr(eq + 1);
    json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded())
        value = text;
    if (!root.is_object())
        throw ConfigError(where + " " + key + ": the experiment is not a JSON object");
    json *node = &root;
    std::stringstream parts(key);
    std::string part;
    std::vector<std::string> names;
    while (std::getline(parts, part, '.'))
        names.push_back(part);
    for (std::size_t i = 0; i + 1 < names.size(); ++i) {
        node = &(*node)[names[i]];
        if (node->is_null())
            *node = json::object();
        if (!node->is_object())
            throw ConfigError(where + " " + key + ": '" + names[i] + "' is not an object");
    }
    if (names.empty() || names.back().empty())
        throw ConfigError(where + " " + assignment + ": empty key");
    (*node)[names.back()] = value;
}

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
    return j;
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
            {"step_epochs", t.stepEpochs},  {"gamma", t.gamma}};
}

void checkTrain(const TrainConfig &t, const std::string &path, const ObjectReader &r)
{
    auto f = [&](const char *k) { return path + "." + k; };
    if (t.epochs < 1)
        r.error(f("epochs"), "must be >= 1 (got " + std::to_string(t.epochs) + ")");
    if (t.batchSize < 1)
        r.error(f("batch_size"), "must be >= 1 (got " + std::to_string(t.batchSize) + ")");
    static const std::vector<std::string> optimizers{"sgd", "adam", "adamw"};
    if (std::find(optimizers.begin(), optimizers.end(), t.optimizer) == optimizers.end()) {
        const auto n = nearestName(t.optimizer, optimizers);
        r.error(f("optimizer"), "unknown optimizer '" + t.optimizer + "'" +
                                    (n.empty() ? " (sgd, adam or adamw)" : "; did you mean '" + n + "'?"));
    }
    if (!(t.lr > 0) || !std::isfinite(t.lr))
        r.error(f("lr"), "must be > 0 (got " + std::to_string(t.lr) + ")");
    if (!(t.momentum >= 0 && t.momentum < 1))
        r.error(f("momentum"), "must be in [0, 1) (got " + std::to_string(t.momentum) + ")");
    if (t.nesterov && t.optimizer == "sgd" && t.momentum == 0)
        r.error(f("nesterov"), "needs momentum > 0");
    if (!(t.weightDecay >= 0))
        r.error(f("weight_decay"), "must be >= 0");
    static const std::vector<std::string> schedules{"constant", "step", "cosine"};
    if (std::find(schedules.begin(), schedules.end(), t.schedule) == schedules.end()) {
        const auto n = nearestName(t.schedule, schedules);
        r.error(f("schedule"), "unknown schedule '" + t.schedule + "'" +
                                   (n.empty() ? " (constant, step or cosine)" : "; did you mean '" + n + "'?"));
    }
    if (!(t.warmupEpochs >= 0) || t.warmupEpochs > t.epochs)
        r.error(f("warmup_epochs"), "must be between 0 and the number of epochs");
    if (t.stepEpochs < 1)
        r.error(f("step_epochs"), "must be >= 1");
    if (!(t.gamma > 0 && t.gamma <= 1))
        r.error(f("gamma"), "must be in (0, 1]");
}

} // namespace

void validateExperiment(const Experiment &e, const std::string &origin)
{
    const json empty = json::object();
    ObjectReader r(empty, "", origin);
    if (e.version != 1)
        r.error("version", "this Distillery reads version 1 experiment files (got " + std::to_string(e.version) + ")");
    if (e.name.empty())
        r.error("name", "must not be empty");
    static const std::vector<std::string> devices{"auto", "cpu", "cuda"};
    if (std::find(devices.begin(), devices.end(), e.device) == devices.end())
        r.error("device", "must be auto, cpu or cuda (got '" + e.device + "')");
    if (e.precision != "fp32" && e.precision != "bf16")
        r.error("precision", "must be fp32 or bf16 (got '" + e.precision +
                                  "'; fp16 is not offered: it needs gradient scaling, which bf16 does not)");
    if (e.threads < 0)
        r.error("threads", "must be >= 0 (0: all cores)");
    if (e.blasThreads < 0)
        r.error("blas_threads", "must be >= 0 (0: chosen per stage from the model)");
    if (e.logEverySteps < 1)
        r.error("log_every_steps", "must be >= 1");
    const auto &d = e.data;
    if (!(d.validationFraction >= 0 && d.validationFraction < 1))
        r.error("data.validation_fraction", "must be in [0, 1) (got " + std::to_string(d.validationFraction) + ")");
    if (d.trainLimit < 0)
        r.error("data.train_limit", "must be >= 0 (0: all)");
    if (d.studentTrainSize < 0)
        r.error("data.student_train_size", "must be >= 0 (0: all)");
    if (d.syntheticTrain < 10 || d.syntheticTest < 1)
        r.error("data.synthetic_train", "synthetic data needs at least 10 training and 1 test samples");
    if (d.syntheticClasses < 2 || d.syntheticClasses > 100)
        r.error("data.synthetic_classes", "must be between 2 and 100");
    if (d.syntheticFeatures < 2 || d.syntheticFeatures > 256)
        r.error("data.synthetic_features", "must be between 2 and 256");
    if (e.teacher.source != "train" && e.teacher.source != "run" && e.teacher.source != "torchscript")
        r.error("teacher.source", "must be 'train', 'run' or 'torchscript' (got '" + e.teacher.source + "')");
    if (e.teacher.source == "torchscript" && e.teacher.path.empty())
        r.error("teacher.path", "the TorchScript file (saved by torch.jit.save) is required with source 'torchscript'");
    if (e.teacher.input != "raw" && e.teacher.input != "normalised")
        r.error("teacher.input", "must be 'raw' or 'normalised' (got '" + e.teacher.input + "')");
    if (e.teacher.source == "run" && e.teacher.run.empty())
        r.error("teacher.run", "the folder of the earlier run whose teacher to reuse is required with source 'run'");
    if (e.teacher.source == "train")
        checkTrain(e.teacher.train, "teacher.train", r);
    checkTrain(e.studentTrain, "student.train", r);
    const auto &k = e.distillation;
    if (k.method != "kd")
        r.error("distillation.method", "unknown method '" + k.method + "' (available: kd)");
    if (!(k.temperature > 0) || !std::isfinite(k.temperature))
        r.error("distillation.temperature", "must be > 0 (got " + std::to_string(k.temperature) + ")");
    if (!(k.alpha >= 0 && k.alpha <= 1))
        r.error("distillation.alpha", "must be in [0, 1] (got " + std::to_string(k.alpha) + ")");
    for (const auto *m : {&e.teacher.model, &e.student}) {
        const std::string path = m == &e.student ? "student.model" : "teacher.model";
        if (!(m->dropout >= 0 && m->dropout < 1))
            r.error(path + ".dropout", "must be in [0, 1)");
        for (std::size_t i = 0; i < m->layers.size(); ++i) {
            const auto &l = m->layers[i];
            if (l.type == "dropout" && !(l.p >= 0 && l.p < 1))
                r.error(path + ".layers[" + std::to_string(i) + "].p", "must be in [0, 1)");
        }
    }
}

Experiment parseExperiment(const std::string &text, const std::string &origin,
                           const std::vector<std::string> &overrides)
{
    json root;
    try {
        root = json::parse(text);
    } catch (const json::out_of_range &e) {
        // A number beyond what a double holds, e.g. 1e999.
        throw ConfigError((origin.empty() ? std::string() : origin + ": ") + "malformed JSON (" + e.what() + ")");
    } catch (const json::parse_error &e) {
        // e.byte is the offset of the error; turn it into line:column.
        std::size_t line = 1, col = 1;
        for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
            if (text[i] == '\n') {
                ++line;
                col = 1;
            } else {
                ++col;
            }
        }
        std::string what = e.what();
        const auto p = what.find("parse error");
        throw ConfigError((origin.empty() ? std::string() : origin + ": ") + "malformed JSON at line " +
                          std::to_string(line) + ", column " + std::to_string(col) + " (" +
                          (p == std::string::npos ? what : what.substr(p)) + ")");
    }
    for (const auto &o : overrides)
        applyOverride(root, o, origin);

    Experiment e;
    ObjectReader r(root, "", origin);
    r.read("version", e.version);
    r.read("name", e.name);
    r.read("seed", e.seed);
    r.read("device", e.device);
    r.read("precision", e.precision);
    r.read("threads", e.threads);
    r.read("blas_threads", e.blasThreads);
    r.read("log_every_steps", e.logEverySteps);
    if (const json *d = r.find("data"))
        readData(*d, origin, e.data);
    if (const json *t = r.find("teacher")) {
        ObjectReader tr(*t, "teacher", origin);
        tr.read("source", e.teacher.source);
        tr.read("run", e.teacher.run);
        tr.read("path", e.teacher.path);
        tr.read("input", e.teacher.input);
        e.teacher.model.preset.clear();
        if (const json *m = tr.find("model"))
            readModel(*m, "teacher.model", origin, e.teacher.model);
        if (const json *tt = tr.find("train"))
            readTrain(*tt, "teacher.train", origin, e.teacher.train);
        tr.finish();
        if (e.teacher.source == "train" && e.teacher.model.preset.empty() && e.teacher.model.layers.empty())
            tr.error("teacher.model", "is required when the teacher is trained (source 'train')");
    }
    if (const json *s = r.find("student")) {
        ObjectReader sr(*s, "student", origin);
        if (const json *m = sr.find("model"))
            readModel(*m, "student.model", origin, e.student);
        if (const json *tt = sr.find("train"))
            readTrain(*tt, "student.train", origin, e.studentTrain);
        sr.finish();
    }
    if (e.student.preset.empty() && e.student.layers.empty())
        r.error("student.model", "is required");
    r.read("baseline", e.baseline);
    if (const json *k = r.find("distillation")) {
        ObjectReader kr(*k, "distillation", origin);
        kr.read("method", e.distillation.method);
        kr.read("temperature", e.distillation.temperature);
        kr.read("alpha", e.distillation.alpha);
        kr.read("teacher_cache", e.distillation.teacherCache);
        kr.finish();
    }
    r.finish();
    validateExperiment(e, origin);
    return e;
}

Experiment loadExperiment(const std::string &path, const std::vector<std::string> &overrides)
{
    std::ifstream f(path, std::ios::binary);
    if (!f)
        throw ConfigError(path + ": cannot open experiment file");
    std::stringstream ss;
    ss << f.rdbuf();
    return parseExperiment(ss.str(), path, overrides);
}

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
    if (d.trainLimit)
        data["train_limit"] = d.trainLimit;
    if (d.studentTrainSize)
        data["student_train_size"] = d.studentTrainSize;
    if (d.source.rfind("synthetic", 0) == 0) {
        data["synthetic_train"] = d.syntheticTrain;
        data["synthetic_test"] = d.syntheticTest;
        data["synthetic_classes"] = d.syntheticClasses;
        data["synthetic_features"] = d.syntheticFeatures;
    }
    json teacher{{"source", e.teacher.source}};
    if (e.teacher.source == "run")
        teacher["run"] = e.teacher.run;
    if (e.teacher.source == "torchscript") {
        teacher["path"] = e.teacher.path;
        teacher["input"] = e.teacher.input;
    }
    if (!e.teacher.model.preset.empty() || !e.teacher.model.layers.empty())
        teacher["model"] = modelToJson(e.teacher.model);
    if (e.teacher.source == "train")
        teacher["train"] = trainToJson(e.teacher.train);
    json root{{"version", e.version},
              {"name", e.name},
              {"seed", e.seed},
              {"device", e.device},
              {"precision", e.precision},
              {"threads", e.threads},
              {"blas_threads", e.blasThreads},
              {"log_every_steps", e.logEverySteps},
              {"data", data},
              {"teacher", teacher},
              {"student", {{"model", modelToJson(e.student)}, {"train", trainToJson(e.studentTrain)}}},
              {"baseline", e.baseline},
              {"distillation",
               {{"method", e.distillation.method},
                {"temperature", e.distillation.temperature},
                {"alpha", e.distillation.alpha},
                {"teacher_cache", e.distillation.teacherCache}}}};
    return root.dump(2) + "\n";
}

std::string architectureToJson(const Architecture &layers)
{
    json j = json::array();
    for (const auto &l : layers)
        j.push_back(layerToJson(l));
    return j.dump(2);
}

Architecture parseArchitecture(const std::string &text, const std::string &origin)
{
    const std::string where = origin.empty() ? std::string("architecture") : origin;
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception &e) {
        throw ConfigError(where + ": not valid JSON (" + e.what() + ")");
    }
    if (!j.is_array())
        throw ConfigError(where + ": layers: must be a list of layers");
    Architecture layers;
    for (std::size_t i = 0; i < j.size(); ++i) {
        LayerSpec l;
        readLayer(j[i], "layers[" + std::to_string(i) + "]", origin, l);
        layers.push_back(l);
    }
    return layers;
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
