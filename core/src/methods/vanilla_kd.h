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
// On the CPU this is one pass over the logits forward and one backward
// (kdLossFused); elsewhere LibTorch's composite ops (kdLossComposite), which
// also define what the fused pass must compute.
LossTerms kdLoss(const torch::Tensor &studentLogits, const torch::Tensor &teacherLogits, const torch::Tensor &labels,
                 double temperature, double alpha);
LossTerms kdLossFused(const torch::Tensor &studentLogits, const torch::Tensor &teacherLogits,
                      const torch::Tensor &labels, double temperature, double alpha);
LossTerms kdLossComposite(const torch::Tensor &studentLogits, const torch::Tensor &teacherLogits,
                          const torch::Tensor &labels, double temperature, double alpha);

} // namespace distillery::detail
