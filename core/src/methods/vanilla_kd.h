// Vanilla knowledge distillation (Hinton, Vinyals and Dean 2015): the student
// matches the teacher's softmax at temperature T, mixed with the labels by α
// (internal to core).
#pragma once

#include "methods/method.h"

namespace distillery::detail {

std::unique_ptr<DistillationMethod> makeVanillaKd(const DistillConfig &config);

// Vanilla KD on tensors: returns {total, soft, hard}, where
//   soft = T² · kl_div(log_softmax(s/T), log_softmax(t/T), 'batchmean', log_target)
//   hard = cross_entropy(s, labels),  total = α·soft + (1 − α)·hard.
// `labels` are int64 class indices [B], or float class probabilities [B, K]
// (a mixed batch: mixup, CutMix), for which the hard term is the cross-entropy
// against that distribution, −mean_b Σ_k labels[b, k]·log p_s[b, k] (so for
// λ·onehot(y_a) + (1 − λ)·onehot(y_b), λ·CE(y_a) + (1 − λ)·CE(y_b)).
// On the CPU with int64 labels this is one pass over the logits forward and
// one backward (kdLossFused, which takes class indices only); otherwise
// LibTorch's composite ops (kdLossComposite), which also define what the fused
// pass must compute.
LossTerms kdLoss(const torch::Tensor &studentLogits, const torch::Tensor &teacherLogits, const torch::Tensor &labels,
                 double temperature, double alpha);
LossTerms kdLossFused(const torch::Tensor &studentLogits, const torch::Tensor &teacherLogits,
                      const torch::Tensor &labels, double temperature, double alpha);
LossTerms kdLossComposite(const torch::Tensor &studentLogits, const torch::Tensor &teacherLogits,
                          const torch::Tensor &labels, double temperature, double alpha);

// Vanilla KD beside another method's terms (its `kd` weight): the soft term
// T²·KL(p_t ‖ p_s) at `temperature`, added to out.total times `weight`, and
// appended to out.parts as "soft" when `reported` (decided when the method is
// made, as parts are; then also at weight 0, after a change during the run).
void addVanillaKd(LossTerms &out, const torch::Tensor &studentLogits, const torch::Tensor &teacherLogits,
                  const torch::Tensor &labels, double temperature, double weight, bool reported);

} // namespace distillery::detail
