// Timing of the engine's own training step on fixed cases, for the benchmark
// program (benchmarks/bench_distill) and its comparison with PyTorch.
#pragma once

#include "distillery/experiment.h"
#include "distillery/architecture.h"

#include <cstdint>
#include <string>
#include <vector>

namespace distillery {

struct BenchmarkCase {
    std::string name;
    ModelSpec teacher;
    ModelSpec student;
    Shape input{1, 28, 28};
    int classes = 10;
    int batch = 128;
    bool cachedTeacher = false;     // distil from precomputed teacher logits
    bool inference = false;         // time the teacher's evaluation instead (batch 256)
    TrainConfig train;              // the student's optimiser
    double temperature = 4.0, alpha = 0.5;
    std::string method = "kd";      // distillation.method, with its default parameters and pairs
    std::string device = "cpu";     // cpu | cuda
    bool mixedPrecision = false;    // forward passes under bfloat16 autocast, as precision "bf16"
    bool dynamics = true;           // record each example's probability of its class, as every stage does
};

struct BenchmarkResult {
    double samplesPerSecond = 0.0;
    double flopsPerSample = 0.0;    // 2 per multiply-add; training counts forward and backward (3x)
    double gflops = 0.0;
    int torchThreads = 0;
    int blasThreads = 0;
    // Of a training step, the time of the per-example records alone (the
    // data map's, BenchmarkCase::dynamics), timed apart after the steps; 0 when off.
    double dynamicsSecondsPerStep = 0.0;
};

// The reference cases (a) to (f) of docs/PERFORMANCE.md.
std::vector<BenchmarkCase> referenceBenchmarkCases();

// Runs `c` for about `seconds` after a warm-up on random data held as one tensor,
// through the same step code as the engine, on `threads` cores split between
// LibTorch and OpenBLAS as the engine splits them; `torchThreads` or
// `blasThreads` above 0 fix that count instead.
BenchmarkResult runBenchmark(const BenchmarkCase &c, double seconds, int threads, int torchThreads = 0,
                             int blasThreads = 0);

// Single-precision matrix product rates (GFLOP/s) of n x n matrices on
// `threads` cores or on "cuda": through LibTorch's mm (OpenBLAS on the CPU,
// cuBLAS on CUDA) and, on the CPU in builds where linear layers run through
// oneDNN, through oneDNN's sgemm (0 otherwise). The better of the two is the
// machine's rate that the benchmark's GFLOP/s are held against.
struct SgemmRate {
    double libtorch = 0.0;
    double onednn = 0.0;
    double best() const { return libtorch > onednn ? libtorch : onednn; }
};
SgemmRate sgemmGflops(int n, double seconds, int threads, const std::string &device = "cpu");

// The process's peak resident memory, in bytes.
std::int64_t peakResidentBytes();

} // namespace distillery
