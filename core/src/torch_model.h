// Builds a LibTorch module from an architecture (internal to core).
#pragma once

#include "distillery/architecture.h"

#include <torch/torch.h>

namespace distillery::detail {

// A model's outputs: the logits, plus named intermediate features for methods
// that need them (hints, attention transfer); empty for now.
struct ModelOutputs {
    torch::Tensor logits;
    std::vector<std::pair<std::string, torch::Tensor>> features;
};

class NetImpl : public torch::nn::Module {
public:
    NetImpl(const Architecture &layers, const Shape &input);
    torch::Tensor forward(torch::Tensor x);
    const Architecture &architecture() const { return layers_; }
    std::int64_t parameterCount() const;

private:
    Architecture layers_;
    torch::nn::Sequential body_;
};
TORCH_MODULE(Net);

// Copies of every parameter and buffer, to keep the best epoch's model.
std::vector<torch::Tensor> snapshot(torch::nn::Module &m);
void restore(torch::nn::Module &m, const std::vector<torch::Tensor> &state);

} // namespace distillery::detail
