// Experiment and architecture files read from JSON: every key checked, unknown
// ones refused with a suggestion, --set overrides applied first.
#include "distillery/experiment.h"
#include "distillery/methods.h"

#include "experiment/distillation_reader.h"
#include "experiment/field_error.h"
#include "experiment/object_reader.h"
#include "experiment/sweep_reader.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace distillery {

using nlohmann::json;

void detail::throwFieldError(const std::string &origin, const std::string &field, const std::string &message)
{
    throw ConfigError((origin.empty() ? std::string() : origin + ": ") + field + ": " + message);
}

std::string detail::plainNumber(double v)
{
    std::ostringstream out;
    out << v;
    return out.str();
}

bool LayerSpec::operator==(const LayerSpec &o) const
{
    return type == o.type && out == o.out && kernel == o.kernel && stride == o.stride && padding == o.padding &&
           p == o.p && bias == o.bias && tap == o.tap;
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
    // Close enough to be a typo: at most a third of the word's letters, and never fewer than 2 edits.
    return bestD <= std::max<std::size_t>(2, word.size() / 3) ? best : std::string();
}

namespace {

using detail::ObjectReader;

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
    r.read("tap", l.tap);
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
    r.read("max_norm", t.maxNorm);
    r.read("jitter", t.jitter);
    r.read("crop", t.crop);
    r.read("flip", t.flip);
    r.read("erase", t.erase);
    r.read("mixup", t.mixup);
    r.read("cutmix", t.cutmix);
    r.finish();
}

void readData(const json &j, const std::string &origin, DataConfig &d)
{
    ObjectReader r(j, "data", origin);
    r.read("source", d.source);
    r.read("path", d.path);
    r.read("test_path", d.testPath);
    r.read("cifar100_labels", d.cifar100Labels);
    r.read("color", d.color);
    if (const json *size = r.find("image_size")) {
        // [height, width], or one number for a square; out-of-range values
        // become -1, which validation refuses with the range.
        auto side = [](const json &v) {
            const auto n = v.get<std::int64_t>();
            return n >= 0 && n <= 65536 ? int(n) : -1;
        };
        if (size->is_number_integer()) {
            d.imageHeight = d.imageWidth = side(*size);
        } else if (size->is_array() && size->size() == 2 && (*size)[0].is_number_integer() &&
                   (*size)[1].is_number_integer()) {
            d.imageHeight = side((*size)[0]);
            d.imageWidth = side((*size)[1]);
        } else {
            r.error(r.field("image_size"), "must be [height, width] in pixels, or one number for a square");
        }
    }
    r.read("resize", d.resize);
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
    if (const json *omit = r.find("omit_classes")) {
        if (!omit->is_array())
            r.error(r.field("omit_classes"), "must be a list of class indices, e.g. [3]");
        d.omitClasses.clear();
        for (const auto &c : *omit) {
            if (!c.is_number_integer() || c.get<std::int64_t>() < 0 || c.get<std::int64_t>() > 100000)
                r.error(r.field("omit_classes"), "class indices are whole numbers from 0 (got " + c.dump() + ")");
            d.omitClasses.push_back(int(c.get<std::int64_t>()));
        }
    }
    if (const json *shift = r.find("omitted_bias_shift")) {
        if (shift->is_number())
            d.omittedBiasShift = shift->get<double>();
        else if (!(shift->is_string() && shift->get<std::string>() == "auto"))
            r.error(r.field("omitted_bias_shift"), "must be a number or \"auto\" (chosen on the validation split)");
    }
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

// The experiment file's JSON; a ConfigError with the line and column where it is malformed.
json parseExperimentJson(const std::string &text, const std::string &origin)
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
    return root;
}

