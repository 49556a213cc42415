// Decoupled knowledge distillation (Zhao et al., CVPR 2022), as mdistiller's
// distillers/DKD.py computes it (internal to core).
#pragma once

#include "methods/method.h"

namespace distillery::detail {

std::unique_ptr<DistillationMethod> makeDkd(const DistillConfig &config);

// The two decoupled terms, each T²·KL summed over the batch and divided by
// its size ('size_average=False' / B in the reference):
//   TCKD: between the binary (target, all non-target) probabilities of
//         softmax(t/T) and softmax(s/T);
//   NCKD: among the non-target classes, from softmax(z/T − 1000·onehot(y)).
// The teacher's side is taken as given (detach it before).
struct DkdTerms {
    torch::Tensor tckd, nckd;
};
DkdTerms dkdTerms(const torch::Tensor &student, const torch::Tensor &teacher, const torch::Tensor &target,
                  double temperature);

} // namespace distillery::detail
