// analysis/summary.json (docs/INSIGHT.md): the figures of each stage, written
// after each stage and read back by the report tool.
#include "distillery/analysis.h"

#include "runs/atomic_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace distillery {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// JSON has no NaN: a figure that does not apply is null.
json number(double v)
{
    return std::isfinite(v) ? json(v) : json(nullptr);
}

json numbers(const std::vector<double> &v)
{
    json j = json::array();
    for (double x : v)
        j.push_back(number(x));
    return j;
}

json setJson(const ExampleSet &s)
{
    return {{"count", s.count}, {"per_class", s.perClass}, {"indices", s.indices}};
}

json calibrationJson(const Calibration &c)
{
    json bins = json::array();
    for (const auto &b : c.bins)
        bins.push_back({{"lower", b.lower},
                        {"upper", b.upper},
                        {"count", b.count},
                        {"accuracy", number(b.accuracy)},
                        {"confidence", number(b.confidence)}});
    return bins;
}

json stageJson(const StageAnalysis &a)
{
    json j{{"stage", a.stage},
           {"logits", a.logitsFile},
           {"examples", a.examples},
           {"classes", a.classes},
           {"accuracy", number(a.accuracy)},
           {"nll", number(a.nll)},
           {"brier", number(a.brier)},
           {"ece", number(a.calibration.ece)},
           {"calibration_bins", calibrationJson(a.calibration)},
           {"per_class_accuracy", numbers(a.perClassAccuracy)},
           {"class_counts", a.classCounts},
           {"confusion", a.confusion},
           {"parameters", a.parameters},
           {"multiply_adds", a.multiplyAdds},
           {"latency",
            {{"median_ms", number(a.latency.medianMs)},
             {"passes", a.latency.passes},
             {"threads", a.latency.threads},
             {"device", a.latency.device}}},
           {"seconds", a.seconds}};
    if (a.teacher) {
        const auto &t = *a.teacher;
        j["vs_teacher"] = {{"agreement", number(t.agreement)},
                           {"kl", number(t.kl)},
                           {"agreement_per_class", numbers(t.agreementPerClass)},
                           {"kl_per_class", numbers(t.klPerClass)},
                           {"quadrants",
                            {{"both_right", setJson(t.bothRight)},
                             {"teacher_only", setJson(t.teacherOnly)},
                             {"model_only", setJson(t.modelOnly)},
                             {"both_wrong", setJson(t.bothWrong)}}}};
    }
    if (a.baseline)
        j["vs_baseline"] = {{"fixed", setJson(a.baseline->fixed)}, {"broken", setJson(a.baseline->broken)}};
    return j;
}

// Integers are read only from JSON integers: a float (1e300) would not fit.
std::int64_t integer(const json &v)
{
    if (!v.is_number_integer())
        throw std::domain_error("an integer expected, found " + v.dump().substr(0, 40));
    return v.get<std::int64_t>();
}

std::int64_t integerAt(const json &j, const char *key)
{
    return integer(j.at(key));
}

std::vector<std::int64_t> integersAt(const json &j, const char *key)
{
    std::vector<std::int64_t> out;
    for (const auto &v : j.at(key))
        out.push_back(integer(v));
    return out;
}

double numberAt(const json &j, const char *key)
{
    const auto &v = j.at(key);
    return v.is_null() ? kNaN : v.get<double>();
}

std::vector<double> numbersAt(const json &j, const char *key)
{
    std::vector<double> out;
    for (const auto &v : j.at(key))
        out.push_back(v.is_null() ? kNaN : v.get<double>());
    return out;
}

ExampleSet setFrom(const json &j)
{
    ExampleSet s;
    s.count = integerAt(j, "count");
    s.perClass = integersAt(j, "per_class");
    s.indices = integersAt(j, "indices");
    return s;
}

TeacherComparison teacherFrom(const json &t)
{
    TeacherComparison c;
    c.agreement = numberAt(t, "agreement");
    c.kl = numberAt(t, "kl");
    c.agreementPerClass = numbersAt(t, "agreement_per_class");
    c.klPerClass = numbersAt(t, "kl_per_class");
    const json &q = t.at("quadrants");
    c.bothRight = setFrom(q.at("both_right"));
    c.teacherOnly = setFrom(q.at("teacher_only"));
    c.modelOnly = setFrom(q.at("model_only"));
    c.bothWrong = setFrom(q.at("both_wrong"));
    return c;
}

