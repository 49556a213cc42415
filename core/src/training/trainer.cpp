#include "training/trainer.h"

#include "models/dense.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <dlfcn.h>
#include <mutex>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace distillery::detail {

void trainStep(StepContext &c, const torch::Tensor &idx, torch::Tensor &acc)
{
    auto x = c.train.x.index_select(0, idx);
    auto y = c.train.y.index_select(0, idx);
    ModelOutputs student, teacher;
    {
        Autocast autocast(c.mixedPrecision, x.device());
        student.logits = c.model->forward(x);
        if (c.method.needsTeacher()) {
            if (c.teacherCache.defined()) {
                teacher.logits = c.teacherCache.index_select(0, idx);
            } else {
                torch::NoGradGuard guard;
                teacher.logits = c.teacher(x);
            }
        }
    }
    if (c.mixedPrecision) { // the losses in float
        student.logits = student.logits.to(torch::kFloat);
        if (teacher.logits.defined())
            teacher.logits = teacher.logits.to(torch::kFloat);
    }
    auto terms = c.method.loss(student, teacher, y);
    // Gradients are dropped rather than zeroed: the backward pass then hands
    // its fresh gradient tensors over instead of adding them to zeros.
    for (auto &group : c.optimizer.param_groups())
        for (auto &p : group.params())
            p.mutable_grad().reset();
    terms.total.backward();
    c.optimizer.step();

    // {total, parts..., correct}, the losses weighted by the batch's rows: a
    // handful of small operations on the device, no synchronisation and no
    // copy from the host.
    torch::NoGradGuard guard;
    std::vector<torch::Tensor> losses{terms.total.detach()};
    for (auto &p : terms.parts)
        losses.push_back(p.second.detach());
    const auto n = std::int64_t(losses.size());
    acc.narrow(0, 0, n).add_(torch::stack(losses).to(torch::kFloat64), double(idx.size(0)));
    acc.narrow(0, n, 1).add_(student.logits.detach().argmax(1).eq(y).sum().to(torch::kFloat64));
}

torch::Tensor teacherLogits(const TeacherForward &teacher, const Split &split, bool mixedPrecision)
{
    torch::NoGradGuard guard; // not inference mode: the result enters the student's graph
    std::vector<torch::Tensor> out;
    for (std::int64_t i = 0; i < split.size(); i += kEvalBatch) {
        Autocast autocast(mixedPrecision, split.x.device());
        out.push_back(teacher(split.x.slice(0, i, std::min(i + kEvalBatch, split.size()))).to(torch::kFloat));
    }
    return torch::cat(out);
}

Autocast::Autocast(bool on, const torch::Device &device) : on_(on), cuda_(device.is_cuda())
{
    if (!on_)
        return;
    if (cuda_) {
        wasEnabled_ = at::autocast::is_enabled();
        previousType_ = at::autocast::get_autocast_gpu_dtype();
        at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
        at::autocast::set_enabled(true);
    } else {
        wasEnabled_ = at::autocast::is_cpu_enabled();
        previousType_ = at::autocast::get_autocast_cpu_dtype();
        at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
        at::autocast::set_cpu_enabled(true);
    }
}

Autocast::~Autocast()
{
    if (!on_)
        return;
    if (cuda_) {
        at::autocast::set_enabled(wasEnabled_);
        at::autocast::set_autocast_gpu_dtype(previousType_);
    } else {
        at::autocast::set_cpu_enabled(wasEnabled_);
        at::autocast::set_autocast_cpu_dtype(previousType_);
    }
    if (!wasEnabled_)
        at::autocast::clear_cache(); // the bfloat16 copies of the weights, made again next time
}

namespace {

// SGD with momentum, Nesterov and weight decay as torch::optim::SGD defines
// them, but one pass over each parameter instead of five: per element
//   g = grad + wd·p;  b = first ? g : m·b + (1 − damp)·g;  d = nesterov ? g + m·b : b;  p −= lr·d.
// The state (momentum buffers) is SGD's own, so checkpoints save and restore
// it unchanged. Tensors it cannot walk as one dense float array (another
// device, type or layout) take SGD's own path.
class FusedSgd final : public torch::optim::SGD {
public:
    using SGD::SGD;

