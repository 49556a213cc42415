#include "methods/method.h"

#include "methods/vanilla_kd.h"

namespace distillery::detail {

namespace {

// Plain cross-entropy against the labels: int64 class indices [B], or float
// class probabilities [B, K] (mixed batches), −mean_b Σ_k labels[b, k]·log p[b, k].
class CrossEntropy final : public DistillationMethod {
public:
    std::string name() const override { return "ce"; }
    bool needsTeacher() const override { return false; }
    std::vector<std::string> partNames() const override { return {}; }
    LossTerms loss(const ModelOutputs &student, const ModelOutputs &, const torch::Tensor &labels) override
    {
        return {torch::nn::functional::cross_entropy(student.logits, labels), {}};
    }
};

} // namespace

std::unique_ptr<DistillationMethod> makeCrossEntropy()
{
    return std::make_unique<CrossEntropy>();
}

std::unique_ptr<DistillationMethod> makeMethod(const DistillConfig &config)
{
    if (config.method == "kd")
        return makeVanillaKd(config);
    throw ConfigError("distillation.method: unknown method '" + config.method + "' (available: kd)");
}

} // namespace distillery::detail
