#include "methods/crd.h"

#include "distillery/methods.h"
#include "methods/vanilla_kd.h"

#include <algorithm>
#include <cmath>

namespace distillery::detail {

namespace F = torch::nn::functional;

torch::Tensor contrastLoss(const torch::Tensor &x, std::int64_t rows)
{
    constexpr double eps = 1e-7;
    const std::int64_t m = x.size(1) - 1;
    const double noise = double(m) / double(rows);
    const auto positive = x.select(1, 0);
    const auto logD1 = (positive / (positive + (noise + eps))).log();
    const auto negative = x.narrow(1, 1, m);
    const auto logD0 = (torch::full_like(negative, noise) / (negative + (noise + eps))).log();
    return -(logD1.sum() + logD0.sum()) / double(x.size(0));
}

namespace {

// What CRD learns and keeps beside the student: the two embeddings (linear,
// then L2-normalised rows) and each model's memory of the training set's
// embeddings, with the normalising constants fixed at the first batch.
class ContrastImpl : public torch::nn::Module {
public:
    ContrastImpl(std::int64_t studentDim, std::int64_t teacherDim, std::int64_t dim, std::int64_t rows)
    {
        student = register_module("embed_s", torch::nn::Linear(studentDim, dim));
        teacher = register_module("embed_t", torch::nn::Linear(teacherDim, dim));
        const double stdv = 1.0 / std::sqrt(double(dim) / 3.0);
        memoryStudent = register_buffer("memory_v1", torch::rand({rows, dim}) * (2 * stdv) - stdv);
        memoryTeacher = register_buffer("memory_v2", torch::rand({rows, dim}) * (2 * stdv) - stdv);
        normalisers = register_buffer("z", torch::full({2}, -1.0));
    }
    torch::nn::Linear student{nullptr}, teacher{nullptr};
    torch::Tensor memoryStudent, memoryTeacher, normalisers;
};
TORCH_MODULE(Contrast);

torch::Tensor embed(torch::nn::Linear &linear, const torch::Tensor &f)
{
    const auto x = linear->forward(f.reshape({f.size(0), -1}));
    return x / x.pow(2).sum(1, /*keepdim=*/true).pow(0.5);
}

class Crd final : public DistillationMethod {
public:
    explicit Crd(const DistillConfig &c) : kdPart_(methodParam(c, "kd") > 0)
    {
        configure(c);
        negatives_ = std::lround(methodParam(c, "nce_k"));
        dim_ = std::lround(methodParam(c, "feat_dim"));
    }
    void configure(const DistillConfig &c) override
    {
        T_ = c.temperature;
        ce_ = methodParam(c, "ce");
        kd_ = methodParam(c, "kd");
        beta_ = methodParam(c, "beta");
        nceT_ = methodParam(c, "nce_t");
        momentum_ = methodParam(c, "nce_m");
    }
    std::string name() const override { return "crd"; }
    bool needsTeacher() const override { return true; }
    std::vector<std::string> partNames() const override
    {
        return kdPart_ ? std::vector<std::string>{"contrast", "soft", "hard"}
                       : std::vector<std::string>{"contrast", "hard"};
    }
    void setTrainingLabels(const torch::Tensor &labels) override
    {
        // Each class's negatives: the rows of every other class (RepDistiller's
        // "exact" sampling), drawn per example with replacement; a table of
        // them per class, padded, and how many each has.
        labels_ = labels.to(torch::kCPU).to(torch::kInt64);
        const std::int64_t classes = labels_.numel() ? labels_.max().item<std::int64_t>() + 1 : 0;
        std::vector<torch::Tensor> others;
        std::int64_t longest = 1;
        for (std::int64_t k = 0; k < classes; ++k) {
            others.push_back(labels_.ne(k).nonzero().flatten());
            longest = std::max(longest, others.back().numel());
        }
        others_ = torch::zeros({classes, longest}, torch::kInt64);
        counts_ = torch::zeros({classes}, torch::kFloat64);
        for (std::int64_t k = 0; k < classes; ++k) {
            others_[k].narrow(0, 0, others[std::size_t(k)].numel()).copy_(others[std::size_t(k)]);
            counts_[k] = double(others[std::size_t(k)].numel());
        }
    }
    std::vector<std::pair<std::string, torch::Tensor>> lastDraws() const override { return {{"contrast", drawn_}}; }
    void setBatchRows(const torch::Tensor &rows) override { rows_ = rows; }
    torch::nn::Module *prepare(const torch::Device &device) override
    {
        if (pairs_.empty() || !labels_.defined())
            return nullptr;
        const auto size = [](const Shape &s) {
            std::int64_t n = 1;
            for (auto d : s)
                n *= d;
            return n;
        };
        contrast_ = Contrast(size(pairs_[0].second.shape), size(pairs_[0].first.shape), dim_, labels_.numel());
        contrast_->to(device);
        return contrast_.ptr().get();
    }
    LossTerms loss(const ModelOutputs &student, const ModelOutputs &teacher, const torch::Tensor &labels) override
    {
        const auto term = contrastTerm(feature(student, pairs_[0].second.name),
                                       feature(teacher, pairs_[0].first.name).detach());
        const auto hard = F::cross_entropy(student.logits, labels);
        LossTerms out;
        out.parts.emplace_back("contrast", term);
        out.total = hard * ce_ + term * beta_;
        if (kdPart_ || kd_ > 0) {
            auto soft = kdLossComposite(student.logits, teacher.logits, labels, T_, 1.0).parts[0].second;
            out.total = out.total + soft * kd_;
            if (kdPart_)
                out.parts.emplace_back("soft", soft);
        }
        out.parts.emplace_back("hard", hard);
        return out;
    }

private:
    // The batch's rows first, then negatives_ rows of other classes each.
    torch::Tensor sampleRows(const torch::Tensor &rows)
    {
        const auto cpuRows = rows.to(torch::kCPU).to(torch::kInt64);
        const auto y = labels_.index_select(0, cpuRows);
        // Uniform over each example's pool, from LibTorch's default generator.
        const auto pick = (torch::rand({rows.size(0), negatives_}, torch::kFloat64) *
                           counts_.index_select(0, y).unsqueeze(1)).floor().to(torch::kInt64);
        const auto negatives = others_.index_select(0, y).gather(1, pick);
        return torch::cat({cpuRows.unsqueeze(1), negatives}, 1);
    }

