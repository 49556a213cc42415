#include "methods/method.h"

#include "distillery/methods.h"

#include "methods/crd.h"
#include "methods/dist.h"
#include "methods/dkd.h"
#include "methods/feature_methods.h"
#include "methods/mutual.h"
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
    if (const auto problem = methodSettingsProblem(config))
        throw ConfigError(problem->first + ": " + problem->second);
    if (config.method == "kd")
        return makeVanillaKd(config);
    if (config.method == "dkd")
        return makeDkd(config);
    if (config.method == "dist")
        return makeDist(config);
    if (config.method == "dml")
        return makeMutualLoss(config);
    if (config.method == "crd")
        return makeCrd(config);
    if (findMethod(config.method)->usesFeatures())
        return makeFeatureMethod(config);
    throw ConfigError("distillation.method: '" + config.method + "' is listed but not built");
}

// The taps are worked out once here, not at every training step.
void DistillationMethod::setPairs(std::vector<std::pair<Tap, Tap>> pairs)
{
    pairs_ = std::move(pairs);
    teacherTaps_.clear();
    studentTaps_.clear();
    for (const auto &[t, s] : pairs_) {
        if (!findTap(teacherTaps_, t.name))
            teacherTaps_.push_back(t);
        if (!findTap(studentTaps_, s.name))
            studentTaps_.push_back(s);
    }
}

const torch::Tensor &feature(const ModelOutputs &outputs, const std::string &name)
{
    for (const auto &[n, f] : outputs.features)
        if (n == name)
            return f;
    throw std::logic_error("feature '" + name + "' was not captured");
}

torch::Tensor standardizeLogits(const torch::Tensor &z)
{
    const auto mean = z.mean(1, /*keepdim=*/true);
    const auto stdev = z.std(1, /*unbiased=*/true, /*keepdim=*/true);
    return (z - mean) / (stdev + 1e-7);
}

torch::Tensor hardLabels(const torch::Tensor &labels)
{
    return labels.dim() == 2 ? labels.argmax(1) : labels;
}

} // namespace distillery::detail
