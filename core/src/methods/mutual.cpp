#include "methods/mutual.h"

#include "distillery/kd.h"
#include "distillery/methods.h"

#include <ATen/CPUGeneratorImpl.h>

#include <mutex>

namespace distillery::detail {

LossTerms mutualLoss(const std::vector<torch::Tensor> &cohort, const torch::Tensor &labels, double T, double ce,
                     double beta)
{
    namespace F = torch::nn::functional;
    const auto K = std::int64_t(cohort.size());
    std::vector<torch::Tensor> logP, logPDetached;
    for (const auto &z : cohort) {
        logP.push_back(F::log_softmax(z / T, F::LogSoftmaxFuncOptions(1)));
        logPDetached.push_back(logP.back().detach());
    }
    const auto klOptions = F::KLDivFuncOptions().reduction(torch::kBatchMean).log_target(true);
    torch::Tensor total, mutualFirst, hardFirst, peers;
    for (std::int64_t k = 0; k < K; ++k) {
        torch::Tensor kl;
        for (std::int64_t l = 0; l < K; ++l)
            if (l != k) {
                auto term = F::kl_div(logP[k], logPDetached[l], klOptions);
                kl = kl.defined() ? kl + term : term;
            }
        kl = kl * (T * T / double(K - 1));
        const auto hard = F::cross_entropy(cohort[k], labels);
        const auto member = hard * ce + kl * beta;
        total = total.defined() ? total + member : member;
        if (k == 0) {
            mutualFirst = kl;
            hardFirst = hard;
        } else {
            peers = peers.defined() ? peers + member.detach() : member.detach();
        }
    }
    return {total, {{"mutual", mutualFirst}, {"hard", hardFirst}, {"peers", peers / double(K - 1)}}};
}

namespace {

// The members other than the stage's student, as one module so that the
// stage trains and checkpoints them with the student.
class CohortImpl : public torch::nn::Module {
public:
    CohortImpl(const Architecture &layers, const Shape &input, int peers)
    {
        for (int i = 0; i < peers; ++i)
            nets.push_back(register_module("peer" + std::to_string(i + 1), Net(layers, input)));
    }
    std::vector<Net> nets;
};
TORCH_MODULE(Cohort);

class MutualLearning final : public DistillationMethod {
public:
    MutualLearning(const DistillConfig &c, std::optional<std::pair<Architecture, Shape>> model)
        : model_(std::move(model))
    {
        configure(c);
        members_ = int(std::lround(methodParam(c, "students")));
    }
    void configure(const DistillConfig &c) override
    {
        T_ = c.temperature;
        ce_ = methodParam(c, "ce");
        beta_ = methodParam(c, "beta");
    }
    std::string name() const override { return "dml"; }
    bool needsTeacher() const override { return false; }
    bool online() const override { return true; }
    std::vector<std::string> partNames() const override { return {"mutual", "hard", "peers"}; }
    torch::nn::Module *prepare(const torch::Device &device) override
    {
        if (!model_)
            return nullptr;
        // The peers' initial weights are drawn from LibTorch's default
        // generator, which is then put back as it was: the student's dropout
        // and augmentation draws stay those of the baseline.
        auto generator = at::detail::getDefaultCPUGenerator();
        at::Tensor state;
        {
            std::lock_guard<std::mutex> lock(generator.mutex());
            state = generator.get_state();
        }
        cohort_ = Cohort(model_->first, model_->second, members_ - 1);
        {
            std::lock_guard<std::mutex> lock(generator.mutex());
            generator.set_state(state);
        }
        cohort_->to(device);
        return cohort_.get();
    }
    ModelOutputs peerOutputs(const torch::Tensor &x) override
    {
        std::vector<torch::Tensor> logits;
        for (auto &net : cohort_->nets)
            logits.push_back(net->forward(x));
        return {torch::cat(logits, 1), {}};
    }
    LossTerms loss(const ModelOutputs &student, const ModelOutputs &peers, const torch::Tensor &labels) override
    {
        const std::int64_t classes = student.logits.size(1);
        std::vector<torch::Tensor> cohort{student.logits};
        for (std::int64_t i = 0; i + classes <= peers.logits.size(1); i += classes)
            cohort.push_back(peers.logits.narrow(1, i, classes));
        return mutualLoss(cohort, labels, T_, ce_, beta_);
    }
    std::vector<Net> peers() { return cohort_ ? cohort_->nets : std::vector<Net>{}; }

private:
    std::optional<std::pair<Architecture, Shape>> model_;
    int members_ = 2;
    double T_ = 1, ce_ = 1, beta_ = 1;
    Cohort cohort_{nullptr};
};

} // namespace

std::unique_ptr<DistillationMethod> makeMutualLearning(const DistillConfig &config, const Architecture &layers,
                                                       const Shape &input)
{
    return std::make_unique<MutualLearning>(config, std::make_pair(layers, input));
}

std::unique_ptr<DistillationMethod> makeMutualLoss(const DistillConfig &config)
{
    return std::make_unique<MutualLearning>(config, std::nullopt);
}

std::vector<Net> cohortPeers(DistillationMethod &method)
{
    auto *m = dynamic_cast<MutualLearning *>(&method);
    return m ? m->peers() : std::vector<Net>{};
}

} // namespace distillery::detail

namespace distillery {

MethodLoss mutualLearningLoss(const DistillConfig &config, const std::vector<std::vector<double>> &cohort,
                              const std::vector<std::int64_t> &labels, int classes)
{
    const auto batch = std::int64_t(labels.size());
    if (cohort.size() < 2 || classes < 1 || batch < 1)
        throw std::invalid_argument("mutualLearningLoss: two or more members' logits, [batch x classes] each");
    std::vector<torch::Tensor> logits;
    for (const auto &z : cohort) {
        if (z.size() != std::size_t(batch * classes))
            throw std::invalid_argument("mutualLearningLoss: each member's logits must be [batch x classes]");
        logits.push_back(torch::tensor(z, torch::kFloat64).reshape({batch, classes}).requires_grad_(true));
    }
    const auto terms = detail::mutualLoss(logits, torch::tensor(labels, torch::kInt64), config.temperature,
                                          methodParam(config, "ce"), methodParam(config, "beta"));
    terms.total.backward();
    MethodLoss out;
    out.total = terms.total.item<double>();
    for (const auto &[name, value] : terms.parts)
        out.parts.emplace_back(name, value.item<double>());
    for (std::size_t k = 0; k < logits.size(); ++k) {
        const auto g = logits[k].grad().contiguous();
        std::vector<double> values(g.data_ptr<double>(), g.data_ptr<double>() + g.numel());
        if (k == 0)
            out.studentGradient = std::move(values);
        else
            out.peerGradients.push_back(std::move(values));
    }
    return out;
}

} // namespace distillery
