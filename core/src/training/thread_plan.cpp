#include "training/thread_plan.h"

#include "models/dense.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <mutex>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace distillery::detail {

namespace {
using GetThreads = int (*)();
using SetThreads = void (*)(int);

// Looked up at run time: LibTorch reaches BLAS through libblas.so.3, which
// Debian's alternatives point at OpenBLAS or at another BLAS.
GetThreads openblasGet()
{
    static auto f = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    return f;
}
SetThreads openblasSet()
{
    static auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    return f;
}
} // namespace

int openblasThreads()
{
    return openblasGet() ? openblasGet()() : -1;
}

bool setOpenblasThreads(int n)
{
    if (!openblasSet())
        return false;
    openblasSet()(n);
    return true;
}

ThreadPlan planThreads(std::int64_t linearMultiplyAdds, std::int64_t convMultiplyAdds, int threads)
{
    if (denseOnOneDnn()) // every product then runs on LibTorch's threads
        return {threads, 1};
    if (convMultiplyAdds >= linearMultiplyAdds && convMultiplyAdds > 0)
        return {threads, 1};
    return {1, threads};
}

std::pair<std::int64_t, std::int64_t> linearAndConvMultiplyAdds(const Architecture &layers, const ArchitectureReport &report)
{
    std::int64_t linear = 0, conv = 0;
    for (std::size_t i = 0; i < report.layers.size(); ++i)
        (layers[i].type == "linear" ? linear : conv) += report.layers[i].multiplyAdds;
    return {linear, conv};
}

void tuneAllocator()
{
#if defined(__GLIBC__)
    // Activations of a few megabytes are allocated and freed at every step.
    // glibc serves blocks above its (adaptive) mmap threshold with fresh
    // mappings and returns freed heap tops to the system, so each step pays
    // page faults on every large tensor: a convolution of cnn-large ran 7x
    // slower that way. Keep such blocks in the heap instead.
    static std::once_flag once;
    std::call_once(once, [] {
        mallopt(M_MMAP_THRESHOLD, 32 << 20); // glibc's largest; also stops it adapting
        mallopt(M_TRIM_THRESHOLD, 256 << 20);
    });
#endif
}

bool applyThreads(const ThreadPlan &plan)
{
    at::set_num_threads(plan.torch);
    return setOpenblasThreads(plan.blas);
}

} // namespace distillery::detail
