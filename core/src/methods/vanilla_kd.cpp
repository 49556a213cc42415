#include "methods/vanilla_kd.h"

#include "distillery/kd.h"
#include "distillery/methods.h"

namespace distillery::detail {

LossTerms kdLossComposite(const torch::Tensor &s, const torch::Tensor &t, const torch::Tensor &labels, double T,
                          double alpha)
{
    namespace F = torch::nn::functional;
    // KL(p_t || p_s) summed over classes and averaged over the batch ('batchmean'),
    // from log-probabilities on both sides; times T^2 so that its gradients keep
    // their size as T changes (Hinton et al. 2015).
    auto logPs = F::log_softmax(s / T, F::LogSoftmaxFuncOptions(1));
    auto logPt = F::log_softmax(t / T, F::LogSoftmaxFuncOptions(1));
    auto soft = F::kl_div(logPs, logPt, F::KLDivFuncOptions().reduction(torch::kBatchMean).log_target(true)) * (T * T);
    // Class indices, or class probabilities [B, K] (mixed batches): LibTorch's
    // cross_entropy takes either.
    auto hard = F::cross_entropy(s, labels);
    auto total = soft * alpha + hard * (1.0 - alpha);
    return {total, {{"soft", soft}, {"hard", hard}}};
}

namespace {

// Both terms and their gradient in one pass over each row of logits (about
// thirty LibTorch operations forward and backward otherwise, each with its own
// dispatch and allocation, on tensors of a few kilobytes). Per row, in
// double: log-softmax of s/T, t/T and s, then
//   soft_row = Σ p_t·(log p_t − log p_s,T),  hard_row = −log p_s[y],
//   ∂total/∂s = α·T·(p_s,T − p_t)/B + (1 − α)·(p_s − onehot(y))/B.
class FusedKd : public torch::autograd::Function<FusedKd> {
public:
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext *ctx, const torch::Tensor &s,
                                                  const torch::Tensor &t, const torch::Tensor &labels, double T,
                                                  double alpha)
    {
        const auto sc = s.contiguous();
        const auto tc = t.to(s.scalar_type()).contiguous();
        const auto yc = labels.contiguous();
        const std::int64_t rows = sc.size(0), classes = sc.size(1);
        auto grad = torch::empty_like(sc, at::MemoryFormat::Contiguous);
        double soft = 0, hard = 0;
        AT_DISPATCH_FLOATING_TYPES(sc.scalar_type(), "kd_loss", [&] {
            const scalar_t *sp = sc.data_ptr<scalar_t>();
            const scalar_t *tp = tc.data_ptr<scalar_t>();
            const std::int64_t *yp = yc.data_ptr<std::int64_t>();
            scalar_t *gp = grad.data_ptr<scalar_t>();
            std::vector<double> logPsT(classes), logPt(classes);
            const double invB = 1.0 / double(rows);
            auto logSumExp = [classes](const scalar_t *x, double scale) {
                double m = -std::numeric_limits<double>::infinity();
                for (std::int64_t c = 0; c < classes; ++c)
                    m = std::max(m, double(x[c]) * scale);
                double sum = 0;
                for (std::int64_t c = 0; c < classes; ++c)
                    sum += std::exp(double(x[c]) * scale - m);
                return m + std::log(sum);
            };
            for (std::int64_t r = 0; r < rows; ++r) {
                const scalar_t *sr = sp + r * classes, *tr = tp + r * classes;
                const std::int64_t y = yp[r];
                TORCH_CHECK(y >= 0 && y < classes, "label ", y, " out of range for ", classes, " classes");
                const double lseST = logSumExp(sr, 1.0 / T), lseTT = logSumExp(tr, 1.0 / T), lseS = logSumExp(sr, 1.0);
                double kl = 0;
                for (std::int64_t c = 0; c < classes; ++c) {
                    logPsT[c] = double(sr[c]) / T - lseST;
                    logPt[c] = double(tr[c]) / T - lseTT;
                    kl += std::exp(logPt[c]) * (logPt[c] - logPsT[c]);
                }
                soft += kl;
                hard += lseS - double(sr[y]);
                for (std::int64_t c = 0; c < classes; ++c) {
                    const double ps = std::exp(double(sr[c]) - lseS) - (c == y ? 1.0 : 0.0);
                    gp[r * classes + c] =
                        scalar_t((alpha * T * (std::exp(logPsT[c]) - std::exp(logPt[c])) + (1 - alpha) * ps) * invB);
                }
            }
            soft *= T * T * invB;
            hard *= invB;
        });
        ctx->save_for_backward({grad});
        const auto options = sc.options().requires_grad(false);
        auto softT = torch::scalar_tensor(soft, options), hardT = torch::scalar_tensor(hard, options);
        ctx->mark_non_differentiable({softT, hardT});
        return {torch::scalar_tensor(alpha * soft + (1 - alpha) * hard, options), softT, hardT};
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                   torch::autograd::variable_list gradOutputs)
    {
        const auto grad = ctx->get_saved_variables()[0];
        return {grad * gradOutputs[0], {}, {}, {}, {}};
    }
};

} // namespace

