#include "distillery/benchmark.h"

#include "distillery/engine.h"
#include "distillery/methods.h"
#include "models/dense.h"
#include "training/trainer.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <optional>
#include <sys/resource.h>

namespace distillery {

namespace {

ModelSpec preset(const std::string &name, std::vector<std::int64_t> hidden = {})
{
    ModelSpec m;
    m.preset = name;
    m.hidden = std::move(hidden);
    return m;
}

// The device a benchmark runs on; ConfigError when it is CUDA and LibTorch sees none.
torch::Device benchmarkDevice(const std::string &name)
{
    const torch::Device device(name);
    if (device.is_cuda() && !torch::cuda::is_available())
        throw ConfigError("device " + name + ": LibTorch sees no CUDA device here");
    return device;
}

// Waits for the device's queued work, so that a timing covers it.
void synchronise(const torch::Device &device)
{
    if (device.is_cuda())
        torch::cuda::synchronize(device.index());
}

double now()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

} // namespace

std::vector<BenchmarkCase> referenceBenchmarkCases()
{
    TrainConfig sgd; // SGD with Nesterov momentum, the students' default
    std::vector<BenchmarkCase> cases;
    auto add = [&](std::string name, ModelSpec t, ModelSpec s, bool cached, bool inference = false) {
        BenchmarkCase c;
        c.name = std::move(name);
        c.teacher = std::move(t);
        c.student = std::move(s);
        c.cachedTeacher = cached;
        c.inference = inference;
        c.train = sgd;
        cases.push_back(c);
    };
    add("a-hinton-online", preset("mlp-1200x2"), preset("mlp-800x2"), false);
    add("b-cnn-mlp-online", preset("cnn-large"), preset("mlp", {128}), false);
    add("b-cnn-mlp-cached", preset("cnn-large"), preset("mlp", {128}), true);
    add("c-tiny-online", preset("mlp", {256}), preset("mlp", {64}), false);
    add("c-tiny-cached", preset("mlp", {256}), preset("mlp", {64}), true);
    add("d-eval-cnn", preset("cnn-large"), preset("mlp", {64}), false, true);
    // The default pair with the students' usual augmentation (crop with 2
    // pixels of padding and flips): its cost against (b), online and with the
    // cache kept (teacher_cache "approximate").
    for (bool cached : {false, true}) {
        add(cached ? "e-cnn-mlp-aug-cached" : "e-cnn-mlp-aug-online", preset("cnn-large"), preset("mlp", {128}), cached);
        cases.back().train.crop = 2;
        cases.back().train.flip = true;
    }
    // A convolutional pair, with vanilla KD and with attention transfer on
    // both pools: what capturing and comparing features costs a step.
    for (const char *method : {"kd", "at"}) {
        add(std::string("f-cnn-cnn-") + method + "-online", preset("cnn-large"), preset("cnn-small"), false);
        cases.back().method = method;
    }
    return cases;
}

namespace {

// Rows of random data a benchmark trains or evaluates on, resident as one
// tensor like the engine's.
constexpr std::int64_t kRows = 8192;

// How a timing shares the cores: as the engine would for the work timed,
// unless the caller fixes one or both counts (those above 0).
struct ThreadChoice {
    int threads = 0;
    int torchThreads = 0;
    int blasThreads = 0;

