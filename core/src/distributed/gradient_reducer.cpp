#include "distributed/gradient_reducer.h"

namespace distillery::detail {

GradientReducer::GradientReducer(Communicator &comm, std::vector<torch::Tensor> parameters, std::int64_t bucketBytes,
                                 std::int64_t firstBucketBytes)
    : comm_(comm), params_(std::move(parameters))
{
    grads_.resize(params_.size());
    bucketOf_.resize(params_.size());
    // From the last parameter to the first: the order the backward pass
    // computes their gradients in.
    std::int64_t limit = firstBucketBytes;
    for (std::size_t k = params_.size(); k-- > 0;) {
        const auto &p = params_[k];
        if (buckets_.empty() || buckets_.back().elements * 4 >= limit) {
            if (!buckets_.empty())
                limit = bucketBytes;
            buckets_.emplace_back();
        }
        buckets_.back().members.push_back(k);
        buckets_.back().elements += p.numel();
        bucketOf_[k] = buckets_.size() - 1;
    }
    for (std::size_t k = 0; k < params_.size(); ++k) {
        if (!params_[k].requires_grad())
            continue;
        hooks_.push_back(unsigned(params_[k].register_hook([this, k](const torch::Tensor &grad) {
            gradientReady(k, grad);
        })));
    }
}

GradientReducer::~GradientReducer()
{
    std::size_t h = 0;
    for (auto &p : params_)
        if (p.requires_grad())
            p.remove_hook(hooks_[h++]);
}

void GradientReducer::begin(double share)
{
    share_ = share;
    active_ = true;
    nextLaunch_ = 0;
    for (auto &g : grads_)
        g = torch::Tensor();
    for (auto &b : buckets_) {
        b.ready = 0;
        b.pending.reset();
    }
}

void GradientReducer::gradientReady(std::size_t parameter, const torch::Tensor &grad)
{
    if (!active_)
        return;
    grads_[parameter] = grad;
    Bucket &b = buckets_[bucketOf_[parameter]];
    ++b.ready;
    // Buckets start in order, the same on every rank.
    while (nextLaunch_ < buckets_.size() && buckets_[nextLaunch_].ready == buckets_[nextLaunch_].members.size())
        launch(buckets_[nextLaunch_++]);
}

// The members' gradients (zeros where this rank has none) times the rank's
// share, then a 1 for each member that has one: after the sum, a parameter
// with no 1 anywhere had no gradient on any rank.
void GradientReducer::launch(Bucket &b)
{
    torch::NoGradGuard guard;
    std::vector<torch::Tensor> parts;
    std::vector<float> present;
    const auto &any = params_[b.members.front()];
    for (std::size_t k : b.members) {
        const auto &g = grads_[k];
        parts.push_back(g.defined() ? g.reshape({-1}).to(torch::kFloat) * share_
                                    : torch::zeros({params_[k].numel()}, any.options().dtype(torch::kFloat)));
        present.push_back(g.defined() ? 1.0f : 0.0f);
    }
    parts.push_back(torch::tensor(present).to(any.device()));
    b.flat = torch::cat(parts);
    b.pending = comm_.allreduceSumAsync(b.flat);
}

void GradientReducer::finish()
{
    torch::NoGradGuard guard;
    while (nextLaunch_ < buckets_.size())
        launch(buckets_[nextLaunch_++]);
    active_ = false;
    if (buckets_.empty())
        return;
    // Every bucket's presence flags in one copy to the host (one
    // synchronisation with a GPU per step, not one per bucket).
    std::vector<torch::Tensor> flags;
    for (auto &b : buckets_) {
        b.pending->wait();
        b.pending.reset();
        flags.push_back(b.flat.narrow(0, b.elements, std::int64_t(b.members.size())));
    }
    const auto present = torch::cat(flags).cpu().contiguous();
    const float *has = present.data_ptr<float>();
    for (auto &b : buckets_) {
        std::int64_t offset = 0;
        for (std::size_t i = 0; i < b.members.size(); ++i, ++has) {
            auto &p = params_[b.members[i]];
            const auto n = p.numel();
            if (*has > 0)
                p.mutable_grad() = b.flat.narrow(0, offset, n).view(p.sizes()).to(p.dtype());
            else
                p.mutable_grad().reset();
            offset += n;
        }
    }
}

} // namespace distillery::detail