// The --set assignments, in order. A run's config.json names every parameter
// of its method: another method chosen with --set starts from its own
// defaults (a "beta" of one method is not the "beta" of another), unless
// --set gives parameters too.
void applyOverrides(json &root, const std::vector<std::string> &overrides, const std::string &origin)
{
    bool methodSet = false, paramsSet = false, pairsSet = false, schedulesSet = false;
    for (const auto &o : overrides) {
        applyOverride(root, o, origin);
        methodSet = methodSet || o.rfind("distillation.method=", 0) == 0;
        paramsSet = paramsSet || o.rfind("distillation.params", 0) == 0;
        pairsSet = pairsSet || o.rfind("distillation.pairs", 0) == 0;
        schedulesSet = schedulesSet || o.rfind("distillation.schedules", 0) == 0;
    }
    if (!methodSet || !root.contains("distillation") || !root["distillation"].is_object())
        return;
    json &d = root["distillation"];
    if (!paramsSet)
        d.erase("params");
    if (!pairsSet)
        d.erase("pairs");
    // A schedule of T or α still applies; one of a parameter was the old method's.
    if (!schedulesSet && d.contains("schedules") && d["schedules"].is_object())
        for (auto it = d["schedules"].begin(); it != d["schedules"].end();)
            it = it.key() == "temperature" || it.key() == "alpha" ? std::next(it) : d["schedules"].erase(it);
}

// A teacher's object: "teacher", or one of "teachers" (`path`: "teachers[i]").
void readTeacher(const json &j, const std::string &path, const std::string &origin, TeacherConfig &t)
{
    ObjectReader tr(j, path, origin);
    tr.read("source", t.source);
    tr.read("run", t.run);
    tr.read("stage", t.stage);
    tr.read("path", t.path);
    tr.read("input", t.input);
    tr.read("weight", t.weight);
    t.model.preset.clear();
    if (const json *m = tr.find("model"))
        readModel(*m, path + ".model", origin, t.model);
    if (const json *tt = tr.find("train"))
        readTrain(*tt, path + ".train", origin, t.train);
    tr.finish();
    // A further teacher is never trained here (validateExperiment says so).
    if (path == "teacher" && t.source == "train" && t.model.preset.empty() && t.model.layers.empty())
        tr.error(path + ".model", "is required when the teacher is trained (source 'train')");
}

} // namespace

Experiment parseExperiment(const std::string &text, const std::string &origin,
                           const std::vector<std::string> &overrides)
{
    json root = parseExperimentJson(text, origin);
    applyOverrides(root, overrides, origin);

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
    if (const json *d = r.find("distributed")) {
        ObjectReader dr(*d, "distributed", origin);
        dr.read("processes", e.distributed.processes);
        dr.read("backend", e.distributed.backend);
        dr.read("sync_batch_norm", e.distributed.syncBatchNorm);
        dr.read("timeout_seconds", e.distributed.timeoutSeconds);
        dr.finish();
    }
    if (const json *d = r.find("data"))
        readData(*d, origin, e.data);
    if (const json *t = r.find("teacher"))
        readTeacher(*t, "teacher", origin, e.teacher);
    if (const json *ts = r.find("teachers")) {
        if (!ts->is_array())
            r.error("teachers", "must be a list of teachers, each as \"teacher\" is written, with a \"weight\"");
        for (std::size_t i = 0; i < ts->size(); ++i) {
            e.teachers.emplace_back();
            readTeacher((*ts)[i], "teachers[" + std::to_string(i) + "]", origin, e.teachers.back());
        }
        if (e.teachers.empty())
            r.error("teachers", "is empty: list at least one further teacher, or leave the key out for one teacher");
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
    r.read("baseline_run", e.baselineRun);
    if (const json *k = r.find("distillation"))
        detail::readDistillation(*k, origin, e.distillation);
    if (const json *sw = r.find("sweep"))
        detail::readSweep(*sw, origin, e.sweep);
    if (const json *p = r.find("sweep_point"))
        detail::readSweepPoint(*p, origin, e.sweepPoint);
    r.read("keep_epoch_states", e.keepEpochStates);
    if (const json *f = r.find("forked_from")) {
        ObjectReader fr(*f, "forked_from", origin);
        fr.read("run", e.forkedFrom.run);
        fr.read("epoch", e.forkedFrom.epoch);
        fr.finish();
        if (e.forkedFrom.epoch < 1 || e.forkedFrom.run.empty())
            fr.error("forked_from", "needs the origin's run folder and an epoch >= 1");
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

} // namespace distillery
