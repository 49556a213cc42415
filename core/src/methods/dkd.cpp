#include "methods/dkd.h"

#include "distillery/methods.h"
#include "methods/vanilla_kd.h"

#include <algorithm>

namespace distillery::detail {

namespace {

// [B, 2]: each row's probability of the target class and of all the others.
torch::Tensor targetAndRest(const torch::Tensor &p, const torch::Tensor &gt, const torch::Tensor &other)
{
    return torch::cat({(p * gt).sum(1, /*keepdim=*/true), (p * other).sum(1, /*keepdim=*/true)}, 1);
}

class Dkd final : public DistillationMethod {
public:
    explicit Dkd(const DistillConfig &c) : kdPart_(methodParam(c, "kd") > 0) { configure(c); }
    void configure(const DistillConfig &c) override
    {
        T_ = c.temperature;
        ce_ = methodParam(c, "ce");
        kd_ = methodParam(c, "kd");
        alpha_ = methodParam(c, "alpha");
        beta_ = methodParam(c, "beta");
        warmup_ = methodParam(c, "warmup");
        standardize_ = methodParam(c, "standardize") != 0;
    }
    std::string name() const override { return "dkd"; }
    bool needsTeacher() const override { return true; }
    std::vector<std::string> partNames() const override
    {
        return kdPart_ ? std::vector<std::string>{"tckd", "nckd", "soft", "hard"}
                       : std::vector<std::string>{"tckd", "nckd", "hard"};
    }
    void setEpoch(int epoch) override { epoch_ = epoch; }
    LossTerms loss(const ModelOutputs &student, const ModelOutputs &teacher, const torch::Tensor &labels) override
    {
        const auto s = standardize_ ? standardizeLogits(student.logits) : student.logits;
        const auto t = standardize_ ? standardizeLogits(teacher.logits) : teacher.logits;
        const DkdTerms terms = dkdTerms(s, t.detach(), hardLabels(labels), T_);
        const auto hard = torch::nn::functional::cross_entropy(student.logits, labels);
        // The reference's warm-up: min(epoch / warmup, 1), epochs counted from 1.
        const double ramp = warmup_ > 0 ? std::min(double(epoch_) / warmup_, 1.0) : 1.0;
        LossTerms out{hard * ce_ + (terms.tckd * alpha_ + terms.nckd * beta_) * ramp,
                      {{"tckd", terms.tckd}, {"nckd", terms.nckd}}};
        addVanillaKd(out, student.logits, teacher.logits, labels, T_, kd_, kdPart_);
        out.parts.emplace_back("hard", hard);
        return out;
    }

private:
    bool kdPart_;
    double T_ = 1, ce_ = 1, kd_ = 0, alpha_ = 1, beta_ = 1, warmup_ = 0;
    bool standardize_ = false;
    int epoch_ = 1;
};

} // namespace

DkdTerms dkdTerms(const torch::Tensor &s, const torch::Tensor &t, const torch::Tensor &target, double T)
{
    namespace F = torch::nn::functional;
    const auto batch = double(target.size(0));
    const auto gt = F::one_hot(target, s.size(1)).to(s.scalar_type());
    const auto other = 1 - gt;
    const auto ps = targetAndRest(F::softmax(s / T, F::SoftmaxFuncOptions(1)), gt, other);
    const auto pt = targetAndRest(F::softmax(t / T, F::SoftmaxFuncOptions(1)), gt, other);
    const auto sum = F::KLDivFuncOptions().reduction(torch::kSum);
    const auto tckd = F::kl_div(torch::log(ps), pt, sum) * (T * T) / batch;
    // The target class pushed out of both softmaxes; the teacher's then has an
    // exact zero there, which kl_div counts as nothing.
    const auto ptRest = F::softmax(t / T - gt * 1000.0, F::SoftmaxFuncOptions(1));
    const auto logPsRest = F::log_softmax(s / T - gt * 1000.0, F::LogSoftmaxFuncOptions(1));
    const auto nckd = F::kl_div(logPsRest, ptRest, sum) * (T * T) / batch;
    return {tckd, nckd};
}

std::unique_ptr<DistillationMethod> makeDkd(const DistillConfig &config)
{
    return std::make_unique<Dkd>(config);
}

} // namespace distillery::detail
