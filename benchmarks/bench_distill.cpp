// Throughput of the engine's distillation step on the reference cases, with the
// machine's matrix-multiply rate for scale. Prints figures; judges nothing.
//   build/benchmarks/bench_distill [--case NAME]... [--seconds S] [--threads N] [--blas-threads N] [--json]
#include "distillery/benchmark.h"
#include "distillery/engine.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

int main(int argc, char **argv)
{
    CLI::App app{"Times Distillery's training step on fixed cases (see docs/PERFORMANCE.md)."};
    std::vector<std::string> names;
    double seconds = 3.0;
    int threads = distillery::effectiveThreads(0);
    int torchThreads = 0, blasThreads = 0;
    bool json = false, list = false, bf16 = false;
    std::string device = "cpu";
    app.add_option("--case", names, "Case to run (repeatable; default: all)");
    app.add_option("--seconds", seconds, "Timed seconds per case")->capture_default_str();
    app.add_option("--threads", threads, "Cores to use")->capture_default_str();
    app.add_option("--torch-threads", torchThreads, "LibTorch threads (0: the engine's rule)")->capture_default_str();
    app.add_option("--blas-threads", blasThreads, "OpenBLAS threads (0: the engine's rule)")->capture_default_str();
    app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
    app.add_flag("--bf16", bf16, "Mixed precision: forward passes under bfloat16 autocast");
    app.add_flag("--json", json, "One JSON object per case");
    app.add_flag("--list", list, "List the cases");
    bool noDynamics = false;
    app.add_flag("--no-dynamics", noDynamics,
                 "Without the per-example records of the data map (every stage keeps them), to time their cost");
    CLI11_PARSE(app, argc, argv);

    auto cases = distillery::referenceBenchmarkCases();
    for (auto &c : cases) {
        c.device = device;
        c.mixedPrecision = bf16;
        c.dynamics = !noDynamics;
    }
    if (list) {
        for (const auto &c : cases)
            std::cout << c.name << "\n";
        return 0;
    }
    distillery::SgemmRate rate;
    try {
        rate = device == "cuda" ? distillery::sgemmGflops(8192, 1.0, threads, device)
                                : distillery::sgemmGflops(1024, 1.0, threads);
    } catch (const distillery::ConfigError &e) {
        std::cerr << e.what() << "\n";
        return 2;
    }
    const double sgemm = rate.best();
    if (!json) {
        std::printf("sgemm on %s (%d threads): %.1f GFLOP/s through LibTorch", device.c_str(), threads, rate.libtorch);
        if (rate.onednn > 0)
            std::printf(", %.1f through oneDNN", rate.onednn);
        std::printf("; %% sgemm is of the higher\n\n%-18s %12s %10s %9s %9s %5s\n", "case", "samples/s", "epoch (s)",
                    "GFLOP/s", "% sgemm", "torch/blas");
    }
    bool any = false;
    for (const auto &c : cases) {
        if (!names.empty() && std::find(names.begin(), names.end(), c.name) == names.end())
            continue;
        any = true;
        distillery::BenchmarkResult r;
        try {
            r = distillery::runBenchmark(c, seconds, threads, torchThreads, blasThreads);
        } catch (const std::exception &e) {
            std::cerr << c.name << ": " << e.what() << "\n";
            return 1;
        }
        if (json) {
            std::cout << nlohmann::json{{"case", c.name},       {"samples_per_second", r.samplesPerSecond},
                                        {"gflops", r.gflops},   {"sgemm_gflops", sgemm},
                                        {"sgemm_libtorch_gflops", rate.libtorch}, {"sgemm_onednn_gflops", rate.onednn},
                                        {"blas_threads", r.blasThreads}, {"torch_threads", r.torchThreads}, {"threads", threads},
                                        {"device", device}, {"bf16", bf16},
                                        {"peak_rss_bytes", distillery::peakResidentBytes()},
                                        {"dynamics_seconds_per_step", r.dynamicsSecondsPerStep}}
                             .dump()
                      << std::endl;
        } else {
            std::printf("%-18s %12.0f %10.2f %9.1f %8.0f%% %5d/%d", c.name.c_str(), r.samplesPerSecond,
                        54000.0 / r.samplesPerSecond, r.gflops, 100.0 * r.gflops / sgemm, r.torchThreads, r.blasThreads);
            if (r.dynamicsSecondsPerStep > 0) // the data map's records, of a step's time
                std::printf("   records %.1f us (%.1f%%)", 1e6 * r.dynamicsSecondsPerStep,
                            100.0 * r.dynamicsSecondsPerStep * r.samplesPerSecond / c.batch);
            std::printf("\n");
        }
    }
    if (!any) {
        std::cerr << "no such case (see --list)\n";
        return 2;
    }
    if (!json)
        std::printf("\npeak resident memory: %.0f MiB\n", double(distillery::peakResidentBytes()) / (1 << 20));
    return 0;
}
