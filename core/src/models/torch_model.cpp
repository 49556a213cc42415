#include "models/torch_model.h"

#include "models/batch_norm.h"
#include "models/dense.h"
#include "models/layer_geometry.h"

namespace distillery::detail {
namespace {

// A convolution's weight and bias with the batch norm after it folded in (the
// norm's running statistics, as in eval mode): conv(x)·s + (beta − mean·s),
// s = gamma / sqrt(var + eps). Computed in double, stored as the weight's type
// and layout.
std::pair<torch::Tensor, torch::Tensor> foldBatchNorm(const torch::Tensor &weight, const torch::Tensor &bias,
                                                      const torch::nn::BatchNorm2dImpl &bn)
{
    torch::NoGradGuard guard;
    const auto d = torch::kFloat64;
    const auto scale = bn.weight.to(d) / torch::sqrt(bn.running_var.to(d) + bn.options.eps());
    auto w = (weight.to(d) * scale.view({-1, 1, 1, 1})).to(weight.scalar_type()).contiguous(weight.suggest_memory_format());
    auto b = ((bias.defined() ? bias.to(d) : torch::zeros_like(scale)) - bn.running_mean.to(d)) * scale + bn.bias.to(d);
    return {w, b.to(weight.scalar_type())};
}

torch::Tensor conv(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias, std::int64_t stride,
                   std::int64_t padding)
{
    const std::array<std::int64_t, 2> s{stride, stride}, p{padding, padding};
    return torch::conv2d(x, weight, bias, s, p);
}

class GlobalAvgPoolImpl : public torch::nn::Module {
public:
    torch::Tensor forward(const torch::Tensor &x) { return x.mean({2, 3}); }
};
TORCH_MODULE(GlobalAvgPool);

// Two 3x3 convolutions with batch norm; a 1x1 projection on the shortcut when
// the shape changes.
class ResidualBlockImpl : public torch::nn::Module {
public:
    ResidualBlockImpl(std::int64_t in, std::int64_t out, int stride)
        : stride(stride),
          conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)))),
          bn1(register_module("bn1", torch::nn::BatchNorm2d(out))),
          conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1).bias(false)))),
          bn2(register_module("bn2", torch::nn::BatchNorm2d(out)))
    {
        if (stride != 1 || in != out) {
            projection = register_module(
                "projection", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
            projectionBn = register_module("projection_bn", torch::nn::BatchNorm2d(out));
        }
    }

    torch::Tensor forward(const torch::Tensor &x)
    {
        if (frozen1.first.defined() && !is_training())
            return frozenForward(x);
        auto y = torch::relu(batchNorm(*bn1, conv1(x)));
        y = batchNorm(*bn2, conv2(y));
        auto shortcut = projection ? batchNorm(*projectionBn, projection(x)) : x;
        return torch::relu(y + shortcut);
    }

    void freeze()
    {
        frozen1 = foldBatchNorm(conv1->weight, conv1->bias, *bn1);
        frozen2 = foldBatchNorm(conv2->weight, conv2->bias, *bn2);
        if (projection)
            frozenProjection = foldBatchNorm(projection->weight, projection->bias, *projectionBn);
    }

    void thaw() { frozen1 = frozen2 = frozenProjection = {}; }

    torch::Tensor frozenForward(const torch::Tensor &x)
    {
        auto y = conv(x, frozen1.first, frozen1.second, stride, 1).relu_();
        y = conv(y, frozen2.first, frozen2.second, 1, 1);
        if (projection)
            y.add_(conv(x, frozenProjection.first, frozenProjection.second, stride, 0));
        else
            y.add_(x);
        return y.relu_();
    }

    std::int64_t stride;
    torch::nn::Conv2d conv1;
    torch::nn::BatchNorm2d bn1;
    torch::nn::Conv2d conv2;
    torch::nn::BatchNorm2d bn2;
    torch::nn::Conv2d projection{nullptr};
    torch::nn::BatchNorm2d projectionBn{nullptr};
    std::pair<torch::Tensor, torch::Tensor> frozen1, frozen2, frozenProjection;
};
TORCH_MODULE(ResidualBlock);

} // namespace

