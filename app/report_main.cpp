// distillery-report: the figures of a run's analysis/ folder (docs/INSIGHT.md)
// as tables, or as JSON: each stage's accuracy, NLL, Brier score, ECE and
// fidelity to the teacher, the per-class table, and the teacher's
// dark-knowledge matrix at a temperature.
#include "console_format.h"
#include "distillery/analysis.h"
#include "distillery/experiment.h"
#include "distillery/methods.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

namespace {

using namespace distillery;
namespace fs = std::filesystem;

std::string fixed(double v, int digits)
{
    if (!std::isfinite(v))
        return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

std::string percent(double v)
{
    return std::isfinite(v) ? fixed(100.0 * v, 2) + "%" : "-";
}

using console::human;

void printStages(const AnalysisSummary &s)
{
    std::printf("%-9s %9s %8s %8s %8s %10s %9s %9s %10s %11s\n", "stage", "accuracy", "NLL", "Brier", "ECE",
                "agreement", "KL(t||m)", "params", "mult-adds", "latency ms");
    for (const auto &a : s.stages) {
        const double agree = a.teacher ? a.teacher->agreement : std::nan("");
        const double kl = a.teacher ? a.teacher->kl : std::nan("");
        std::printf("%-9s %9s %8s %8s %8s %10s %9s %9s %10s %11s\n", a.stage.c_str(), percent(a.accuracy).c_str(),
                    fixed(a.nll, 4).c_str(), fixed(a.brier, 4).c_str(), fixed(a.calibration.ece, 4).c_str(),
                    percent(agree).c_str(), fixed(kl, 4).c_str(), human(double(a.parameters)).c_str(),
                    human(double(a.multiplyAdds)).c_str(), fixed(a.latency.medianMs, 3).c_str());
    }
}

std::string className(const AnalysisSummary &s, std::size_t k)
{
    std::string name = std::to_string(k);
    if (k < s.classNames.size() && !s.classNames[k].empty())
        name += " " + s.classNames[k];
    return name.substr(0, 16);
}

double classAccuracy(const StageAnalysis *a, std::size_t k)
{
    return a && k < a->perClassAccuracy.size() ? a->perClassAccuracy[k] : std::nan("");
}

void printClasses(const AnalysisSummary &s)
{
    const StageAnalysis *teacher = s.stage("teacher");
    const StageAnalysis *baseline = s.stage("baseline");
    const StageAnalysis *student = s.stage("student");
    const bool compared = student && student->baseline;
    std::printf("\n%-16s %8s %9s %8s %8s %6s %7s\n", "class", "teacher", "baseline", "student", "gain", "fixed",
                "broken");
    for (std::size_t k = 0; k < std::size_t(s.classes); ++k) {
        const double gain = classAccuracy(student, k) - classAccuracy(baseline, k);
        const std::string sign = std::isfinite(gain) && gain > 0 ? "+" : "";
        std::printf("%-16s %8s %9s %8s %8s %6s %7s\n", className(s, k).c_str(),
                    percent(classAccuracy(teacher, k)).c_str(), percent(classAccuracy(baseline, k)).c_str(),
                    percent(classAccuracy(student, k)).c_str(), (sign + fixed(100.0 * gain, 2)).c_str(),
                    compared ? std::to_string(student->baseline->fixed.perClass.at(k)).c_str() : "-",
                    compared ? std::to_string(student->baseline->broken.perClass.at(k)).c_str() : "-");
    }
    const auto overall = [](const StageAnalysis *a) { return percent(a ? a->accuracy : std::nan("")); };
    std::printf("%-16s %8s %9s %8s %8s %6s %7s\n", "all", overall(teacher).c_str(), overall(baseline).c_str(),
                overall(student).c_str(), "", compared ? std::to_string(student->baseline->fixed.count).c_str() : "-",
                compared ? std::to_string(student->baseline->broken.count).c_str() : "-");
}

void printDarkKnowledge(const AnalysisSummary &s, const std::vector<std::vector<double>> &m, double temperature)
{
    std::printf("\ndark knowledge: the teacher's mean softmax(z/T) per true class (rows), T = %g\n%6s", temperature,
                "");
    for (std::size_t j = 0; j < m.size(); ++j)
        std::printf(" %6zu", j);
    std::printf("\n");
    for (std::size_t y = 0; y < m.size(); ++y) {
        std::printf("%6zu", y);
        for (double v : m[y])
            std::printf(" %6s", fixed(v, 3).c_str());
        std::printf("   %s\n", y < s.classNames.size() ? s.classNames[y].c_str() : "");
    }
}

nlohmann::json matrixJson(const std::vector<std::vector<double>> &m)
{
    nlohmann::json j = nlohmann::json::array();
    for (const auto &row : m) {
        nlohmann::json r = nlohmann::json::array();
        for (double v : row)
            r.push_back(std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr));
        j.push_back(r);
    }
    return j;
}

// A stage's data map summarised (and, when `full`, per example), or why not.
struct StageMap {
    std::string stage;
    TrainingDynamics dynamics;
    DataMap map;
    std::string error;
};

std::vector<StageMap> readDataMaps(const std::string &run, const AnalysisSummary &summary)
{
    std::vector<StageMap> maps;
    for (const auto &st : summary.stages) {
        const auto path = fs::path(run) / "analysis" / (st.stage + ".dynamics");
        if (!fs::exists(path))
            continue; // a reused or imported teacher, or a run from before the data map
        StageMap m{st.stage, {}, {}, {}};
        try {
            m.dynamics = readTrainingDynamics(path.string());
            m.map = dataMap(m.dynamics);
        } catch (const AnalysisError &e) {
            m.error = e.what();
        }
        maps.push_back(std::move(m));
    }
    return maps;
}

struct MapFigures {
    double meanConfidence = 0, meanVariability = 0;
    std::int64_t seen = 0, alwaysRight = 0, neverRight = 0;
};

MapFigures mapFigures(const DataMap &m)
{
    MapFigures f;
    for (std::int64_t i = 0; i < m.size(); ++i) {
        if (!std::isfinite(m.confidence[std::size_t(i)]))
            continue;
        ++f.seen;
        f.meanConfidence += m.confidence[std::size_t(i)];
        f.meanVariability += m.variability[std::size_t(i)];
        f.alwaysRight += m.correctness[std::size_t(i)] == 1.0;
        f.neverRight += m.correctness[std::size_t(i)] == 0.0;
    }
    if (f.seen > 0) {
        f.meanConfidence /= double(f.seen);
        f.meanVariability /= double(f.seen);
    }
    return f;
}

void printDataMaps(const std::vector<StageMap> &maps)
{
    if (maps.empty())
        return;
    std::printf("\ndata map of the training split (probability of the true class over the epochs)\n");
    std::printf("%-9s %9s %7s %11s %12s %13s %12s\n", "stage", "examples", "epochs", "confidence", "variability",
                "always right", "never right");
    for (const auto &m : maps) {
        if (!m.error.empty()) {
            std::printf("%-9s %s\n", m.stage.c_str(), m.error.c_str());
            continue;
        }
        const MapFigures f = mapFigures(m.map);
        std::printf("%-9s %9lld %7lld %11.4f %12.4f %13lld %12lld\n", m.stage.c_str(), (long long)m.dynamics.rows,
                    (long long)m.dynamics.epochs, f.meanConfidence, f.meanVariability, (long long)f.alwaysRight,
                    (long long)f.neverRight);
    }
}

nlohmann::json numbers(const std::vector<double> &v)
{
    nlohmann::json j = nlohmann::json::array();
    for (double x : v)
        j.push_back(std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr));
    return j;
}

