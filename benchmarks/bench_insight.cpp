// The cost of the insight figures (docs/INSIGHT.md, docs/PERFORMANCE.md):
// the live fidelity metrics of one epoch (agreement, KL at T = 1 and at T,
// ECE on the validation split) and the end-of-stage figures (analyseLogits
// against a teacher and a baseline, and the dark-knowledge matrix), on random
// logits of the default experiment's sizes.
//
//   bench_insight [--validation 6000] [--test 10000] [--classes 10] [--repeats 50]
#include "distillery/analysis.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

using namespace distillery;

namespace {

AnalysisLogits randomLogits(std::int64_t n, std::int64_t k, std::mt19937 &rng)
{
    std::normal_distribution<float> z(0.0f, 3.0f);
    std::uniform_int_distribution<std::int64_t> y(0, k - 1);
    AnalysisLogits a;
    a.rows = n;
    a.classes = k;
    for (std::int64_t i = 0; i < n; ++i) {
        a.indices.push_back(i);
        a.labels.push_back(y(rng));
        for (std::int64_t j = 0; j < k; ++j)
            a.logits.push_back(z(rng));
    }
    return a;
}

template <class F> double medianMs(int repeats, F &&f)
{
    std::vector<double> ms;
    for (int r = 0; r < repeats; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

} // namespace

int main(int argc, char **argv)
{
    CLI::App app{"Times the live fidelity metrics of an epoch and the end-of-stage analysis figures."};
    std::int64_t validation = 6000, test = 10000, classes = 10;
    int repeats = 50;
    app.add_option("--validation", validation, "Validation examples")->capture_default_str();
    app.add_option("--test", test, "Test examples")->capture_default_str();
    app.add_option("--classes", classes, "Classes")->capture_default_str();
    app.add_option("--repeats", repeats, "Repetitions (the median is printed)")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    std::mt19937 rng(1);
    const auto tv = randomLogits(validation, classes, rng), mv = randomLogits(validation, classes, rng);
    volatile double sink = 0;
    const double live = medianMs(repeats, [&] {
        sink = sink + agreement(tv.view(), mv.view()) + meanKl(tv.view(), mv.view(), 1.0) +
               meanKl(tv.view(), mv.view(), 4.0) + calibration(mv.view(), mv.labels.data()).ece;
    });
    auto tt = randomLogits(test, classes, rng), bt = randomLogits(test, classes, rng), st = randomLogits(test, classes, rng);
    bt.labels = st.labels = tt.labels;
    const double stage = medianMs(repeats, [&] { sink = sink + analyseLogits(st, &tt, &bt).accuracy; });
    const double dark = medianMs(repeats, [&] { sink = sink + darkKnowledge(tt.view(), tt.labels.data(), 4.0)[0][0]; });
    std::printf("live fidelity metrics per epoch (%lld x %lld validation logits): %.2f ms\n", (long long)validation,
                (long long)classes, live);
    std::printf("end-of-stage figures, student against teacher and baseline (%lld x %lld test logits): %.2f ms\n",
                (long long)test, (long long)classes, stage);
    std::printf("dark-knowledge matrix (%lld x %lld): %.2f ms\n", (long long)test, (long long)classes, dark);
    return 0;
}
