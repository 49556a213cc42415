#include "methods/feature_methods.h"

#include "distillery/methods.h"
#include "methods/vanilla_kd.h"

namespace distillery::detail {

namespace F = torch::nn::functional;

namespace {

torch::Tensor rows(const torch::Tensor &f)
{
    return f.reshape({f.size(0), -1});
}

torch::Tensor attentionMap(const torch::Tensor &f, double p)
{
    return F::normalize(rows(f.pow(p).mean(1)), F::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
}

torch::Tensor normalizedGram(const torch::Tensor &f)
{
    const auto x = rows(f);
    return F::normalize(x.mm(x.t()), F::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
}

// Euclidean distances between the rows, the diagonal zero.
torch::Tensor pairwiseDistances(const torch::Tensor &e)
{
    const auto square = e.pow(2).sum(1);
    const auto d = (square.unsqueeze(1) + square.unsqueeze(0) - 2 * e.mm(e.t())).clamp_min(1e-12).sqrt();
    return d * (1 - torch::eye(e.size(0), d.options()));
}

torch::Tensor overPositiveMean(const torch::Tensor &d)
{
    return d / d.masked_select(d > 0).mean();
}

torch::Tensor tripletCosines(const torch::Tensor &e)
{
    const auto diff = F::normalize(e.unsqueeze(0) - e.unsqueeze(1), F::NormalizeFuncOptions().p(2).dim(2).eps(1e-12));
    return torch::bmm(diff, diff.transpose(1, 2)).reshape({-1});
}

torch::Tensor pktSimilarities(const torch::Tensor &f)
{
    constexpr double eps = 1e-7;
    auto x = rows(f);
    x = x / (x.pow(2).sum(1, /*keepdim=*/true).sqrt() + eps);
    x = torch::where(torch::isnan(x), torch::zeros_like(x), x);
    auto s = (x.mm(x.t()) + 1.0) / 2.0;
    return s / s.sum(1, /*keepdim=*/true);
}

// One learned map from a student feature to its teacher's shape (FitNets'
// regressor): a 1×1 convolution with batch norm for maps, linear for vectors.
torch::nn::Sequential makeRegressor(const Shape &student, const Shape &teacher)
{
    if (student.size() == 3)
        return torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(student[0], teacher[0], 1)),
                                     torch::nn::BatchNorm2d(teacher[0]));
    return torch::nn::Sequential(torch::nn::Linear(student[0], teacher[0]));
}

class FeatureMethod final : public DistillationMethod {
public:
    explicit FeatureMethod(const DistillConfig &c) : name_(c.method), kdPart_(methodParam(c, "kd") > 0)
    {
        configure(c);
    }
    // The parts are fixed at the start: a KD weight changed to or from 0
    // during a run weighs the soft term, which stays reported either way.
    void configure(const DistillConfig &c) override
    {
        T_ = c.temperature;
        ce_ = methodParam(c, "ce");
        kd_ = methodParam(c, "kd");
        beta_ = methodParam(c, "beta");
        if (name_ == "fitnet")
            hintEpochs_ = methodParam(c, "hint_epochs");
        if (name_ == "at")
            p_ = methodParam(c, "p");
        if (name_ == "rkd") {
            distance_ = methodParam(c, "distance");
            angle_ = methodParam(c, "angle");
        }
    }
    std::string name() const override { return name_; }
    bool needsTeacher() const override { return true; }
    void setEpoch(int epoch) override { epoch_ = epoch; }
    std::vector<std::string> partNames() const override
    {
        std::vector<std::string> names = ownParts();
        if (kdPart_)
            names.push_back("soft");
        names.push_back("hard");
        return names;
    }
    torch::nn::Module *prepare(const torch::Device &device) override
    {
        if (name_ != "fitnet")
            return nullptr;
        regressors_ = torch::nn::ModuleList();
        for (const auto &[t, s] : pairs_)
            regressors_->push_back(makeRegressor(s.shape, t.shape));
        regressors_->to(device);
        return regressors_.ptr().get();
    }
    LossTerms loss(const ModelOutputs &student, const ModelOutputs &teacher, const torch::Tensor &labels) override
    {
        std::vector<torch::Tensor> own = ownTerms(student, teacher);
        torch::Tensor featureTerm = name_ == "rkd" ? own[0] * distance_ + own[1] * angle_ : own[0];
        const auto hard = F::cross_entropy(student.logits, labels);
        auto total = hard * ce_ + featureTerm * beta_;
        LossTerms out;
        const auto names = ownParts();
        for (std::size_t i = 0; i < names.size(); ++i)
            out.parts.emplace_back(names[i], own[i]);
        // FitNets' first stage (epochs counted from 1): the hint alone. The
        // layers after the student's tap are not in its graph and keep no
        // gradient, so the optimiser leaves them as they are.
        const bool hintOnly = epoch_ <= int(hintEpochs_);
        if (hintOnly)
            total = featureTerm * beta_;
        if (kdPart_ || kd_ > 0) {
            auto soft = kdLossComposite(student.logits, teacher.logits, labels, T_, 1.0).parts[0].second;
            if (!hintOnly)
                total = total + soft * kd_;
            if (kdPart_)
                out.parts.emplace_back("soft", hintOnly ? soft.detach() : soft);
        }
        out.parts.emplace_back("hard", hintOnly ? hard.detach() : hard);
        out.total = total;
        return out;
    }

private:
    std::vector<std::string> ownParts() const
    {
        if (name_ == "rkd")
            return {"distance", "angle"};
        if (name_ == "fitnet")
            return {"hint"};
        if (name_ == "at")
            return {"attention"};
        if (name_ == "sp")
            return {"similarity"};
        return {"pkt"};
    }

