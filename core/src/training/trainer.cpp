#include "training/trainer.h"

#include "data/augment.h"
#include "methods/mutual.h"
#include "training/max_norm.h"

#include <ATen/autocast_mode.h>

namespace distillery::detail {

namespace {

// Rows [n·rank/ranks, n·(rank+1)/ranks) of the batch, and their share of it.
std::pair<torch::Tensor, double> shard(const StepContext &c, const torch::Tensor &batch)
{
    if (!c.reducer)
        return {batch, 1.0};
    const std::int64_t n = batch.size(0);
    const std::int64_t lo = n * c.rank / c.ranks;
    const std::int64_t hi = n * (c.rank + 1) / c.ranks;
    return {batch.slice(0, lo, hi), n > 0 ? double(hi - lo) / double(n) : 0.0};
}

// The optimiser's step after the gradients; the same on every process (the
// reduced gradients are equal, so the loss scale skips on all or none).
void update(StepContext &c)
{
    if (c.scaler) {
        std::vector<torch::Tensor> parameters;
        for (auto &group : c.optimizer.param_groups())
            for (auto &p : group.params())
                parameters.push_back(p);
        if (!c.scaler->unscale(parameters))
            return;
    }
    c.optimizer.step();
    if (c.settings && c.settings->maxNorm > 0) {
        applyMaxNorm(c.model->parameters(), c.settings->maxNorm);
        for (auto &peer : cohortPeers(c.method)) // mutual learning: the other students train as it does
            applyMaxNorm(peer->parameters(), c.settings->maxNorm);
    }
}

void toFloat(ModelOutputs &outputs)
{
    if (outputs.logits.defined())
        outputs.logits = outputs.logits.to(torch::kFloat);
    for (auto &f : outputs.features)
        f.second = f.second.to(torch::kFloat);
}

} // namespace

void trainStep(StepContext &c, const torch::Tensor &batch, torch::Tensor &acc)
{
    const auto [idx, share] = shard(c, batch);
    if (idx.size(0) == 0) { // fewer rows than processes: this one adds nothing but takes part
        for (auto &group : c.optimizer.param_groups())
            for (auto &p : group.params())
                p.mutable_grad().reset();
        c.reducer->begin(0.0);
        c.reducer->finish();
        update(c);
        return;
    }
    auto x = c.train.x.index_select(0, idx);
    auto y = c.train.y.index_select(0, idx);
    if (c.settings && augmentsInputs(*c.settings)) {
        auto batch = augmentBatch(*c.settings, x, y, c.classes, c.blackPixel);
        x = batch.x;
        y = batch.target; // class probabilities when the batch was mixed
    }
    ModelOutputs student, teacher;
    {
        Autocast autocast(c.precision, x.device());
        if (c.featureCache) {
            student = c.model->forwardWithTaps(x, c.method.studentTaps());
            teacher.logits = c.featureCache->logits.index_select(0, idx);
            for (const auto &[name, f] : c.featureCache->features)
                teacher.features.emplace_back(name, f.index_select(0, idx));
        } else if (c.teacherFeatures) {
            student = c.model->forwardWithTaps(x, c.method.studentTaps());
            torch::NoGradGuard guard;
            teacher = c.teacherFeatures(x, c.method.teacherTaps());
        } else {
            student.logits = c.model->forward(x);
            if (c.method.online()) {
                teacher = c.method.peerOutputs(x); // trained with the student: in the graph
            } else if (c.method.needsTeacher()) {
                if (c.teacherCache.defined()) {
                    teacher.logits = c.teacherCache.index_select(0, idx);
                } else {
                    torch::NoGradGuard guard;
                    teacher.logits = c.teacher(x);
                }
            }
        }
    }
    if (c.precision != Precision::Float32) // the losses in float
        for (auto *outputs : {&student, &teacher})
            toFloat(*outputs);
    c.method.setBatchRows(idx);
    auto terms = c.method.loss(student, teacher, y);
    // Gradients are dropped rather than zeroed: the backward pass then hands
    // its fresh gradient tensors over instead of adding them to zeros.
    for (auto &group : c.optimizer.param_groups())
        for (auto &p : group.params())
            p.mutable_grad().reset();
    if (c.reducer)
        c.reducer->begin(share);
    (c.scaler ? c.scaler->scaled(terms.total) : terms.total).backward();
    if (c.reducer)
        c.reducer->finish();
    update(c);

    // {total, parts..., correct}, the losses weighted by the batch's rows: a
    // handful of small operations on the device, no synchronisation and no
    // copy from the host.
    torch::NoGradGuard guard;
    if (c.dynamics)
        c.dynamics->record(idx, student.logits);
    std::vector<torch::Tensor> losses{terms.total.detach()};
    for (auto &p : terms.parts)
        losses.push_back(p.second.detach());
    const auto n = std::int64_t(losses.size());
    acc.narrow(0, 0, n).add_(torch::stack(losses).to(torch::kFloat64), double(idx.size(0)));
    // A mixed batch counts as right where the model picks the larger share.
    const auto truth = y.dim() == 2 ? y.argmax(1) : y;
    acc.narrow(0, n, 1).add_(student.logits.detach().argmax(1).eq(truth).sum().to(torch::kFloat64));
}

ModelOutputs teacherOutputs(const TeacherFeatures &teacher, const std::vector<Tap> &taps, const Split &split,
                            Precision precision)
{
    torch::NoGradGuard guard;
    std::vector<torch::Tensor> logits;
    std::vector<std::vector<torch::Tensor>> features(taps.size());
    for (std::int64_t i = 0; i < split.size(); i += kEvalBatch) {
        Autocast autocast(precision, split.x.device());
        const ModelOutputs out = teacher(split.x.slice(0, i, std::min(i + kEvalBatch, split.size())), taps);
        logits.push_back(out.logits.to(torch::kFloat));
        for (std::size_t t = 0; t < taps.size(); ++t)
            features[t].push_back(feature(out, taps[t].name).to(torch::kFloat));
    }
    ModelOutputs all;
    all.logits = torch::cat(logits);
    for (std::size_t t = 0; t < taps.size(); ++t)
        all.features.emplace_back(taps[t].name, torch::cat(features[t]));
    return all;
}

torch::Tensor teacherLogits(const TeacherForward &teacher, const Split &split, Precision precision)
{
    torch::NoGradGuard guard; // not inference mode: the result enters the student's graph
    std::vector<torch::Tensor> out;
    for (std::int64_t i = 0; i < split.size(); i += kEvalBatch) {
        Autocast autocast(precision, split.x.device());
        out.push_back(teacher(split.x.slice(0, i, std::min(i + kEvalBatch, split.size()))).to(torch::kFloat));
    }
    return torch::cat(out);
}

Autocast::Autocast(Precision precision, const torch::Device &device)
    : on_(precision != Precision::Float32), cuda_(device.is_cuda())
{
    if (!on_)
        return;
    const auto type = precision == Precision::Float16 ? at::kHalf : at::kBFloat16;
    if (cuda_) {
        wasEnabled_ = at::autocast::is_enabled();
        previousType_ = at::autocast::get_autocast_gpu_dtype();
        at::autocast::set_autocast_gpu_dtype(type);
        at::autocast::set_enabled(true);
    } else {
        wasEnabled_ = at::autocast::is_cpu_enabled();
        previousType_ = at::autocast::get_autocast_cpu_dtype();
        at::autocast::set_autocast_cpu_dtype(type);
        at::autocast::set_cpu_enabled(true);
    }
}

Autocast::~Autocast()
{
    if (!on_)
        return;
    if (cuda_) {
        at::autocast::set_enabled(wasEnabled_);
        at::autocast::set_autocast_gpu_dtype(previousType_);
    } else {
        at::autocast::set_cpu_enabled(wasEnabled_);
        at::autocast::set_autocast_cpu_dtype(previousType_);
    }
    if (!wasEnabled_)
        at::autocast::clear_cache(); // the low-precision copies of the weights, made again next time
}

} // namespace distillery::detail