NetImpl::NetImpl(const Architecture &layers, const Shape &input) : layers_(layers)
{
    // Shapes are checked by analyseArchitecture before this is called; it also
    // gives each layer's input shape, which sizes the layer.
    const auto report = analyseArchitecture(layers, input, 0);
    if (report.layers.size() != layers.size())
        throw std::invalid_argument(report.error);
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const LayerSpec &l = layers[i];
        const Shape &in = report.layers[i].input;
        if (l.type == "linear") {
            body_->push_back(torch::nn::Linear(torch::nn::LinearOptions(in[0], l.out).bias(l.bias)));
        } else if (l.type == "conv2d") {
            body_->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in[0], l.out, convKernel(l))
                                                   .stride(convStride(l))
                                                   .padding(convPadding(l))
                                                   .bias(l.bias)));
        } else if (l.type == "batchnorm") {
            if (in.size() == 3)
                body_->push_back(torch::nn::BatchNorm2d(in[0]));
            else
                body_->push_back(torch::nn::BatchNorm1d(in[0]));
        } else if (l.type == "relu") {
            body_->push_back(torch::nn::ReLU());
        } else if (l.type == "gelu") {
            body_->push_back(torch::nn::GELU());
        } else if (l.type == "dropout") {
            body_->push_back(torch::nn::Dropout(l.p));
        } else if (l.type == "maxpool" || l.type == "avgpool") {
            const int k = poolKernel(l);
            const int s = poolStride(l);
            if (l.type == "maxpool")
                body_->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(k).stride(s)));
            else
                body_->push_back(torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(k).stride(s)));
        } else if (l.type == "global-avgpool") {
            body_->push_back(GlobalAvgPool());
        } else if (l.type == "flatten") {
            body_->push_back(torch::nn::Flatten());
        } else if (l.type == "residual") {
            body_->push_back(ResidualBlock(in[0], l.out, convStride(l)));
        } else {
            throw std::invalid_argument("unknown layer type " + l.type);
        }
    }
    register_module("layers", body_);
    for (std::size_t i = 0; i < layers.size(); ++i)
        linear_.push_back(layers[i].type == "linear" ? body_->ptr<torch::nn::LinearImpl>(i).get() : nullptr);

    // Nets with convolutions run channels-last: oneDNN's convolutions then
    // need no reordering of their inputs and outputs, and max pooling,
    // batch norm and their gradients have vectorised kernels over channels
    // (cnn-large evaluated 2.0x and trained 1.4x faster than in NCHW, both
    // with tuneAllocator's settings, measured in PyTorch). Flatten
    // restores the logical order, so the layers' meaning is unchanged.
    bool convolutional = false;
    for (const auto &l : layers)
        convolutional = convolutional || l.type == "conv2d" || l.type == "residual";
    setChannelsLast(convolutional);
}

void NetImpl::setChannelsLast(bool on)
{
    torch::NoGradGuard guard;
    channelsLast_ = on;
    const auto format = on ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    for (auto &p : parameters())
        if (p.dim() == 4)
            p.set_data(p.contiguous(format));
    if (frozen())
        freeze();
}

torch::Tensor NetImpl::forward(torch::Tensor x)
{
    if (channelsLast_ && x.dim() == 4)
        x = x.contiguous(at::MemoryFormat::ChannelsLast);
    return run(x, frozen() && !is_training());
}

void NetImpl::freeze()
{
    eval();
    std::vector<Folded> folded(layers_.size());
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        if (layers_[i].type == "residual") {
            std::dynamic_pointer_cast<ResidualBlockImpl>(body_->ptr(i))->freeze();
        } else if (layers_[i].type == "conv2d" && i + 1 < layers_.size() && layers_[i + 1].type == "batchnorm") {
            const auto conv = std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(body_->ptr(i));
            std::tie(folded[i].weight, folded[i].bias) =
                foldBatchNorm(conv->weight, conv->bias, *std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(body_->ptr(i + 1)));
        }
    }
    folded_ = std::move(folded);
}

void NetImpl::thaw()
{
    folded_.clear();
    for (std::size_t i = 0; i < layers_.size(); ++i)
        if (layers_[i].type == "residual")
            std::dynamic_pointer_cast<ResidualBlockImpl>(body_->ptr(i))->thaw();
}

torch::Tensor NetImpl::outputBias()
{
    if (linear_.empty() || !linear_.back() || !linear_.back()->options.bias())
        return {};
    return linear_.back()->bias;
}

