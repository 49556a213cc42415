#include "methods/multi_teacher.h"

#include "distillery/kd.h"
#include "distillery/methods.h"

#include <cmath>
#include <limits>

namespace distillery::detail {

namespace F = torch::nn::functional;

namespace {

std::int64_t classesOf(const torch::Tensor &teachers, const std::vector<double> &weights)
{
    TORCH_CHECK(!weights.empty() && teachers.dim() == 2 && teachers.size(1) % std::int64_t(weights.size()) == 0,
                "multi-teacher kd: the teachers' logits must be [batch x teachers·classes]");
    return teachers.size(1) / std::int64_t(weights.size());
}

} // namespace

torch::Tensor averagedTeacherLogProbabilities(const torch::Tensor &teachers, const std::vector<double> &weights,
                                              double T, bool standardize)
{
    const std::int64_t K = classesOf(teachers, weights);
    std::vector<torch::Tensor> terms;
    for (std::size_t m = 0; m < weights.size(); ++m) {
        auto t = teachers.narrow(1, std::int64_t(m) * K, K);
        if (standardize)
            t = standardizeLogits(t);
        // log(0) = −inf: a teacher of weight 0 adds nothing to the sum.
        terms.push_back(F::log_softmax(t / T, F::LogSoftmaxFuncOptions(1)) + std::log(weights[m]));
    }
    return torch::logsumexp(torch::stack(terms), 0);
}

LossTerms multiTeacherKdLossComposite(const torch::Tensor &s, const torch::Tensor &teachers,
                                      const torch::Tensor &labels, double T, double alpha,
                                      const std::vector<double> &weights)
{
    auto logPs = F::log_softmax(s / T, F::LogSoftmaxFuncOptions(1));
    auto logPt = averagedTeacherLogProbabilities(teachers, weights, T);
    auto soft = F::kl_div(logPs, logPt, F::KLDivFuncOptions().reduction(torch::kBatchMean).log_target(true)) * (T * T);
    auto hard = F::cross_entropy(s, labels);
    return {soft * alpha + hard * (1.0 - alpha), {{"soft", soft}, {"hard", hard}}};
}

namespace {

// kdLossFused's pass with the teachers' average as the target: per row, in
// double, each teacher's log-softmax at T, their weighted average in log
// space, then the same soft and hard terms and gradient as kd's,
//   ∂total/∂s = α·T·(p_s,T − p̄_t)/B + (1 − α)·(p_s − onehot(y))/B.
class FusedMultiKd : public torch::autograd::Function<FusedMultiKd> {
public:
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext *ctx, const torch::Tensor &s,
                                                  const torch::Tensor &t, const torch::Tensor &labels, double T,
                                                  double alpha, std::vector<double> weights)
    {
        const auto sc = s.contiguous();
        const auto tc = t.to(s.scalar_type()).contiguous();
        const auto yc = labels.contiguous();
        const std::int64_t rows = sc.size(0), classes = sc.size(1), M = std::int64_t(weights.size());
        auto grad = torch::empty_like(sc, at::MemoryFormat::Contiguous);
        double soft = 0, hard = 0;
        AT_DISPATCH_FLOATING_TYPES(sc.scalar_type(), "multi_kd_loss", [&] {
            const scalar_t *sp = sc.data_ptr<scalar_t>();
            const scalar_t *tp = tc.data_ptr<scalar_t>();
            const std::int64_t *yp = yc.data_ptr<std::int64_t>();
            scalar_t *gp = grad.data_ptr<scalar_t>();
            std::vector<double> logPsT(classes), logPt(classes), lseT(M);
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
                const scalar_t *sr = sp + r * classes, *tr = tp + r * classes * M;
                const std::int64_t y = yp[r];
                TORCH_CHECK(y >= 0 && y < classes, "label ", y, " out of range for ", classes, " classes");
                const double lseST = logSumExp(sr, 1.0 / T), lseS = logSumExp(sr, 1.0);
                for (std::int64_t m = 0; m < M; ++m)
                    lseT[m] = logSumExp(tr + m * classes, 1.0 / T);
                double kl = 0;
                for (std::int64_t c = 0; c < classes; ++c) {
                    logPsT[c] = double(sr[c]) / T - lseST;
                    double top = -std::numeric_limits<double>::infinity();
                    for (std::int64_t m = 0; m < M; ++m)
                        if (weights[m] > 0)
                            top = std::max(top, double(tr[m * classes + c]) / T - lseT[m]);
                    double sum = 0;
                    for (std::int64_t m = 0; m < M; ++m)
                        if (weights[m] > 0)
                            sum += weights[m] * std::exp(double(tr[m * classes + c]) / T - lseT[m] - top);
                    logPt[c] = top + std::log(sum);
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
        return {grad * gradOutputs[0], {}, {}, {}, {}, {}};
    }
};

} // namespace

LossTerms multiTeacherKdLoss(const torch::Tensor &s, const torch::Tensor &teachers, const torch::Tensor &labels,
                             double T, double alpha, const std::vector<double> &weights)
{
    const std::int64_t K = classesOf(teachers, weights);
    TORCH_CHECK(s.dim() == 2 && s.size(1) == K && teachers.size(0) == s.size(0),
                "multi-teacher kd: each teacher's logits must have the student's shape");
    const bool indices = labels.dim() == 1 && !at::isFloatingType(labels.scalar_type());
    if (indices && s.is_cpu() && (s.scalar_type() == torch::kFloat || s.scalar_type() == torch::kDouble) &&
        s.size(0) > 0) {
        auto out = FusedMultiKd::apply(s, teachers, labels.to(torch::kInt64), T, alpha, weights);
        return {out[0], {{"soft", out[1]}, {"hard", out[2]}}};
    }
    return multiTeacherKdLossComposite(s, teachers, labels, T, alpha, weights);
}

namespace {

class MultiTeacherKd final : public DistillationMethod {
public:
    MultiTeacherKd(const DistillConfig &c, std::vector<double> weights) : weights_(std::move(weights)) { configure(c); }
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
            return multiTeacherKdLoss(student.logits, teacher.logits, labels, T_, alpha_, weights_);
        // As kd: the soft term on z-scored logits (each teacher's own), the hard term on the raw ones.
        auto logPs = F::log_softmax(standardizeLogits(student.logits) / T_, F::LogSoftmaxFuncOptions(1));
        auto logPt = averagedTeacherLogProbabilities(teacher.logits, weights_, T_, true);
        auto soft = F::kl_div(logPs, logPt, F::KLDivFuncOptions().reduction(torch::kBatchMean).log_target(true)) *
                    (T_ * T_);
        auto hard = F::cross_entropy(student.logits, labels);
        return {soft * alpha_ + hard * (1.0 - alpha_), {{"soft", soft}, {"hard", hard}}};
    }

private:
    std::vector<double> weights_;
    double T_ = 1, alpha_ = 0.5;
    bool standardize_ = false;
};

} // namespace

std::unique_ptr<DistillationMethod> makeMultiTeacherKd(const DistillConfig &config, std::vector<double> weights)
{
    if (const auto problem = methodSettingsProblem(config))
        throw ConfigError(problem->first + ": " + problem->second);
    if (config.method != "kd")
        throw ConfigError("distillation.method: several teachers are distilled with kd (got " + config.method + ")");
    return std::make_unique<MultiTeacherKd>(config, std::move(weights));
}

} // namespace distillery::detail

namespace distillery {

MethodLoss multiTeacherLoss(const DistillConfig &config, const std::vector<double> &studentLogits,
                            const std::vector<std::vector<double>> &teacherLogits, const std::vector<double> &weights,
                            const std::vector<std::int64_t> &labels, int classes)
{
    const auto batch = std::int64_t(labels.size());
    if (classes < 1 || batch < 1 || studentLogits.size() != std::size_t(batch * classes) || teacherLogits.empty() ||
        weights.size() != teacherLogits.size())
        throw std::invalid_argument("multiTeacherLoss: logits must be [batch x classes], one weight per teacher");
    double sum = 0;
    for (double w : weights) {
        if (!(w >= 0) || !std::isfinite(w))
            throw std::invalid_argument("multiTeacherLoss: weights must be >= 0");
        sum += w;
    }
    if (!(sum > 0))
        throw std::invalid_argument("multiTeacherLoss: the weights are all 0");
    std::vector<double> normalised;
    std::vector<torch::Tensor> teachers;
    for (std::size_t m = 0; m < weights.size(); ++m) {
        if (teacherLogits[m].size() != studentLogits.size())
            throw std::invalid_argument("multiTeacherLoss: each teacher's logits must have the student's shape");
        normalised.push_back(weights[m] / sum);
        teachers.push_back(torch::tensor(teacherLogits[m], torch::kFloat64).reshape({batch, classes}));
    }
    auto method = detail::makeMultiTeacherKd(config, normalised);
    detail::ModelOutputs s, t;
    s.logits = torch::tensor(studentLogits, torch::kFloat64).reshape({batch, classes}).requires_grad_(true);
    t.logits = torch::cat(teachers, 1);
    const auto terms = method->loss(s, t, torch::tensor(labels, torch::kInt64));
    terms.total.backward();
    MethodLoss out;
    out.total = terms.total.item<double>();
    for (const auto &[name, value] : terms.parts)
        out.parts.emplace_back(name, value.item<double>());
    const auto g = s.logits.grad().contiguous();
    out.studentGradient.assign(g.data_ptr<double>(), g.data_ptr<double>() + g.numel());
    return out;
}

} // namespace distillery