LossTerms kdLossFused(const torch::Tensor &s, const torch::Tensor &t, const torch::Tensor &labels, double T,
                      double alpha)
{
    TORCH_CHECK(s.dim() == 2 && t.sizes() == s.sizes() && labels.dim() == 1 && labels.size(0) == s.size(0),
                "kd loss: logits must be [batch x classes] with one label per row");
    auto out = FusedKd::apply(s, t, labels.to(torch::kInt64), T, alpha);
    return {out[0], {{"soft", out[1]}, {"hard", out[2]}}};
}

LossTerms kdLoss(const torch::Tensor &s, const torch::Tensor &t, const torch::Tensor &labels, double T, double alpha)
{
    // The fused pass takes class indices; probability targets go the composite way.
    const bool indices = labels.dim() == 1 && !at::isFloatingType(labels.scalar_type());
    if (indices && s.is_cpu() && (s.scalar_type() == torch::kFloat || s.scalar_type() == torch::kDouble) &&
        s.size(0) > 0)
        return kdLossFused(s, t, labels, T, alpha);
    return kdLossComposite(s, t, labels, T, alpha);
}

namespace {

class VanillaKd final : public DistillationMethod {
public:
    explicit VanillaKd(const DistillConfig &c) { configure(c); }
    void configure(const DistillConfig &c) override
    {
        T_ = c.temperature;
        alpha_ = c.alpha;
        standardize_ = methodParam(c, "standardize") != 0;
    }
    std::string name() const override { return "kd"; }
    bool needsTeacher() const override { return true; }
    std::vector<std::string> partNames() const override { return {"soft", "hard"}; }
    LossTerms loss(const ModelOutputs &student, const ModelOutputs &teacher, const torch::Tensor &labels) override
    {
        if (!standardize_)
            return kdLoss(student.logits, teacher.logits, labels, T_, alpha_);
        // The soft term on z-scored logits, the hard term on the raw ones.
        auto soft = kdLossComposite(standardizeLogits(student.logits), standardizeLogits(teacher.logits), labels,
                                    T_, 1.0).parts[0].second;
        auto hard = torch::nn::functional::cross_entropy(student.logits, labels);
        return {soft * alpha_ + hard * (1.0 - alpha_), {{"soft", soft}, {"hard", hard}}};
    }

private:
    double T_ = 1, alpha_ = 0.5;
    bool standardize_ = false;
};

} // namespace

std::unique_ptr<DistillationMethod> makeVanillaKd(const DistillConfig &config)
{
    return std::make_unique<VanillaKd>(config);
}

void addVanillaKd(LossTerms &out, const torch::Tensor &studentLogits, const torch::Tensor &teacherLogits,
                  const torch::Tensor &labels, double temperature, double weight, bool reported)
{
    if (!reported && !(weight > 0))
        return;
    auto soft = kdLossComposite(studentLogits, teacherLogits, labels, temperature, 1.0).parts[0].second;
    out.total = out.total + soft * weight;
    if (reported)
        out.parts.emplace_back("soft", soft);
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
