// DIST: distillation from a stronger teacher through correlations (Huang et
// al., NeurIPS 2022), as DIST_KD's dist_kd.py computes it (internal to core).
#pragma once

#include "methods/method.h"

namespace distillery::detail {

std::unique_ptr<DistillationMethod> makeDist(const DistillConfig &config);

// With p = softmax(z/T) on both sides:
//   inter = T²·(1 − mean over samples of Pearson(p_s[b, :], p_t[b, :]))
//   intra = T²·(1 − mean over classes of Pearson(p_s[:, k], p_t[:, k]))
// where Pearson(a, b) = Σ(a − ā)(b − b̄) / (‖a − ā‖·‖b − b̄‖ + 1e-8).
struct DistTerms {
    torch::Tensor inter, intra;
};
DistTerms distTerms(const torch::Tensor &student, const torch::Tensor &teacher, double temperature);

} // namespace distillery::detail
