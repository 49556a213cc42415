// methodLoss (distillery/kd.h): any method's loss on plain arrays, for the
// checks against PyTorch (tests/methods/method_probe.cpp) and for tools.
#include "distillery/kd.h"
#include "distillery/methods.h"

#include "methods/method.h"

namespace distillery {

namespace {

torch::Tensor tensorOf(const NamedArray &a)
{
    std::int64_t n = 1;
    for (auto d : a.shape)
        n *= d;
    if (a.shape.empty() || n != std::int64_t(a.values.size()))
        throw std::invalid_argument("methodLoss: feature '" + a.name + "' has " + std::to_string(a.values.size()) +
                                    " values for its shape");
    return torch::tensor(a.values, torch::kFloat64).reshape(a.shape);
}

NamedArray arrayOf(const std::string &name, const torch::Tensor &t)
{
    const auto c = t.detach().to(torch::kFloat64).contiguous();
    return {name, {c.sizes().begin(), c.sizes().end()}, {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()}};
}

std::vector<Tap> tapsOf(const std::vector<NamedArray> &features)
{
    std::vector<Tap> taps;
    for (const auto &f : features)
        taps.push_back({f.name, int(taps.size()), Shape(f.shape.begin() + (f.shape.empty() ? 0 : 1), f.shape.end()),
                        false});
    return taps;
}

} // namespace

MethodLoss methodLoss(const DistillConfig &config, const std::vector<double> &studentLogits,
                      const std::vector<double> &teacherLogits, const std::vector<std::int64_t> &labels, int classes,
                      int epoch, const std::vector<NamedArray> &studentFeatures,
                      const std::vector<NamedArray> &teacherFeatures)
{
    const auto batch = std::int64_t(labels.size());
    if (classes < 1 || batch < 1 || studentLogits.size() != std::size_t(batch * classes) ||
        teacherLogits.size() != studentLogits.size())
        throw std::invalid_argument("methodLoss: logits must be [batch x classes] with one label per row");
    auto method = detail::makeMethod(config);
    method->setEpoch(epoch);
    method->setPairs(resolvePairs(config, tapsOf(teacherFeatures), tapsOf(studentFeatures)));
    torch::manual_seed(0);
    MethodLoss out;
    const auto labelTensor = torch::tensor(labels, torch::kInt64);
    method->setTrainingLabels(labelTensor); // the batch is the whole training set
    method->setBatchRows(torch::arange(batch, torch::kInt64));
    torch::nn::Module *adapters = method->prepare(torch::kCPU);
    if (adapters) {
        adapters->to(torch::kFloat64);
        for (const auto &p : adapters->named_parameters())
            out.adapterParameters.push_back(arrayOf(p.key(), p.value()));
        for (const auto &b : adapters->named_buffers())
            out.adapterBuffers.push_back(arrayOf(b.key(), b.value()));
    }
    detail::ModelOutputs s, t;
    s.logits = torch::tensor(studentLogits, torch::kFloat64).reshape({batch, classes}).requires_grad_(true);
    t.logits = torch::tensor(teacherLogits, torch::kFloat64).reshape({batch, classes});
    for (const auto &f : studentFeatures)
        s.features.emplace_back(f.name, tensorOf(f).requires_grad_(true));
    for (const auto &f : teacherFeatures)
        t.features.emplace_back(f.name, tensorOf(f));
    const auto terms = method->loss(s, t, labelTensor);
    terms.total.backward();
    if (adapters)
        for (const auto &b : adapters->named_buffers())
            out.adapterBuffersAfter.push_back(arrayOf(b.key(), b.value()));
    for (const auto &[name, draw] : method->lastDraws())
        out.draws.push_back(arrayOf(name, draw));
    out.total = terms.total.item<double>();
    for (const auto &[name, value] : terms.parts)
        out.parts.emplace_back(name, value.item<double>());
    const auto g = s.logits.grad().contiguous();
    out.studentGradient.assign(g.data_ptr<double>(), g.data_ptr<double>() + g.numel());
    for (const auto &[name, f] : s.features)
        if (f.grad().defined())
            out.featureGradients.push_back(arrayOf(name, f.grad()));
    return out;
}

} // namespace distillery
