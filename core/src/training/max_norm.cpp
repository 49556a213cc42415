#include "training/max_norm.h"

namespace distillery::detail {

void applyMaxNorm(const std::vector<torch::Tensor> &parameters, double limit)
{
    torch::NoGradGuard guard;
    for (const auto &p : parameters) {
        if (p.dim() < 2)
            continue;
        // renorm_ scales each slice along dim 0 whose p-norm exceeds the limit.
        auto w = p;
        w.renorm_(2, 0, limit);
    }
}

} // namespace distillery::detail
