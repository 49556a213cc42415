// How the cores are shared between LibTorch's threads and OpenBLAS's while a
// stage trains, and the allocator settings training wants (internal to core).
#pragma once

#include "distillery/architecture.h"

#include <cstdint>
#include <utility>

namespace distillery::detail {

// OpenBLAS's own thread pool, apart from LibTorch's. -1 / false when the BLAS
// in use is not OpenBLAS.
int openblasThreads();
bool setOpenblasThreads(int n);

// How a step's work is split between LibTorch's OpenMP threads and OpenBLAS's
// own threads on `threads` cores. Both pools spin while they wait, so giving
// both all cores makes them fight. Measured on 2 cores (benchmarks/bench_distill,
// docs/PERFORMANCE.md):
// - linear layers through oneDNN (models/dense.h): every product and element-wise
//   pass runs on LibTorch's threads, so they get all cores, OpenBLAS one;
// - otherwise, mostly fully connected (matrix products in OpenBLAS): one
//   LibTorch thread, all cores to OpenBLAS, for small and large products alike;
// - mostly convolutions (oneDNN on LibTorch's OpenMP threads, as are pooling
//   and batch norm): all cores to LibTorch, one OpenBLAS thread.
// A rule rather than a timing, so that the same experiment always makes the
// same choice: the thread counts change the order of floating-point sums.
struct ThreadPlan {
    int torch = 1;
    int blas = 1;
};
ThreadPlan planThreads(std::int64_t linearMultiplyAdds, std::int64_t convMultiplyAdds, int threads);
// The split of `layers`' multiply-adds (from their report) between linear and convolution layers.
std::pair<std::int64_t, std::int64_t> linearAndConvMultiplyAdds(const Architecture &layers, const ArchitectureReport &report);
// Configures the C library's allocator for training's allocation pattern
// (large blocks freed and allocated again at every step). Once per process.
void tuneAllocator();
// Applies a plan to both pools; false when the BLAS is not OpenBLAS (its threads are then left alone).
bool applyThreads(const ThreadPlan &plan);

} // namespace distillery::detail
