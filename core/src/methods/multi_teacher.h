// Multi-teacher KD (internal to core): kd whose target is the weighted
// average of several teachers' softened probabilities (docs/METHODS.md,
// "Several teachers"). The teachers' logits arrive side by side, [B, M·K]
// (teacher m's in columns m·K to m·K + K − 1), so that the trainer, the
// teacher cache and the step see one teacher whose output is M times wider.
#pragma once

#include "methods/method.h"

#include <vector>

namespace distillery::detail {

// log Σ_m w_m·softmax(t_m/T), row by row ([B, K]), from the teachers' logits
// side by side; `weights` (one per teacher) sum to 1. With `standardize`, each
// teacher's logits are z-scored first (standardizeLogits).
torch::Tensor averagedTeacherLogProbabilities(const torch::Tensor &teachers, const std::vector<double> &weights,
                                              double temperature, bool standardize = false);

// {total, soft, hard}:
//   soft = T²·kl_div(log_softmax(s/T), averagedTeacherLogProbabilities(...), 'batchmean', log_target)
//   hard = cross_entropy(s, labels),  total = α·soft + (1 − α)·hard.
// On the CPU with int64 labels one pass over the logits (as kdLossFused); the
// average is taken as max_m + log Σ_m w_m·exp(log p_m − max_m) per class, so
// identical teachers give the one teacher's log-probabilities exactly, and
// the same loss and gradient as kd with that teacher alone. Otherwise
// LibTorch's composite operations.
LossTerms multiTeacherKdLoss(const torch::Tensor &studentLogits, const torch::Tensor &teachers,
                             const torch::Tensor &labels, double temperature, double alpha,
                             const std::vector<double> &weights);
LossTerms multiTeacherKdLossComposite(const torch::Tensor &studentLogits, const torch::Tensor &teachers,
                                      const torch::Tensor &labels, double temperature, double alpha,
                                      const std::vector<double> &weights);

// kd with several teachers, `weights` normalised (teacherWeights in experiment.h).
std::unique_ptr<DistillationMethod> makeMultiTeacherKd(const DistillConfig &config, std::vector<double> weights);

} // namespace distillery::detail
