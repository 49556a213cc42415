// Loss scaling for float16 mixed precision (precision "fp16"; internal to
// core). Float16's smallest normal number is 6e-5, so small gradients vanish
// in a float16 backward pass. The loss is multiplied by a large scale before
// the backward pass and the gradients divided by it after; when they come out
// non-finite the optimiser's step is skipped and the scale halved, and after
// a run of finite steps it is doubled. The rule and the defaults are those of
// PyTorch's GradScaler (torch.amp), which LibTorch's C++ API does not offer.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace distillery::detail {

struct LossScaleState {
    double scale = 65536.0;         // 2^16; always a power of two, so scaling is exact
    std::int64_t finiteSteps = 0;   // finite steps since the scale last changed
    std::int64_t skippedSteps = 0;  // steps skipped so far in the stage
};

class LossScaler {
public:
    static constexpr double kGrowth = 2.0;
    static constexpr double kBackoff = 0.5;
    static constexpr std::int64_t kGrowthInterval = 2000;

    explicit LossScaler(LossScaleState state = {}) : state_(state) {}

    // The loss the backward pass starts from.
    torch::Tensor scaled(const torch::Tensor &loss) const { return loss * state_.scale; }

    // Divides the gradients of `parameters` (those that have one) by the
    // scale and updates it. True when every gradient is finite, so the
    // optimiser may step. Reads one flag from the device: the only host
    // synchronisation fp16 adds to a step, as with PyTorch's GradScaler.
    bool unscale(const std::vector<torch::Tensor> &parameters);

    const LossScaleState &state() const { return state_; }

private:
    LossScaleState state_;
};

} // namespace distillery::detail