StageAnalysis stageFrom(const json &j)
{
    StageAnalysis a;
    a.stage = j.at("stage").get<std::string>();
    a.logitsFile = j.value("logits", std::string());
    a.examples = integerAt(j, "examples");
    a.classes = integerAt(j, "classes");
    a.accuracy = numberAt(j, "accuracy");
    a.nll = numberAt(j, "nll");
    a.brier = numberAt(j, "brier");
    a.calibration.ece = numberAt(j, "ece");
    for (const auto &b : j.at("calibration_bins"))
        a.calibration.bins.push_back({b.at("lower").get<double>(), b.at("upper").get<double>(),
                                      integerAt(b, "count"), numberAt(b, "accuracy"),
                                      numberAt(b, "confidence")});
    a.perClassAccuracy = numbersAt(j, "per_class_accuracy");
    a.classCounts = integersAt(j, "class_counts");
    for (const auto &row : j.at("confusion")) {
        a.confusion.emplace_back();
        for (const auto &v : row)
            a.confusion.back().push_back(integer(v));
    }
    a.parameters = integerAt(j, "parameters");
    a.multiplyAdds = integerAt(j, "multiply_adds");
    if (const auto l = j.find("latency"); l != j.end() && l->is_object()) {
        a.latency.medianMs = numberAt(*l, "median_ms");
        a.latency.passes = int(std::clamp<std::int64_t>(integerAt(*l, "passes"), 0, 1 << 30));
        a.latency.threads = int(std::clamp<std::int64_t>(integerAt(*l, "threads"), 0, 1 << 20));
        a.latency.device = l->at("device").get<std::string>();
    }
    a.seconds = j.value("seconds", 0.0);
    if (const auto t = j.find("vs_teacher"); t != j.end())
        a.teacher = teacherFrom(*t);
    if (const auto b = j.find("vs_baseline"); b != j.end())
        a.baseline = BaselineComparison{setFrom(b->at("fixed")), setFrom(b->at("broken"))};
    return a;
}

// Every per-class list has one entry per class, and the confusion is square.
void checkShape(const StageAnalysis &a, std::int64_t classes)
{
    const auto k = std::size_t(classes);
    bool ok = a.classes == classes && a.perClassAccuracy.size() == k && a.classCounts.size() == k &&
              a.confusion.size() == k;
    for (const auto &row : a.confusion)
        ok = ok && row.size() == k;
    if (a.teacher)
        for (const auto *set : {&a.teacher->bothRight, &a.teacher->teacherOnly, &a.teacher->modelOnly,
                                &a.teacher->bothWrong})
            ok = ok && set->perClass.size() == k;
    if (a.teacher)
        ok = ok && a.teacher->agreementPerClass.size() == k && a.teacher->klPerClass.size() == k;
    if (a.baseline)
        ok = ok && a.baseline->fixed.perClass.size() == k && a.baseline->broken.perClass.size() == k;
    if (!ok)
        throw std::domain_error("stage " + a.stage + ": lists that do not match its " + std::to_string(classes) +
                                " classes");
}

int stageOrder(const std::string &stage)
{
    return stage == "teacher" ? 0 : stage == "baseline" ? 1 : 2;
}

} // namespace

std::string analysisSummaryJson(const AnalysisSummary &s)
{
    json stages = json::array();
    for (const auto &a : s.stages)
        stages.push_back(stageJson(a));
    return json{{"version", s.version},
                {"temperature", s.temperature},
                {"classes", s.classes},
                {"class_names", s.classNames},
                {"stages", stages}}
               .dump() +
           "\n"; // one line: the example lists are long (distillery-report or jq show it)
}

AnalysisSummary readAnalysisSummary(const std::string &runDir)
{
    const fs::path path = fs::path(runDir) / "analysis" / "summary.json";
    std::ifstream f(path);
    if (!f)
        throw AnalysisError(path.string() + ": not found (no analysis in this run)");
    const json j = json::parse(f, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object())
        throw AnalysisError(path.string() + ": damaged (not a JSON object)");
    AnalysisSummary s;
    try {
        const std::int64_t version = integerAt(j, "version");
        if (version != 1)
            throw AnalysisError(path.string() + ": version " + std::to_string(version) + " is not known");
        s.temperature = j.at("temperature").get<double>();
        s.classes = integerAt(j, "classes");
        if (s.classes < 1 || s.classes > (1 << 20))
            throw std::domain_error("classes: " + std::to_string(s.classes));
        s.classNames = j.value("class_names", std::vector<std::string>());
        if (!j.at("stages").is_array())
            throw std::domain_error("stages: not a list");
        for (const auto &st : j.at("stages")) {
            s.stages.push_back(stageFrom(st));
            checkShape(s.stages.back(), s.classes);
        }
    } catch (const json::exception &e) {
        throw AnalysisError(path.string() + ": damaged (" + e.what() + ")");
    } catch (const std::domain_error &e) {
        throw AnalysisError(path.string() + ": damaged (" + e.what() + ")");
    }
    return s;
}

void recordStageAnalysis(const std::string &runDir, const AnalysisSummary &header, const StageAnalysis &stage)
{
    AnalysisSummary s = header;
    s.stages.clear();
    try {
        for (auto &old : readAnalysisSummary(runDir).stages)
            if (old.stage != stage.stage)
                s.stages.push_back(std::move(old));
    } catch (const AnalysisError &) {
        // None yet (the first stage), or a damaged one: written anew.
    }
    s.stages.push_back(stage);
    std::stable_sort(s.stages.begin(), s.stages.end(), [](const StageAnalysis &a, const StageAnalysis &b) {
        return stageOrder(a.stage) < stageOrder(b.stage);
    });
    const fs::path dir = fs::path(runDir) / "analysis";
    std::error_code ec;
    fs::create_directory(dir, ec); // the run folder itself is never made again here
    detail::writeFileAtomically((dir / "summary.json").string(), analysisSummaryJson(s));
}

} // namespace distillery