ModelOutputs NetImpl::forwardWithTaps(torch::Tensor x, const std::vector<Tap> &taps)
{
    if (channelsLast_ && x.dim() == 4)
        x = x.contiguous(at::MemoryFormat::ChannelsLast);
    std::vector<const std::string *> names(layers_.size(), nullptr);
    for (const auto &t : taps) {
        if (t.layer < 0 || std::size_t(t.layer) >= layers_.size())
            throw std::invalid_argument("tap '" + t.name + "' names layer " + std::to_string(t.layer + 1) +
                                        " of a net of " + std::to_string(layers_.size()));
        names[std::size_t(t.layer)] = &t.name;
    }
    ModelOutputs out;
    out.logits = run(x, frozen() && !is_training(), &names, &out.features);
    return out;
}

torch::Tensor NetImpl::run(torch::Tensor x, bool frozen, const std::vector<const std::string *> *taps,
                           std::vector<std::pair<std::string, torch::Tensor>> *features)
{
    bool own = false; // whether x is this forward's own result, which a frozen ReLU may overwrite
    auto module = body_->begin();
    const auto tapped = [&](std::size_t i) { return taps && (*taps)[i]; };
    for (std::size_t i = 0; i < layers_.size(); ++i, ++module) {
        const LayerSpec &l = layers_[i];
        if (frozen && folded_[i].weight.defined() && !tapped(i)) {
            x = conv(x, folded_[i].weight, folded_[i].bias, convStride(l), convPadding(l));
            ++i, ++module; // the batch norm, folded in
            own = true;
        } else if (linear_[i]) { // a ReLU right after it runs in the same pass
            const bool relu = i + 1 < layers_.size() && layers_[i + 1].type == "relu" && !tapped(i);
            x = linear(x, linear_[i]->weight, linear_[i]->bias, relu);
            if (relu)
                ++i, ++module;
            own = true;
        } else if (frozen && l.type == "relu" && own) {
            x.relu_();
        } else if (auto *bn2d = l.type == "batchnorm" ? module->ptr()->as<torch::nn::BatchNorm2dImpl>() : nullptr) {
            x = batchNorm(*bn2d, x); // synchronised over processes where a stage asks for it
            own = true;
        } else if (auto *bn1d = l.type == "batchnorm" ? module->ptr()->as<torch::nn::BatchNorm1dImpl>() : nullptr) {
            x = batchNorm(*bn1d, x);
            own = true;
        } else {
            x = module->forward(x);
            own = own || (l.type != "flatten" && l.type != "dropout");
        }
        if (tapped(i)) {
            features->emplace_back(*(*taps)[i], x);
            own = false; // kept: a later ReLU must not run in place on it
        }
    }
    return x;
}

std::int64_t NetImpl::parameterCount() const
{
    std::int64_t n = 0;
    for (const auto &p : parameters())
        n += p.numel();
    return n;
}

std::vector<torch::Tensor> snapshot(torch::nn::Module &m)
{
    torch::NoGradGuard guard;
    std::vector<torch::Tensor> out;
    for (auto &p : m.parameters())
        out.push_back(p.detach().clone());
    for (auto &b : m.buffers())
        out.push_back(b.detach().clone());
    return out;
}

void restore(torch::nn::Module &m, const std::vector<torch::Tensor> &state)
{
    torch::NoGradGuard guard;
    std::size_t i = 0;
    for (auto &p : m.parameters())
        p.copy_(state.at(i++));
    for (auto &b : m.buffers())
        b.copy_(state.at(i++));
}

} // namespace distillery::detail

namespace distillery {

std::int64_t builtParameterCount(const Architecture &layers, const Shape &input)
{
    return detail::Net(layers, input)->parameterCount();
}

std::vector<std::int64_t> builtOutputShape(const Architecture &layers, const Shape &input, int batch)
{
    torch::manual_seed(0);
    detail::Net net(layers, input);
    net->eval();
    c10::InferenceMode guard;
    std::vector<std::int64_t> sizes{batch};
    sizes.insert(sizes.end(), input.begin(), input.end());
    const auto out = net->forward(torch::randn(sizes));
    return {out.sizes().begin(), out.sizes().end()};
}

} // namespace distillery
