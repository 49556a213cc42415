// Distillation methods: the loss a stage trains with (internal to core).
// The trainer knows only this interface, so feature-based methods (hints,
// attention transfer, DKD) slot in without touching it.
#pragma once

#include "distillery/experiment.h"
#include "models/torch_model.h"

#include <memory>

namespace distillery::detail {

struct LossTerms {
    torch::Tensor total;                                          // what is minimised
    std::vector<std::pair<std::string, torch::Tensor>> parts;     // reported separately
};

class DistillationMethod {
public:
    virtual ~DistillationMethod() = default;
    virtual std::string name() const = 0;
    // Whether the loss needs the teacher's outputs for each batch.
    virtual bool needsTeacher() const = 0;
    // The names of LossTerms::parts, in order.
    virtual std::vector<std::string> partNames() const = 0;
    // `teacher` is empty (undefined logits) when needsTeacher() is false.
    virtual LossTerms loss(const ModelOutputs &student, const ModelOutputs &teacher, const torch::Tensor &labels) = 0;
};

// Plain cross-entropy against the labels: the teacher's and the baseline's loss.
std::unique_ptr<DistillationMethod> makeCrossEntropy();
// The method of the distillation stage. Throws ConfigError for an unknown method.
std::unique_ptr<DistillationMethod> makeMethod(const DistillConfig &config);

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
