// Deep Mutual Learning (Zhang et al., CVPR 2018): a cohort of students trained
// together from scratch, each learning the labels and the others' softened
// predictions; no pretrained teacher (internal to core).
#pragma once

#include "methods/method.h"

namespace distillery::detail {

// The method of a run's distillation stage: the stage's student is the
// cohort's first member; prepare() makes the others (distillation.params.
// students − 1 nets of `layers`, drawn from LibTorch's default generator),
// which train with it, are checkpointed with it and are never exported.
std::unique_ptr<DistillationMethod> makeMutualLearning(const DistillConfig &config, const Architecture &layers,
                                                       const Shape &input);
// The same loss without a cohort of its own (prepare() makes none): for
// methodLoss on plain arrays, where the peers' logits are given.
std::unique_ptr<DistillationMethod> makeMutualLoss(const DistillConfig &config);

// The cohort's loss, z[k] each member's logits [B, C]:
//   L_k = ce·CE(y, z_k) + β·T²·(1/(K−1))·Σ_{l≠k} KL(softmax(z_l/T) ‖ softmax(z_k/T)),
// KL summed over classes and averaged over the batch, the other member's side
// detached; total = Σ_k L_k, so each member's gradient is that of its own
// loss, as with one optimiser per member. Parts: the first member's KL term
// ("mutual", without β) and CE ("hard"), and the mean of the others' L_k ("peers").
LossTerms mutualLoss(const std::vector<torch::Tensor> &cohort, const torch::Tensor &labels, double temperature,
                     double ce, double beta);

// The cohort's members other than the stage's student, when `method` is an
// online method that has made them (prepare()); empty otherwise.
std::vector<Net> cohortPeers(DistillationMethod &method);

} // namespace distillery::detail
