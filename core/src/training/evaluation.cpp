#include "training/evaluation.h"

namespace distillery::detail {

Eval evaluate(const TeacherForward &forward, const Split &split, const torch::Device &device, Precision precision,
              bool keepLogits)
{
    Eval e;
    if (split.size() == 0)
        return e;
    c10::InferenceMode guard;
    const std::int64_t batch = kEvalBatch;
    auto lossSum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
    auto correct = torch::zeros({}, torch::TensorOptions().dtype(torch::kInt64).device(device));
    std::vector<torch::Tensor> kept;
    for (std::int64_t i = 0; i < split.size(); i += batch) {
        const auto end = std::min(i + batch, split.size());
        torch::Tensor logits;
        {
            Autocast autocast(precision, device);
            logits = forward(split.x.slice(0, i, end));
        }
        logits = logits.to(torch::kFloat);
        auto y = split.y.slice(0, i, end);
        lossSum += torch::nn::functional::cross_entropy(
                       logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                       .to(torch::kFloat64);
        correct += logits.argmax(1).eq(y).sum();
        if (keepLogits)
            kept.push_back(logits);
    }
    if (keepLogits)
        e.logits = torch::cat(kept).to(torch::kCPU).contiguous();
    e.loss = lossSum.item<double>() / double(split.size());
    e.accuracy = double(correct.item<std::int64_t>()) / double(split.size());
    return e;
}

torch::Tensor logitsOf(const TeacherForward &forward, const Split &split, const torch::Device &device,
                       Precision precision)
{
    c10::InferenceMode guard;
    std::vector<torch::Tensor> out;
    for (std::int64_t i = 0; i < split.size(); i += kEvalBatch) {
        Autocast autocast(precision, device);
        out.push_back(forward(split.x.slice(0, i, std::min(i + kEvalBatch, split.size()))).to(torch::kFloat));
    }
    return out.empty() ? torch::empty({0}, torch::TensorOptions().device(device)) : torch::cat(out);
}

Eval evaluate(Net &model, const Split &split, const torch::Device &device, Precision precision, bool keepLogits)
{
    model->freeze(); // eval mode; batch norms folded for the evaluation's forward passes
    struct Thaw {
        Net &m;
        ~Thaw() { m->thaw(); }
    } thaw{model};
    return evaluate([&](const torch::Tensor &x) { return model->forward(x); }, split, device, precision,
                    keepLogits);
}

} // namespace distillery::detail
