#include "distill.h"

#include "distillery/kd.h"

namespace distillery::detail {

LossTerms kdLoss(const torch::Tensor &s, const torch::Tensor &t, const torch::Tensor &labels, double T, double alpha)
{
    namespace F = torch::nn::functional;
    // KL(p_t || p_s) summed over classes and averaged over the batch ('batchmean'),
    // from log-probabilities on both sides; times T^2 so that its gradients keep
    // their size as T changes (Hinton et al. 2015).
    auto logPs = F::log_softmax(s / T, F::LogSoftmaxFuncOptions(1));
    auto logPt = F::log_softmax(t / T, F::LogSoftmaxFuncOptions(1));
    auto soft = F::kl_div(logPs, logPt, F::KLDivFuncOptions().reduction(torch::kBatchMean).log_target(true)) * (T * T);
    auto hard = F::cross_entropy(s, labels);
    auto total = soft * alpha + hard * (1.0 - alpha);
    return {total, {{"soft", soft}, {"hard", hard}}};
}

namespace {

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

class VanillaKd final : public DistillationMethod {
public:
    explicit VanillaKd(const DistillConfig &c) : T_(c.temperature), alpha_(c.alpha) {}
    std::string name() const override { return "kd"; }
    bool needsTeacher() const override { return true; }
    std::vector<std::string> partNames() const override { return {"soft", "hard"}; }
    LossTerms loss(const ModelOutputs &student, const ModelOutputs &teacher, const torch::Tensor &labels) override
    {
        return kdLoss(student.logits, teacher.logits, labels, T_, alpha_);
    }

private:
    double T_, alpha_;
};

} // namespace

std::unique_ptr<DistillationMethod> makeCrossEntropy()
{
    return std::make_unique<CrossEntropy>();
}

std::unique_ptr<DistillationMethod> makeMethod(const DistillConfig &config)
{
    if (config.method == "kd")
        return std::make_unique<VanillaKd>(config);
    throw ConfigError("distillation.method: unknown method '" + config.method + "' (available: kd)");
}

} // namespace distillery::detail

namespace distillery {

KdLoss kdLoss(const std::vector<float> &studentLogits, const std::vector<float> &teacherLogits,
              const std::vector<std::int64_t> &labels, int classes, double temperature, double alpha)
{
    const auto batch = std::int64_t(labels.size());
    if (classes < 1 || batch < 1 || studentLogits.size() != std::size_t(batch * classes) ||
        teacherLogits.size() != studentLogits.size())
        throw std::invalid_argument("kdLoss: logits must be [batch x classes] with one label per row");
    torch::NoGradGuard guard;
    auto s = torch::tensor(studentLogits, torch::kFloat64).reshape({batch, classes});
    auto t = torch::tensor(teacherLogits, torch::kFloat64).reshape({batch, classes});
    auto y = torch::tensor(labels, torch::kInt64);
    const auto terms = detail::kdLoss(s, t, y, temperature, alpha);
    return {terms.total.item<double>(), terms.parts[0].second.item<double>(), terms.parts[1].second.item<double>()};
}

} // namespace distillery