    // The method's own terms, each summed over the pairs.
    std::vector<torch::Tensor> ownTerms(const ModelOutputs &student, const ModelOutputs &teacher)
    {
        std::vector<torch::Tensor> sums;
        const auto add = [&sums](std::size_t i, const torch::Tensor &v) {
            if (sums.size() <= i)
                sums.push_back(v);
            else
                sums[i] = sums[i] + v;
        };
        for (std::size_t i = 0; i < pairs_.size(); ++i) {
            const auto &s = feature(student, pairs_[i].second.name);
            const auto t = feature(teacher, pairs_[i].first.name).detach();
            if (name_ == "fitnet") {
                add(0, F::mse_loss((*regressors_)[i]->as<torch::nn::Sequential>()->forward(s), t));
            } else if (name_ == "at") {
                add(0, attentionLoss(s, t, p_));
            } else if (name_ == "sp") {
                add(0, similarityLoss(s, t));
            } else if (name_ == "rkd") {
                auto [d, a] = relationalLoss(s, t);
                add(0, d);
                add(1, a);
            } else {
                add(0, pktLoss(s, t));
            }
        }
        return sums;
    }

    std::string name_;
    bool kdPart_;
    double T_ = 1, ce_ = 1, kd_ = 0, beta_ = 0, p_ = 2.0, distance_ = 0.0, angle_ = 0.0, hintEpochs_ = 0.0;
    int epoch_ = 1;
    torch::nn::ModuleList regressors_{nullptr};
};

} // namespace

torch::Tensor attentionLoss(const torch::Tensor &student, const torch::Tensor &teacher, double p)
{
    auto s = student, t = teacher;
    if (s.size(2) > t.size(2))
        s = F::adaptive_avg_pool2d(s, F::AdaptiveAvgPool2dFuncOptions({t.size(2), t.size(3)}));
    else if (s.size(2) < t.size(2))
        t = F::adaptive_avg_pool2d(t, F::AdaptiveAvgPool2dFuncOptions({s.size(2), s.size(3)}));
    return (attentionMap(s, p) - attentionMap(t, p)).pow(2).mean();
}

torch::Tensor similarityLoss(const torch::Tensor &student, const torch::Tensor &teacher)
{
    const auto b = double(student.size(0));
    const auto diff = normalizedGram(teacher) - normalizedGram(student);
    return (diff * diff).sum() / (b * b);
}

std::pair<torch::Tensor, torch::Tensor> relationalLoss(const torch::Tensor &student, const torch::Tensor &teacher)
{
    const auto s = rows(student), t = rows(teacher).detach();
    const auto distance = F::smooth_l1_loss(overPositiveMean(pairwiseDistances(s)),
                                            overPositiveMean(pairwiseDistances(t)));
    const auto angle = F::smooth_l1_loss(tripletCosines(s), tripletCosines(t));
    return {distance, angle};
}

torch::Tensor pktLoss(const torch::Tensor &student, const torch::Tensor &teacher)
{
    constexpr double eps = 1e-7;
    const auto ps = pktSimilarities(student), pt = pktSimilarities(teacher.detach());
    return (pt * torch::log((pt + eps) / (ps + eps))).mean();
}

std::unique_ptr<DistillationMethod> makeFeatureMethod(const DistillConfig &config)
{
    return std::make_unique<FeatureMethod>(config);
}

} // namespace distillery::detail
