#include "models/batch_norm.h"

namespace distillery::detail {

namespace {

struct SyncContext {
    SumOverProcesses sum;
    const double *share = nullptr;
};

thread_local const SyncContext *current = nullptr;

// y = (x - μ) / √(σ² + ε) · γ + β over channel dimension 1, with μ and σ²
// (biased) of every process's rows. Backward, with g = share · ∂L/∂y the
// true gradient of this process's rows and M the rows of all processes:
// ∂L/∂x = γ / √(σ² + ε) / M · (M·g − Σg − x̂·Σ(g·x̂)), the sums over all
// processes; returned divided by share, which the gradient reducer applies.
class SyncBatchNormFunction : public torch::autograd::Function<SyncBatchNormFunction> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext *ctx, const torch::Tensor &x,
                                 const torch::Tensor &weight, const torch::Tensor &bias, torch::Tensor runningMean,
                                 torch::Tensor runningVar, double momentum, double eps)
    {
        const SyncContext *sync = current;
        ctx->saved_data["sync"] = reinterpret_cast<std::int64_t>(sync); // backward may run on another thread
        std::vector<std::int64_t> dims{0};
        for (std::int64_t d = 2; d < x.dim(); ++d)
            dims.push_back(d);
        const auto x64 = x.to(torch::kFloat64);
        const double rows = double(x.numel() / x.size(1));
        // {count, Σx per channel, Σx² per channel}, in double: one collective
        auto stats = torch::cat({torch::full({1}, rows, x64.options()), x64.sum(dims), x64.square().sum(dims)});
        sync->sum(stats);
        const auto c = x.size(1);
        const double count = stats[0].item<double>();
        const auto mean = stats.narrow(0, 1, c) / count;
        const auto var = (stats.narrow(0, 1 + c, c) / count - mean.square()).clamp_min(0);
        {
            torch::NoGradGuard guard;
            runningMean.mul_(1 - momentum).add_(mean.to(runningMean.dtype()), momentum);
            runningVar.mul_(1 - momentum).add_((var * (count / std::max(1.0, count - 1))).to(runningVar.dtype()), momentum);
        }
        std::vector<std::int64_t> shape(std::size_t(x.dim()), 1);
        shape[1] = c;
        const auto invstd = (var + eps).rsqrt().to(x.dtype()).view(shape);
        const auto xhat = (x - mean.to(x.dtype()).view(shape)) * invstd;
        ctx->save_for_backward({xhat, invstd, weight});
        ctx->saved_data["count"] = count;
        ctx->saved_data["affine"] = weight.defined();
        return weight.defined() ? xhat * weight.view(shape) + bias.view(shape) : xhat;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto *sync = reinterpret_cast<const SyncContext *>(ctx->saved_data["sync"].toInt());
        const auto saved = ctx->get_saved_variables();
        const auto &xhat = saved[0], &invstd = saved[1], &weight = saved[2];
        const double count = ctx->saved_data["count"].toDouble();
        const bool affine = ctx->saved_data["affine"].toBool();
        const auto &dy = grads[0];
        std::vector<std::int64_t> dims{0};
        for (std::int64_t d = 2; d < dy.dim(); ++d)
            dims.push_back(d);
        std::vector<std::int64_t> shape(std::size_t(dy.dim()), 1);
        const auto c = dy.size(1);
        shape[1] = c;
        const double share = *sync->share;
        const auto sumDy = dy.sum(dims), sumDyXhat = (dy * xhat).sum(dims);
        auto sums = torch::cat({sumDy, sumDyXhat}).to(torch::kFloat64) * share;
        sync->sum(sums);
        const auto gamma = affine ? weight.view(shape) : torch::ones_like(invstd);
        const auto globalDy = sums.narrow(0, 0, c).to(dy.dtype()).view(shape);
        const auto globalDyXhat = sums.narrow(0, c, c).to(dy.dtype()).view(shape);
        const auto dx = gamma * invstd / count * (count * dy - (globalDy + xhat * globalDyXhat) / share);
        return {dx, affine ? sumDyXhat : torch::Tensor(), affine ? sumDy : torch::Tensor(), torch::Tensor(),
                torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

template <typename Impl>
torch::Tensor apply(Impl &bn, const torch::Tensor &x)
{
    if (!current || !bn.is_training() || !bn.options.track_running_stats())
        return bn.forward(x);
    if (bn.num_batches_tracked.defined())
        bn.num_batches_tracked.add_(1);
    const double momentum = bn.options.momentum() ? *bn.options.momentum() : 0.1;
    return SyncBatchNormFunction::apply(x, bn.weight, bn.bias, bn.running_mean, bn.running_var, momentum,
                                        bn.options.eps());
}

} // namespace

SyncBatchNormScope::SyncBatchNormScope(SumOverProcesses sum, const double *share)
{
    current = new SyncContext{std::move(sum), share};
}

SyncBatchNormScope::~SyncBatchNormScope()
{
    delete current;
    current = nullptr;
}

torch::Tensor batchNorm(torch::nn::BatchNorm1dImpl &bn, const torch::Tensor &x)
{
    return apply(bn, x);
}

torch::Tensor batchNorm(torch::nn::BatchNorm2dImpl &bn, const torch::Tensor &x)
{
    return apply(bn, x);
}

} // namespace distillery::detail
