#include "training/optimizer.h"

#include "support/torch_compat.h"

#include <ATen/Parallel.h>

namespace distillery::detail {

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
                    const auto key = compat::optimizerStateKey(p);
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

} // namespace distillery::detail