nlohmann::json dataMapsJson(const std::vector<StageMap> &maps, bool full)
{
    nlohmann::json j = nlohmann::json::object();
    for (const auto &m : maps) {
        if (!m.error.empty()) {
            j[m.stage] = {{"error", m.error}};
            continue;
        }
        const MapFigures f = mapFigures(m.map);
        nlohmann::json s = {{"examples", m.dynamics.rows},       {"epochs", m.dynamics.epochs},
                            {"mean_confidence", f.meanConfidence}, {"mean_variability", f.meanVariability},
                            {"always_right", f.alwaysRight},       {"never_right", f.neverRight}};
        if (full) {
            s["train_rows"] = m.dynamics.trainRows;
            s["confidence"] = numbers(m.map.confidence);
            s["variability"] = numbers(m.map.variability);
            s["correctness"] = numbers(m.map.correctness);
        }
        j[m.stage] = s;
    }
    return j;
}

// The run's method when it trains without a teacher (mutual learning), else
// empty. Only distillation.method is read, so a config of another version
// still answers; one that cannot be read leaves reading the teacher's logits
// to say what is missing.
std::string teacherlessMethod(const std::string &run)
{
    std::ifstream in(fs::path(run) / "config.json");
    const nlohmann::json config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    const auto distillation = config.is_object() ? config.find("distillation") : config.end();
    if (distillation == config.end() || !distillation->is_object())
        return {};
    const auto method = distillation->find("method");
    if (method == distillation->end() || !method->is_string())
        return {};
    DistillConfig k;
    k.method = method->get<std::string>();
    return trainsWithoutTeacher(k) ? k.method : std::string();
}

} // namespace

