// The run index's cost (docs/RUNS.md, docs/PERFORMANCE.md): a workspace of
// generated run folders (config.json, summary.json and metrics.jsonl as the
// engine writes them, a few settings varied), then the times of a rebuild, of
// an open that finds nothing changed, of listing every run and of filters.
//
//   bench_run_index [--runs 10000] [--repeats 20] [--workspace DIR (kept)]
#include "distillery/events.h"
#include "distillery/experiment.h"
#include "distillery/runindex.h"
#include "distillery/runs.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

using namespace distillery;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void writeFile(const fs::path &p, const std::string &text)
{
    std::ofstream(p) << text;
}

StageResult stage(StageKind kind, double accuracy, std::int64_t parameters)
{
    StageResult s;
    s.kind = kind;
    s.status = RunStatus::Finished;
    s.epochsDone = s.bestEpoch = 3;
    s.bestValAccuracy = s.testAccuracy = s.finalTestAccuracy = accuracy;
    s.seconds = 4.5;
    s.parameters = parameters;
    return s;
}

// One run folder as the engine leaves it, its settings drawn from `rng`.
void writeRun(const fs::path &runs, int i, std::mt19937 &rng)
{
    std::uniform_real_distribution<double> u(0.0, 1.0);
    Experiment e;
    e.name = "kd-" + std::to_string(i);
    e.seed = i;
    e.distillation.alpha = std::round(u(rng) * 10) / 10;
    e.distillation.temperature = double(1 + int(u(rng) * 8));
    e.student.hidden = {16 << int(u(rng) * 4)};
    e.studentTrain.lr = 0.01 * (1 + int(u(rng) * 5));
    char folder[64];
    std::snprintf(folder, sizeof folder, "2026%02d%02d-%06d-%s", 1 + i / 3000 % 12, 1 + i % 28, i % 1000000,
                  e.name.c_str());
    const fs::path dir = runs / folder;
    fs::create_directories(dir / "checkpoints");
    writeFile(dir / "config.json", experimentToJson(e));
    const double teacher = 0.85 + 0.1 * u(rng), baseline = 0.7 + 0.1 * u(rng), student = baseline + 0.1 * u(rng) - 0.03;
    const std::vector<StageResult> stages = {stage(StageKind::Teacher, teacher, 1200000),
                                             stage(StageKind::Baseline, baseline, 25000),
                                             stage(StageKind::Distillation, student, 25000)};
    const char *status = i % 50 == 0 ? "stopped" : "finished";
    json summary = {{"name", e.name}, {"started", "2026-01-01T00:00:00Z"}, {"device", "cpu"}, {"threads", 2},
                    {"seed", e.seed}, {"status", status}, {"seconds", 13.5}, {"message", ""},
                    {"teacher", {{"model", "mlp"}, {"parameters", 1200000}}},
                    {"student", {{"model", "mlp"}, {"parameters", 25000}}}};
    std::string metrics;
    for (const auto &s : stages) {
        summary["stages"][stageName(s.kind)] = json::parse(eventJson(s));
        for (int epoch = 1; epoch <= 3; ++epoch) {
            EpochMetrics m;
            m.stage = s.kind;
            m.epoch = epoch;
            m.epochs = 3;
            m.testAccuracy = s.testAccuracy;
            metrics += eventJson(m) + "\n";
        }
        metrics += eventJson(s) + "\n";
    }
    writeFile(dir / "summary.json", summary.dump(2) + "\n");
    writeFile(dir / "metrics.jsonl", metrics);
}

template <class F> double ms(F &&f)
{
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

template <class F> double medianMs(int repeats, F &&f)
{
    std::vector<double> t;
    for (int r = 0; r < repeats; ++r)
        t.push_back(ms(f));
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

} // namespace

int main(int argc, char **argv)
{
    CLI::App app{"Times the run index on a generated workspace."};
    int runs = 10000, repeats = 20;
    std::string workspace;
    app.add_option("--runs", runs, "Run folders to generate")->capture_default_str();
    app.add_option("--repeats", repeats, "Repeats of each query (the median is printed)")->capture_default_str();
    app.add_option("--workspace", workspace, "Generate into (and keep) this folder; else a temporary one");
    CLI11_PARSE(app, argc, argv);
    const bool keep = !workspace.empty();
    if (!keep)
        workspace = (fs::temp_directory_path() / ("bench_run_index-" + std::to_string(::getpid()))).string();
    fs::remove_all(workspace);
    std::mt19937 rng(1);
    const double generate = ms([&] {
        for (int i = 0; i < runs; ++i)
            writeRun(fs::path(workspace) / "runs", i, rng);
    });
    std::printf("generated %d run folders in %.0f ms (%s)\n", runs, generate, workspace.c_str());
    int indexed = 0;
    const double rebuild = ms([&] { indexed = RunIndex(workspace, false).reindex(); });
    std::printf("reindex:                    %8.1f ms (%d runs)\n", rebuild, indexed);
    const double open = medianMs(5, [&] { RunIndex index(workspace); });
    std::printf("open + refresh (no change): %8.1f ms\n", open);
    RunIndex index(workspace, false);
    std::size_t n = 0;
    const auto time = [&](const char *what, const std::string &filter, const std::string &sort) {
        const double t = medianMs(repeats, [&] { n = index.query(filter, sort).size(); });
        std::printf("%-27s %8.1f ms (%zu runs)\n", what, t, n);
    };
    time("list all:", "", "");
    time("list all, sort by accuracy:", "", "accuracy");
    time("filter alpha/status:", "alpha >= 0.5 and status = finished", "");
    time("filter and/or/():", "(temperature = 4 or temperature > 7) and gain > 0.02", "alpha");
    time("filter ~:", "name ~ 99", "");
    if (!keep)
        fs::remove_all(workspace);
    return 0;
}