    void apply(std::int64_t linear, std::int64_t conv, BenchmarkResult &r) const
    {
        detail::ThreadPlan plan = detail::planThreads(linear, conv, threads);
        if (torchThreads > 0)
            plan.torch = torchThreads;
        if (blasThreads > 0)
            plan.blas = blasThreads;
        detail::applyThreads(plan);
        r.torchThreads = plan.torch;
        r.blasThreads = plan.blas;
    }
};

// A case's forward passes: bfloat16 autocast or float.
detail::Precision precisionOf(const BenchmarkCase &c)
{
    return c.mixedPrecision ? detail::Precision::BFloat16 : detail::Precision::Float32;
}

// What both timings of a case work with.
struct Setup {
    const BenchmarkCase &c;
    const Architecture &teacherLayers;
    const Architecture &studentLayers;
    const ArchitectureReport &tr;
    const ArchitectureReport &sr;
    const torch::Device &device;
    const detail::Split &train;
    detail::Net &teacher;       // frozen, as the engine's teacher once trained
    ThreadChoice threads;
    double seconds;
};

// The teacher's evaluation, in the engine's evaluation batches.
void timeInference(const Setup &s, BenchmarkResult &r)
{
    auto [linear, conv] = detail::linearAndConvMultiplyAdds(s.teacherLayers, s.tr);
    s.threads.apply(linear, conv, r);
    c10::InferenceMode guard;
    auto run = [&] {
        for (std::int64_t i = 0; i < kRows; i += detail::kEvalBatch) {
            detail::Autocast autocast(precisionOf(s.c), s.device);
            (void)s.teacher->forward(s.train.x.slice(0, i, i + detail::kEvalBatch)).argmax(1);
        }
    };
    run();
    synchronise(s.device);
    std::int64_t samples = 0;
    const double t0 = now();
    while (now() - t0 < s.seconds) {
        run();
        samples += kRows;
    }
    synchronise(s.device);
    r.samplesPerSecond = double(samples) / (now() - t0);
    r.flopsPerSample = 2.0 * double(s.tr.multiplyAdds);
}

// Distillation of the student from the teacher (or its cached logits), through
// the engine's training step, after 5 warm-up steps.
void timeTraining(const Setup &s, BenchmarkResult &r)
{
    const BenchmarkCase &c = s.c;
    detail::Net student(s.studentLayers, c.input);
    student->to(s.device);
    DistillConfig kd;
    kd.method = c.method;
    kd.temperature = c.temperature;
    kd.alpha = c.alpha;
    auto method = detail::makeMethod(kd);
    method->setPairs(resolvePairs(kd, modelTaps(s.teacherLayers, c.input), modelTaps(s.studentLayers, c.input)));
    auto parameters = student->parameters();
    if (auto *adapters = method->prepare(s.device))
        for (auto &p : adapters->parameters())
            parameters.push_back(p);
    auto optimizer = detail::makeOptimizer(parameters, c.train);
    const detail::TeacherForward teacherForward = [&](const torch::Tensor &x) { return s.teacher->forward(x); };
    torch::Tensor cache =
        c.cachedTeacher ? detail::teacherLogits(teacherForward, s.train, precisionOf(c)) : torch::Tensor();
    detail::StepContext ctx{student, *optimizer, *method, teacherForward, cache, s.train, precisionOf(c)};
    if (!method->pairs().empty())
        ctx.teacherFeatures = [&](const torch::Tensor &x, const std::vector<Tap> &taps) {
            return s.teacher->forwardWithTaps(x, taps);
        };
    ctx.settings = &c.train; // augmentation, as the stage runner passes it
    ctx.blackPixel = torch::zeros({c.input.size() == 3 ? c.input[0] : 1}).to(s.device);
    ctx.classes = c.classes;
    std::optional<detail::DynamicsRecorder> dynamics; // recorded, never written: its file is once an epoch
    if (c.dynamics) {
        dynamics.emplace(std::filesystem::path(), s.train, torch::Tensor());
        dynamics->beginEpoch();
        ctx.dynamics = &*dynamics;
    }
    auto [linear, conv] = detail::linearAndConvMultiplyAdds(s.studentLayers, s.sr);
    if (!c.cachedTeacher) {
        const auto [teacherLinear, teacherConv] = detail::linearAndConvMultiplyAdds(s.teacherLayers, s.tr);
        linear += teacherLinear;
        conv += teacherConv;
    }
    s.threads.apply(linear, conv, r);
    const auto sums = std::int64_t(method->partNames().size()) + 2; // total, parts..., correct
    auto acc = torch::zeros({sums}, torch::TensorOptions().dtype(torch::kFloat64).device(s.device));
    std::int64_t samples = 0, b = 0;
    auto perm = torch::randperm(kRows, torch::kInt64).to(s.device);
    const std::int64_t steps = kRows / c.batch;
    auto step = [&] {
        if (b == steps) {
            perm = torch::randperm(kRows, torch::kInt64).to(s.device);
            b = 0;
            if (dynamics)
                dynamics->beginEpoch();
        }
        detail::trainStep(ctx, perm.slice(0, b * c.batch, (b + 1) * c.batch), acc);
        ++b;
        samples += c.batch;
    };
    for (int i = 0; i < 5; ++i)
        step();
    samples = 0;
    const double t0 = now();
    while (now() - t0 < s.seconds)
        step();
    (void)acc.sum().item<double>();
    r.samplesPerSecond = double(samples) / (now() - t0);
    if (dynamics) {
        // The records alone, on a batch's logits as the step has them.
        const auto idx = perm.slice(0, 0, c.batch);
        const auto logits = student->forward(s.train.x.index_select(0, idx)).detach();
        constexpr int kCalls = 500;
        const double r0 = now();
        for (int i = 0; i < kCalls; ++i)
            dynamics->record(idx, logits);
        synchronise(s.device);
        r.dynamicsSecondsPerStep = (now() - r0) / kCalls;
    }
    r.flopsPerSample = 6.0 * double(s.sr.multiplyAdds) + (c.cachedTeacher ? 0.0 : 2.0 * double(s.tr.multiplyAdds));
}

} // namespace

BenchmarkResult runBenchmark(const BenchmarkCase &c, double seconds, int threads, int torchThreads, int blasThreads)
{
    detail::tuneAllocator(); // as the engine does
    torch::manual_seed(0);
    const auto teacherLayers = resolveModel(c.teacher, c.classes);
    const auto studentLayers = resolveModel(c.student, c.classes);
    const auto tr = analyseArchitecture(teacherLayers, c.input, c.classes);
    const auto sr = analyseArchitecture(studentLayers, c.input, c.classes);
    if (!tr.ok || !sr.ok)
        throw ConfigError(c.name + ": " + (tr.ok ? sr.error : tr.error));

    std::vector<std::int64_t> sizes{kRows};
    sizes.insert(sizes.end(), c.input.begin(), c.input.end());
    const torch::Device device = benchmarkDevice(c.device);
    detail::Split train{torch::randn(sizes).to(device), torch::randint(c.classes, {kRows}, torch::kInt64).to(device)};

    detail::Net teacher(teacherLayers, c.input);
    teacher->to(device);
    teacher->eval();
    for (auto &p : teacher->parameters())
        p.set_requires_grad(false);
    teacher->freeze(); // as the engine's teacher once trained
    BenchmarkResult r;
    const Setup setup{c, teacherLayers, studentLayers, tr, sr, device, train, teacher,
                      {threads, torchThreads, blasThreads}, seconds};
    if (c.inference)
        timeInference(setup, r);
    else
        timeTraining(setup, r);
    r.gflops = r.samplesPerSecond * r.flopsPerSample / 1e9;
    return r;
}

namespace {

// The best rate of `product` over about `seconds`.
template <typename Product>
double bestGflops(int n, double seconds, const torch::Device &where, Product product)
{
    product();
    synchronise(where);
    double best = 0;
    const double t0 = now();
    while (now() - t0 < seconds) {
        const double s = now();
        for (int i = 0; i < 10; ++i) // several per timing, so that a GPU's launch and sync costs stay small
            product();
        synchronise(where);
        best = std::max(best, 10 * 2.0 * n * double(n) * n / (now() - s) / 1e9);
    }
    return best;
}

} // namespace

SgemmRate sgemmGflops(int n, double seconds, int threads, const std::string &device)
{
    const torch::Device where = benchmarkDevice(device);
    const auto options = torch::TensorOptions().device(where);
    auto a = torch::randn({n, n}, options), b = torch::randn({n, n}, options), out = torch::empty({n, n}, options);
    SgemmRate rate;
    detail::applyThreads({1, threads}); // OpenBLAS's threads
    rate.libtorch = bestGflops(n, seconds, where, [&] { torch::mm_out(out, a, b); });
    if (where.is_cpu() && detail::denseOnOneDnn()) {
        detail::applyThreads({threads, 1}); // LibTorch's OpenMP threads, which oneDNN runs on
        rate.onednn = bestGflops(n, seconds, where, [&] { detail::oneDnnProduct(a, b, out); });
    }
    return rate;
}

std::int64_t peakResidentBytes()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return std::int64_t(u.ru_maxrss) * 1024;
}

} // namespace distillery