int main(int argc, char **argv)
{
    CLI::App app{"Prints the analysis of a Distillery run (its analysis/ folder): accuracy, NLL, Brier score, ECE "
                 "and fidelity to the teacher per stage, the per-class table and the teacher's dark knowledge."};
    app.set_version_flag("--version", std::string("distillery-report ") + DISTILLERY_VERSION);
    std::string run;
    bool json = false;
    bool fullMap = false;
    double temperature = 0.0;
    app.add_option("run", run, "Run folder, e.g. workspace/runs/20261129-101500-quick")->required();
    app.add_flag("--json", json, "Print the summary as JSON (with the dark-knowledge matrix)");
    app.add_flag("--data-map", fullMap, "With --json: each training example's confidence, variability and correctness");
    app.add_option("-t,--temperature", temperature, "Temperature of the dark-knowledge matrix (default: the run's)")
        ->check(CLI::PositiveNumber);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    if (!fs::is_regular_file(fs::path(run) / "config.json")) {
        std::cerr << "error: " << run << ": not a run folder (no config.json)\n";
        return 2;
    }
    if (!fs::exists(fs::path(run) / "analysis" / "summary.json")) {
        std::cerr << "no analysis in " << run << ": re-run it (runs made before analysis existed have none)\n";
        return 2;
    }
    AnalysisSummary summary;
    std::vector<std::vector<double>> dark;
    std::string darkError;
    try {
        summary = readAnalysisSummary(run);
        if (temperature <= 0.0)
            temperature = summary.temperature;
        if (const std::string method = teacherlessMethod(run); !method.empty()) {
            darkError = "none: the run has no teacher (" + method + ")";
        } else {
            const AnalysisLogits teacher = readAnalysisLogits((fs::path(run) / "analysis" / "teacher.logits").string());
            dark = darkKnowledge(teacher.view(), teacher.labels.data(), temperature);
        }
    } catch (const AnalysisError &e) {
        if (summary.stages.empty()) {
            std::cerr << "error: " << e.what() << "\n";
            return 2;
        }
        darkError = e.what(); // the figures are there; the dark knowledge is not
    }
    const std::vector<StageMap> maps = readDataMaps(run, summary);
    if (json) {
        nlohmann::json j = nlohmann::json::parse(analysisSummaryJson(summary));
        j["data_map"] = dataMapsJson(maps, fullMap);
        j["run"] = run;
        j["dark_knowledge"] = {{"temperature", temperature}, {"matrix", matrixJson(dark)}};
        if (!darkError.empty())
            j["dark_knowledge"]["error"] = darkError;
        std::cout << j.dump(1) << std::endl;
        return 0;
    }
    std::printf("run: %s\nrun's temperature: %g, %lld classes, %lld test examples\n\n", run.c_str(),
                summary.temperature, (long long)summary.classes,
                summary.stages.empty() ? 0LL : (long long)summary.stages.front().examples);
    printStages(summary);
    printClasses(summary);
    if (darkError.empty())
        printDarkKnowledge(summary, dark, temperature);
    else
        std::printf("\ndark knowledge: %s\n", darkError.c_str());
    printDataMaps(maps);
    return 0;
}
