#include "training/loss_scaler.h"

namespace distillery::detail {

bool LossScaler::unscale(const std::vector<torch::Tensor> &parameters)
{
    std::vector<torch::Tensor> grads;
    for (const auto &p : parameters)
        if (p.grad().defined())
            grads.push_back(p.grad());
    bool finite = true;
    if (!grads.empty()) {
        torch::NoGradGuard guard;
        // The reciprocal of a power of two is exact in float, as in PyTorch.
        torch::_foreach_mul_(grads, 1.0 / state_.scale);
        std::vector<torch::Tensor> flags;
        flags.reserve(grads.size());
        for (const auto &g : grads)
            flags.push_back(torch::isfinite(g).all());
        finite = torch::stack(flags).all().item<bool>();
    }
    if (finite) {
        if (++state_.finiteSteps == kGrowthInterval) {
            state_.scale *= kGrowth;
            state_.finiteSteps = 0;
        }
    } else {
        state_.scale *= kBackoff;
        state_.finiteSteps = 0;
        ++state_.skippedSteps;
    }
    return finite;
}

} // namespace distillery::detail
