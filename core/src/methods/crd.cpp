#include "methods/crd.h"

#include "distillery/methods.h"
#include "methods/vanilla_kd.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_set>

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
        // The rows sorted by class (stable), each class's block in it: the
        // other classes' rows are all but one block.
        labels_ = labels.to(torch::kCPU).to(torch::kInt64);
        const std::int64_t classes = labels_.numel() ? labels_.max().item<std::int64_t>() + 1 : 0;
        order_ = std::get<1>(labels_.sort(/*stable=*/true, 0, /*descending=*/false));
        counts_ = labels_.bincount({}, classes);
        starts_ = counts_.cumsum(0) - counts_;
        if (labels_.numel() > 0 && counts_.gt(0).sum().item<std::int64_t>() < 2)
            throw ConfigError("distillation.method: crd contrasts each example with rows of other classes, and "
                              "the students' training rows are all of one class (e.g. data.omit_classes leaves one)");
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
        normalisersRead_ = false;
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
        addVanillaKd(out, student.logits, teacher.logits, labels, T_, kd_, kdPart_);
        out.parts.emplace_back("hard", hard);
        return out;
    }

private:
    // The batch's rows first, then negatives_ rows of other classes each:
    // without replacement, unless the other classes have fewer rows
    // (RepDistiller's "exact" sampling), from LibTorch's default generator.
    torch::Tensor sampleRows(const torch::Tensor &rows)
    {
        const auto cpuRows = rows.to(torch::kCPU).to(torch::kInt64);
        const auto y = labels_.index_select(0, cpuRows);
        const std::int64_t n = labels_.numel(), B = cpuRows.numel(), K = negatives_;
        // One uniform draw per negative for the whole batch; each row's pool
        // is the other classes' rows. Without replacement, Floyd's algorithm
        // picks a uniform K-subset of the pool in K draws (a permutation of
        // the pool would cost its size, tens of thousands per example).
        const auto u = torch::rand({B, K}, torch::kFloat64);
        const auto pools = n - counts_.index_select(0, y);
        auto pick = torch::empty({B, K}, torch::kInt64);
        const auto uu = u.accessor<double, 2>();
        const auto pool = pools.accessor<std::int64_t, 1>();
        auto out = pick.accessor<std::int64_t, 2>();
        std::unordered_set<std::int64_t> chosen;
        chosen.reserve(std::size_t(2 * K));
        for (std::int64_t b = 0; b < B; ++b) {
            const std::int64_t m = pool[b];
            const auto below = [&](std::int64_t i, std::int64_t range) {
                return std::min(std::int64_t(uu[b][i] * double(range)), range - 1);
            };
            if (K > m) { // fewer rows than negatives: with replacement
                for (std::int64_t i = 0; i < K; ++i)
                    out[b][i] = below(i, m);
                continue;
            }
            chosen.clear();
            for (std::int64_t i = 0; i < K; ++i) {
                const std::int64_t j = m - K + i;
                std::int64_t t = below(i, j + 1);
                if (!chosen.insert(t).second) // taken: j is new, as no earlier pick exceeds j − 1
                    chosen.insert(t = j);
                out[b][i] = t;
            }
        }
        // Position i among the other classes' rows skips the example's class block.
        const auto start = starts_.index_select(0, y).unsqueeze(1), count = counts_.index_select(0, y).unsqueeze(1);
        const auto positions = pick + pick.ge(start).to(torch::kInt64) * count;
        const auto negatives = order_.index_select(0, positions.reshape({-1})).view({B, K});
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
        if (!normalisersRead_) { // once a stage: the first batch fixes them, or a checkpoint brought them
            torch::NoGradGuard guard;
            if (c.normalisers[0].item<double>() < 0)
                c.normalisers.copy_(torch::stack({outS.mean(), outT.mean()}) * double(n));
            normalisers_ = {c.normalisers[0].item<double>(), c.normalisers[1].item<double>()};
            normalisersRead_ = true;
        }
        outS = outS / normalisers_[0];
        outT = outT / normalisers_[1];
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
    torch::Tensor order_;               // the training rows sorted by class
    torch::Tensor counts_, starts_;     // per class: its rows, and where its block starts in order_
    Contrast contrast_{nullptr};
    std::array<double, 2> normalisers_{};  // contrast_->normalisers on the host, once read
    bool normalisersRead_ = false;
};

} // namespace

std::unique_ptr<DistillationMethod> makeCrd(const DistillConfig &config)
{
    return std::make_unique<Crd>(config);
}

} // namespace distillery::detail
