// The distillation methods Distillery offers, described as data: their names,
// references, formulas and parameters with defaults and ranges. The engine
// implements each (core/src/methods/); the experiment reader checks settings
// against this list, and the window builds its forms from it.
#pragma once

#include "distillery/architecture.h"
#include "distillery/experiment.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace distillery {

struct MethodParam {
    std::string key;            // in the experiment file: distillation.params.<key>
    std::string label;          // for a form
    double defaultValue = 0.0;  // as in the authors' reference code
    double min = 0.0, max = 0.0;
    bool isSwitch = false;      // 0 or 1 (true/false in the file)
    std::string help;           // what it does, for a tooltip
    // A whole number fixed before the run (a count, e.g. the cohort's size):
    // no schedule or change while the run trains.
    bool whole = false;
    // Fixed before the run though not a count (CRD's τ, which its normalising
    // constants are computed for): no schedule or change while the run trains.
    bool fixed = false;
};

// Feature methods: the taps they pair when distillation.pairs is empty.
enum class DefaultTaps {
    None,       // a method on logits alone
    Stages,     // every stage tap both models have (else every pooling tap)
    Last,       // the last of those
    Middle,     // the middle one (of three stages, the second)
    Embedding,  // "embedding" with "embedding"
};
// What the two taps of a pair must be.
enum class PairNeeds {
    Anything,   // any shapes: each sample's feature is flattened
    Maps,       // image maps (channels×height×width) on both sides
    SameSize,   // maps of equal height and width, or two vectors (an adapter maps the channels)
};

struct MethodInfo {
    std::string name;           // distillation.method
    std::string title;          // e.g. "Decoupled KD (Zhao et al. 2022)"
    std::string reference;      // the paper and the code the loss follows
    std::string formula;        // the loss, in plain text
    bool usesAlpha = false;     // whether distillation.alpha weighs its terms
    std::vector<MethodParam> params;
    DefaultTaps defaultTaps = DefaultTaps::None;
    PairNeeds pairNeeds = PairNeeds::Anything;
    // Trains without a teacher: the run has no teacher's stage, and the
    // students learn from each other (Deep Mutual Learning).
    bool online = false;
    bool usesFeatures() const { return defaultTaps != DefaultTaps::None; }
};

// Every method, in the order a picker lists them.
const std::vector<MethodInfo> &distillationMethods();
// The method called `name`, or null.
const MethodInfo *findMethod(const std::string &name);
// Whether the configured method trains without a teacher (mutual learning):
// the run then has no teacher's stage, cache, card row or shared sweep teacher.
bool trainsWithoutTeacher(const DistillConfig &config);
// What is wrong with the method's settings, as (field, message), e.g.
// ("distillation.params.betta", "the method dkd has no such parameter; did
// you mean 'beta'?"): an unknown method or parameter (the nearest name
// suggested), a value out of range or a switch that is not 0/1.
std::optional<std::pair<std::string, std::string>> methodSettingsProblem(const DistillConfig &config);

// The method's pairing of a teacher's taps with a student's (both from
// modelTaps): distillation.pairs when given, else the method's default. Every
// name is checked to exist and every pair to suit the method. Throws
// ConfigError naming the field (distillation.pairs[i].teacher, ...) with the
// taps' names and shapes; empty for a method on logits alone.
std::vector<std::pair<Tap, Tap>> resolvePairs(const DistillConfig &config, const std::vector<Tap> &teacher,
                                              const std::vector<Tap> &student);
// Why taps `teacher` and `student` cannot be a pair of `method`, or "".
std::string pairProblem(const MethodInfo &method, const Tap &teacher, const Tap &student);

// The settings of `config`'s method that a schedule or a change during a run
// may set: "temperature", "alpha" where the method uses it, and its
// parameters that are not switches.
std::vector<std::string> adjustableSettings(const DistillConfig &config);
// A setting by key (as adjustableSettings names them), and its change.
// Throw ConfigError for a key the method lacks.
double distillSetting(const DistillConfig &config, const std::string &key);
void setDistillSetting(DistillConfig &config, const std::string &key, double value);
// Why `value` cannot be the setting `key` (an unknown key with the nearest
// suggested, a value out of its range), or "".
std::string settingProblem(const DistillConfig &config, const std::string &key, double value);
// What is wrong with the schedules, as (field, message), or nothing.
std::optional<std::pair<std::string, std::string>> scheduleProblem(const DistillConfig &config);
// A schedule's value `epochs` (fractions count) into a stage of `stageEpochs`.
double scheduledValue(const ValueSchedule &schedule, double epochs, int stageEpochs);
// `config` with every scheduled setting at its value `epochs` into the stage.
DistillConfig settingsAt(const DistillConfig &config, double epochs, int stageEpochs);

// Settings that are valid but cannot do what they say within the student's
// budget, one sentence each naming the field: DKD's warm-up longer than the
// student's epochs (its KD terms never reach full weight), a schedule that
// starts or ends after the last epoch. The runner prints them and the window
// shows them; they never stop a run.
std::vector<std::string> experimentNotes(const Experiment &e);

// A parameter of the experiment's method: its value in distillation.params,
// else the method's default. Throws ConfigError for a key the method lacks.
double methodParam(const DistillConfig &config, const std::string &key);

} // namespace distillery
