#include "torch_model.h"

#include "layer_geometry.h"

namespace distillery::detail {
namespace {

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
        : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)))),
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
        auto y = torch::relu(bn1(conv1(x)));
        y = bn2(conv2(y));
        auto shortcut = projection ? projectionBn(projection(x)) : x;
        return torch::relu(y + shortcut);
    }

    torch::nn::Conv2d conv1;
    torch::nn::BatchNorm2d bn1;
    torch::nn::Conv2d conv2;
    torch::nn::BatchNorm2d bn2;
    torch::nn::Conv2d projection{nullptr};
    torch::nn::BatchNorm2d projectionBn{nullptr};
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
}

torch::Tensor NetImpl::forward(torch::Tensor x)
{
    return body_->forward(x);
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