    torch::Tensor step(LossClosure closure) override
    {
        torch::Tensor loss;
        if (closure) {
            at::AutoGradMode enable(true);
            loss = closure();
        }
        torch::NoGradGuard noGrad;
        for (auto &group : param_groups_) {
            const auto &o = static_cast<const torch::optim::SGDOptions &>(group.options());
            for (auto &p : group.params()) {
                if (!p.grad().defined())
                    continue;
                torch::Tensor buf;
                bool first = false;
                if (o.momentum() != 0) {
                    const auto key = c10::guts::to_string(p.unsafeGetTensorImpl());
                    auto it = state_.find(key);
                    if (it == state_.end()) {
                        buf = torch::empty_like(p);
                        first = true;
                        auto st = std::make_unique<torch::optim::SGDParamState>();
                        st->momentum_buffer(buf);
                        state_[key] = std::move(st);
                    } else {
                        buf = static_cast<torch::optim::SGDParamState &>(*it->second).momentum_buffer();
                    }
                }
                update(p, p.grad(), buf, first, o);
            }
        }
        return loss;
    }

private:
    static bool sameDenseLayout(const torch::Tensor &a, const torch::Tensor &b)
    {
        return b.device() == a.device() && b.scalar_type() == a.scalar_type() && b.sizes() == a.sizes() &&
               b.strides() == a.strides();
    }

    static void update(torch::Tensor &p, const torch::Tensor &grad, torch::Tensor &buf, bool first,
                       const torch::optim::SGDOptions &o)
    {
        const bool fusable = p.is_cpu() && p.scalar_type() == torch::kFloat && p.is_non_overlapping_and_dense() &&
                             sameDenseLayout(p, grad) && (!buf.defined() || sameDenseLayout(p, buf));
        if (!fusable) {
            auto d = o.weight_decay() != 0 ? grad.add(p, o.weight_decay()) : grad;
            if (buf.defined()) {
                if (first)
                    buf.copy_(d);
                else
                    buf.mul_(o.momentum()).add_(d, 1 - o.dampening());
                d = o.nesterov() ? d.add(buf, o.momentum()) : buf;
            }
            p.add_(d, -o.lr());
            return;
        }
        const float wd = float(o.weight_decay()), m = float(o.momentum()), keep = float(1 - o.dampening()),
                    lr = float(o.lr());
        const bool nesterov = o.nesterov();
        float *w = p.data_ptr<float>();
        const float *g = grad.data_ptr<float>();
        float *b = buf.defined() ? buf.data_ptr<float>() : nullptr;
        at::parallel_for(0, p.numel(), 1 << 15, [=](std::int64_t begin, std::int64_t end) {
            const std::int64_t n = end - begin;
            if (!b)
                plainStep(w + begin, g + begin, n, lr, wd);
            else if (first)
                firstMomentumStep(w + begin, g + begin, b + begin, n, lr, wd, nesterov ? m : 0.0f);
            else if (nesterov)
                nesterovStep(w + begin, g + begin, b + begin, n, lr, wd, m, keep);
            else
                momentumStep(w + begin, g + begin, b + begin, n, lr, wd, m, keep);
        });
    }

    // The loops, over pointers that do not alias, so that they vectorise.
    static void plainStep(float *__restrict w, const float *__restrict g, std::int64_t n, float lr, float wd)
    {
        for (std::int64_t i = 0; i < n; ++i)
            w[i] -= lr * (g[i] + wd * w[i]);
    }
    // The first step: the buffer starts as d (PyTorch's rule); with Nesterov
    // the step is d + m·b = d + m·d, and without, d (m passed as 0).
    static void firstMomentumStep(float *__restrict w, const float *__restrict g, float *__restrict b,
                                  std::int64_t n, float lr, float wd, float m)
    {
        for (std::int64_t i = 0; i < n; ++i) {
            const float d = g[i] + wd * w[i];
            b[i] = d;
            w[i] -= lr * (d + m * d);
        }
    }
    static void momentumStep(float *__restrict w, const float *__restrict g, float *__restrict b, std::int64_t n,
                             float lr, float wd, float m, float keep)
    {
        for (std::int64_t i = 0; i < n; ++i) {
            const float v = m * b[i] + keep * (g[i] + wd * w[i]);
            b[i] = v;
            w[i] -= lr * v;
        }
    }
    static void nesterovStep(float *__restrict w, const float *__restrict g, float *__restrict b, std::int64_t n,
                             float lr, float wd, float m, float keep)
    {
        for (std::int64_t i = 0; i < n; ++i) {
            const float d = g[i] + wd * w[i];
            const float v = m * b[i] + keep * d;
            b[i] = v;
            w[i] -= lr * (d + m * v);
        }
    }
};

} // namespace

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(std::vector<torch::Tensor> params, const TrainConfig &t)
{
    if (t.optimizer == "adam")
        return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(t.lr).weight_decay(t.weightDecay));
    if (t.optimizer == "adamw")
        return std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(t.lr).weight_decay(t.weightDecay));
    return std::make_unique<FusedSgd>(
        params, torch::optim::SGDOptions(t.lr).momentum(t.momentum).nesterov(t.nesterov).weight_decay(t.weightDecay));
}

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
