// Builds a LibTorch module from an architecture (internal to core).
#pragma once

#include "distillery/architecture.h"

#include <torch/torch.h>

namespace distillery::detail {

// A model's outputs: the logits, plus the outputs of the taps a feature
// method asked for (distillery/architecture.h), by tap name.
struct ModelOutputs {
    torch::Tensor logits;
    std::vector<std::pair<std::string, torch::Tensor>> features;
};

class NetImpl : public torch::nn::Module {
public:
    NetImpl(const Architecture &layers, const Shape &input);
    torch::Tensor forward(torch::Tensor x);
    // The logits and the outputs of `taps` (from modelTaps of this net's
    // layers), named as they are. A tapped layer is not fused with the next
    // one, so its output is exactly the layer's; the rest run as forward().
    ModelOutputs forwardWithTaps(torch::Tensor x, const std::vector<Tap> &taps);
    const Architecture &architecture() const { return layers_; }
    std::int64_t parameterCount() const;
    // Whether images flow through the net in channels-last (NHWC) layout; on
    // for nets with convolutions. Switching converts the 4-D parameters.
    bool channelsLast() const { return channelsLast_; }
    void setChannelsLast(bool on);

    // For running a net without training it (a frozen teacher, an evaluation):
    // puts it in eval mode, folds each batch norm that follows a convolution
    // into it and runs ReLUs in place. forward() then computes the eval-mode
    // net's function up to rounding, with fewer passes over the activations,
    // until the net is put back in training mode or thawed. The parameters
    // are left as they are (exports and checkpoints are unchanged); freeze
    // again after changing them.
    void freeze();
    void thaw();

    // The last layer's bias when that layer is linear (one value per class),
    // else an undefined tensor. Changing it changes the net's outputs.
    torch::Tensor outputBias();
    bool frozen() const { return !folded_.empty(); }

private:
    // The layers in order; `frozen`: with batch norms folded and ReLUs in place.
    // `taps`: per layer, the name its output is captured under into `features` (or null).
    torch::Tensor run(torch::Tensor x, bool frozen, const std::vector<const std::string *> *taps = nullptr,
                      std::vector<std::pair<std::string, torch::Tensor>> *features = nullptr);

    struct Folded {
        torch::Tensor weight, bias; // a convolution with the next layer's batch norm folded in
    };
    Architecture layers_;
    bool channelsLast_ = false;
    std::vector<Folded> folded_; // per layer once frozen
    std::vector<torch::nn::LinearImpl *> linear_; // per layer: the linear layer, or null
    torch::nn::Sequential body_;
};
TORCH_MODULE(Net);

// Copies of every parameter and buffer, to keep the best epoch's model.
std::vector<torch::Tensor> snapshot(torch::nn::Module &m);
void restore(torch::nn::Module &m, const std::vector<torch::Tensor> &state);

} // namespace distillery::detail
