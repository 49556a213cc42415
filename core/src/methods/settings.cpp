// The distillation settings a schedule or a change during a run may set
// (distillery/methods.h): which they are, their ranges, and schedules' values.
#include "distillery/methods.h"

#include "experiment/field_error.h"

#include <algorithm>
#include <cmath>

namespace distillery {

namespace {

using detail::plainNumber;

const MethodParam *paramOf(const MethodInfo &m, const std::string &key)
{
    for (const auto &p : m.params)
        if (p.key == key && !p.isSwitch)
            return &p;
    return nullptr;
}

// Whether `key` names distillation.alpha: for a method that uses it. DKD's
// "alpha" is a parameter of its own.
bool isDistillationAlpha(const DistillConfig &config, const std::string &key)
{
    const MethodInfo *m = findMethod(config.method);
    return key == "alpha" && (!m || m->usesAlpha);
}

} // namespace

std::vector<std::string> adjustableSettings(const DistillConfig &config)
{
    std::vector<std::string> keys{"temperature"};
    const MethodInfo *m = findMethod(config.method);
    if (!m)
        return keys;
    if (m->usesAlpha)
        keys.push_back("alpha");
    for (const auto &p : m->params)
        if (!p.isSwitch && !p.whole && !p.fixed)
            keys.push_back(p.key);
    return keys;
}

double distillSetting(const DistillConfig &config, const std::string &key)
{
    if (key == "temperature")
        return config.temperature;
    if (isDistillationAlpha(config, key))
        return config.alpha;
    return methodParam(config, key);
}

void setDistillSetting(DistillConfig &config, const std::string &key, double value)
{
    if (key == "temperature")
        config.temperature = value;
    else if (isDistillationAlpha(config, key))
        config.alpha = value;
    else {
        (void)methodParam(config, key); // throws for a key the method lacks
        config.params[key] = value;
    }
}

std::string settingProblem(const DistillConfig &config, const std::string &key, double value)
{
    const auto keys = adjustableSettings(config);
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        const auto near = nearestName(key, keys);
        std::string all;
        for (const auto &k : keys)
            all += (all.empty() ? "" : ", ") + k;
        return "the method " + config.method + " has no setting '" + key + "' to change" +
               (near.empty() ? " (it has " + all + ")" : "; did you mean '" + near + "'?");
    }
    const std::string got = " (got " + plainNumber(value) + ")";
    if (key == "temperature")
        return value > 0 && std::isfinite(value) ? std::string() : "must be > 0" + got;
    if (isDistillationAlpha(config, key))
        return value >= 0 && value <= 1 ? std::string() : "must be in [0, 1]" + got;
    const MethodParam *p = paramOf(*findMethod(config.method), key);
    return value >= p->min && value <= p->max
               ? std::string()
               : "must be between " + plainNumber(p->min) + " and " + plainNumber(p->max) + got;
}

std::optional<std::pair<std::string, std::string>> scheduleProblem(const DistillConfig &config)
{
    using Problem = std::pair<std::string, std::string>;
    static const std::vector<std::string> shapes{"constant", "linear", "cosine", "step"};
    for (const auto &[key, s] : config.schedules) {
        const std::string field = "distillation.schedules." + key;
        const auto keys = adjustableSettings(config);
        if (std::find(keys.begin(), keys.end(), key) == keys.end())
            return Problem{field, settingProblem(config, key, 0.0)};
        if (std::find(shapes.begin(), shapes.end(), s.shape) == shapes.end()) {
            const auto near = nearestName(s.shape, shapes);
            return Problem{field + ".shape", "unknown shape '" + s.shape + "'" +
                                                 (near.empty() ? " (constant, linear, cosine or step)"
                                                               : "; did you mean '" + near + "'?")};
        }
        for (const auto &[end, value] : {std::pair{"from", s.from}, std::pair{"to", s.to}})
            if (const auto why = settingProblem(config, key, value); !why.empty())
                return Problem{field + "." + end, why};
        if (!(s.start >= 0) || !std::isfinite(s.start))
            return Problem{field + ".start", "must be >= 0 epochs (got " + plainNumber(s.start) + ")"};
        if (!(s.end == 0 || s.end > s.start) || !std::isfinite(s.end))
            return Problem{field + ".end", "must be after start, or 0 for the stage's last epoch (got " +
                                               plainNumber(s.end) + ")"};
    }
    return std::nullopt;
}

double scheduledValue(const ValueSchedule &s, double epochs, int stageEpochs)
{
    if (s.shape == "constant")
        return s.from;
    if (s.shape == "step")
        return epochs < s.start ? s.from : s.to;
    const double end = s.end > 0 ? s.end : double(stageEpochs);
    const double u = end > s.start ? std::clamp((epochs - s.start) / (end - s.start), 0.0, 1.0) : 1.0;
    const double w = s.shape == "cosine" ? (1.0 - std::cos(M_PI * u)) / 2.0 : u;
    return s.from + (s.to - s.from) * w;
}

std::vector<std::string> experimentNotes(const Experiment &e)
{
    std::vector<std::string> notes;
    const DistillConfig &d = e.distillation;
    const double epochs = e.studentTrain.epochs;
    if (d.method == "dkd" && findMethod("dkd")) {
        const double warmup = methodParam(d, "warmup");
        if (warmup > epochs)
            notes.push_back("distillation.params.warmup: DKD's warm-up of " + plainNumber(warmup) +
                            " epochs is longer than the student's " + plainNumber(epochs) + ": its KD terms reach " +
                            plainNumber(std::round(100 * epochs / warmup)) + "% of their weight at most");
    }
    for (const auto &[key, s] : d.schedules) {
        const std::string field = "distillation.schedules." + key;
        if (s.shape != "constant" && s.start >= epochs)
            notes.push_back(field + ": starts at epoch " + plainNumber(s.start) + ", at or after the student's last (" +
                            plainNumber(epochs) + "): it never changes the setting");
        else if ((s.shape == "linear" || s.shape == "cosine") && s.end > epochs)
            notes.push_back(field + ": ends at epoch " + plainNumber(s.end) + ", after the student's last (" +
                            plainNumber(epochs) + "): it stops short of " + plainNumber(s.to));
    }
    return notes;
}

DistillConfig settingsAt(const DistillConfig &config, double epochs, int stageEpochs)
{
    DistillConfig at = config;
    for (const auto &[key, s] : config.schedules)
        setDistillSetting(at, key, scheduledValue(s, epochs, stageEpochs));
    return at;
}

} // namespace distillery
