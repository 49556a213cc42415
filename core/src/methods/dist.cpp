#include "methods/dist.h"

#include "distillery/methods.h"
#include "methods/vanilla_kd.h"

namespace distillery::detail {

namespace {

// Pearson's correlation of each row of `a` with the same row of `b`.
torch::Tensor rowPearson(const torch::Tensor &a, const torch::Tensor &b)
{
    const auto ac = a - a.mean(1, /*keepdim=*/true);
    const auto bc = b - b.mean(1, /*keepdim=*/true);
    return (ac * bc).sum(1) / (ac.norm(2, {1}) * bc.norm(2, {1}) + 1e-8);
}

class Dist final : public DistillationMethod {
public:
    explicit Dist(const DistillConfig &c) : kdPart_(methodParam(c, "kd") > 0) { configure(c); }
    void configure(const DistillConfig &c) override
    {
        T_ = c.temperature;
        ce_ = methodParam(c, "ce");
        kd_ = methodParam(c, "kd");
        beta_ = methodParam(c, "beta");
        gamma_ = methodParam(c, "gamma");
    }
    std::string name() const override { return "dist"; }
    bool needsTeacher() const override { return true; }
    std::vector<std::string> partNames() const override
    {
        return kdPart_ ? std::vector<std::string>{"inter", "intra", "soft", "hard"}
                       : std::vector<std::string>{"inter", "intra", "hard"};
    }
    LossTerms loss(const ModelOutputs &student, const ModelOutputs &teacher, const torch::Tensor &labels) override
    {
        const DistTerms terms = distTerms(student.logits, teacher.logits.detach(), T_);
        const auto hard = torch::nn::functional::cross_entropy(student.logits, labels);
        LossTerms out{hard * ce_ + terms.inter * beta_ + terms.intra * gamma_,
                      {{"inter", terms.inter}, {"intra", terms.intra}}};
        addVanillaKd(out, student.logits, teacher.logits, labels, T_, kd_, kdPart_);
        out.parts.emplace_back("hard", hard);
        return out;
    }

private:
    bool kdPart_;
    double T_ = 1, ce_ = 1, kd_ = 0, beta_ = 1, gamma_ = 1;
};

} // namespace

DistTerms distTerms(const torch::Tensor &s, const torch::Tensor &t, double T)
{
    namespace F = torch::nn::functional;
    const auto ps = F::softmax(s / T, F::SoftmaxFuncOptions(1));
    const auto pt = F::softmax(t / T, F::SoftmaxFuncOptions(1));
    const auto inter = (1 - rowPearson(ps, pt).mean()) * (T * T);
    const auto intra = (1 - rowPearson(ps.t(), pt.t()).mean()) * (T * T);
    return {inter, intra};
}

std::unique_ptr<DistillationMethod> makeDist(const DistillConfig &config)
{
    return std::make_unique<Dist>(config);
}

} // namespace distillery::detail