    torch::Tensor contrastTerm(const torch::Tensor &fs, const torch::Tensor &ft)
    {
        auto &c = *contrast_;
        const auto vs = embed(c.student, fs), vt = embed(c.teacher, ft);
        const auto rows = rows_.defined() ? rows_ : torch::arange(fs.size(0), torch::kInt64);
        drawn_ = sampleRows(rows);
        const std::int64_t B = vs.size(0), n = c.memoryStudent.size(0);
        const auto flat = drawn_.reshape({-1}).to(vs.device());
        // Each model's embedding against the other's memory.
        const auto wt = c.memoryTeacher.index_select(0, flat).view({B, negatives_ + 1, dim_}).to(vs.scalar_type());
        const auto ws = c.memoryStudent.index_select(0, flat).view({B, negatives_ + 1, dim_}).to(vt.scalar_type());
        auto outS = torch::bmm(wt, vs.view({B, dim_, 1})).div(nceT_).exp().squeeze(2);
        auto outT = torch::bmm(ws, vt.view({B, dim_, 1})).div(nceT_).exp().squeeze(2);
        {
            torch::NoGradGuard guard;
            if (c.normalisers[0].item<double>() < 0) // the first batch fixes them
                c.normalisers.copy_(torch::stack({outS.mean(), outT.mean()}) * double(n));
        }
        outS = outS / c.normalisers[0].item<double>();
        outT = outT / c.normalisers[1].item<double>();
        const auto loss = contrastLoss(outS, n) + contrastLoss(outT, n);
        update(c.memoryStudent, vs, rows);
        update(c.memoryTeacher, vt, rows);
        return loss;
    }

    void update(torch::Tensor &memory, const torch::Tensor &v, const torch::Tensor &rows)
    {
        torch::NoGradGuard guard;
        const auto r = rows.to(memory.device());
        auto moved = memory.index_select(0, r) * momentum_ + v.detach().to(memory.scalar_type()) * (1 - momentum_);
        memory.index_copy_(0, r, moved / moved.pow(2).sum(1, /*keepdim=*/true).pow(0.5));
    }

    bool kdPart_;
    double T_ = 4, ce_ = 1, kd_ = 0, beta_ = 0.8, nceT_ = 0.07, momentum_ = 0.5;
    std::int64_t negatives_ = 16384, dim_ = 128;
    torch::Tensor labels_, rows_, drawn_;
    torch::Tensor others_, counts_;     // per class: the other classes' rows (padded), how many
    Contrast contrast_{nullptr};
};

} // namespace

std::unique_ptr<DistillationMethod> makeCrd(const DistillConfig &config)
{
    return std::make_unique<Crd>(config);
}

} // namespace distillery::detail
