#include "models/model_io.h"

#include "isolation/isolate.h"
#include "models/layer_geometry.h"

#include <sstream>

namespace distillery::detail {

namespace {

NamedTensor named(const std::string &name, const torch::Tensor &t)
{
    NamedTensor n;
    n.name = name;
    n.shape.assign(t.sizes().begin(), t.sizes().end());
    const auto c = t.detach().to(torch::kCPU).contiguous();
    if (c.scalar_type() == torch::kInt64) {
        n.integer = true;
        n.integers.assign(c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel());
    } else {
        const auto f = c.to(torch::kFloat32);
        n.values.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
    }
    return n;
}

torch::Tensor toTensor(const NamedTensor &n)
{
    if (n.integer)
        return torch::tensor(n.integers, torch::kInt64).view(n.shape);
    return torch::tensor(n.values, torch::kFloat32).view(n.shape);
}

torch::Tensor normalisationTensor(const std::vector<double> &v, const Shape &input)
{
    auto t = torch::tensor(std::vector<float>(v.begin(), v.end()), torch::kFloat32);
    return input.size() == 3 ? t.view({input[0], 1, 1}) : t;
}

// Attribute names in the generated module: "layers.3.conv1.weight" -> "layers_3_conv1_weight".
std::string attribute(const std::string &name)
{
    std::string s = name;
    for (char &c : s)
        if (c == '.')
            c = '_';
    return s;
}

std::string pair(int v)
{
    return "[" + std::to_string(v) + ", " + std::to_string(v) + "]";
}

} // namespace

PortableModel toPortable(Net &net, const Shape &input, int classes, const std::vector<double> &mean,
                         const std::vector<double> &stdev, const std::vector<std::string> &classNames)
{
    PortableModel m;
    m.layers = net->architecture();
    m.input = input;
    m.classes = classes;
    m.classNames = classNames;
    m.mean = mean;
    m.stdev = stdev;
    for (const auto &p : net->named_parameters())
        m.tensors.push_back(named(p.key(), p.value()));
    for (const auto &b : net->named_buffers())
        m.tensors.push_back(named(b.key(), b.value()));
    return m;
}

Net fromPortable(const PortableModel &m)
{
    Net net(m.layers, m.input);
    torch::NoGradGuard guard;
    auto assign = [&](const std::string &name, torch::Tensor &target) {
        const NamedTensor &t = m.at(name);
        if (std::vector<std::int64_t>(target.sizes().begin(), target.sizes().end()) != t.shape)
            throw ModelFileError("tensor " + name + " has shape " + shapeToString(t.shape) + ", the architecture needs " +
                                 shapeToString(Shape(target.sizes().begin(), target.sizes().end())));
        target.copy_(toTensor(t));
    };
    for (auto &p : net->named_parameters())
        assign(p.key(), p.value());
    for (auto &b : net->named_buffers())
        assign(b.key(), b.value());
    net->eval();
    return net;
}

namespace {

// TorchScript lines computing layer after layer of `m` on `x` (inference:
// batch norms with their running statistics, dropout the identity), each
// layer's lines apart.
std::vector<std::string> layerLines(const PortableModel &m)
{
    auto self = [&](const std::string &name) { return "self." + attribute(name); };
    auto bias = [&](const std::string &prefix) { return m.has(prefix + "bias") ? self(prefix + "bias") : "None"; };
    auto conv = [&](const std::string &in, const std::string &prefix, int stride, int pad) {
        return "torch.conv2d(" + in + ", " + self(prefix + "weight") + ", " + bias(prefix) + ", " + pair(stride) +
               ", " + pair(pad) + ")";
    };
    auto batchNorm = [&](const std::string &in, const std::string &prefix) {
        return "torch.batch_norm(" + in + ", " + self(prefix + "weight") + ", " + self(prefix + "bias") + ", " +
               self(prefix + "running_mean") + ", " + self(prefix + "running_var") + ", False, 0.1, 1e-05, False)";
    };
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < m.layers.size(); ++i) {
        const LayerSpec &l = m.layers[i];
        const std::string prefix = "layers." + std::to_string(i) + ".";
        std::ostringstream code;
        if (l.type == "linear")
            code << "    x = torch.linear(x, " << self(prefix + "weight") << ", " << bias(prefix) << ")\n";
        else if (l.type == "conv2d")
            code << "    x = " << conv("x", prefix, convStride(l), convPadding(l)) << "\n";
        else if (l.type == "batchnorm")
            code << "    x = " << batchNorm("x", prefix) << "\n";
        else if (l.type == "relu")
            code << "    x = torch.relu(x)\n";
        else if (l.type == "gelu")
            code << "    x = torch.gelu(x)\n";
        else if (l.type == "dropout")
            code << "    # dropout (p=" << l.p << "): the identity at inference\n";
        else if (l.type == "maxpool")
            code << "    x = torch.max_pool2d(x, " << pair(poolKernel(l)) << ", " << pair(poolStride(l)) << ")\n";
        else if (l.type == "avgpool")
            code << "    x = torch.avg_pool2d(x, " << pair(poolKernel(l)) << ", " << pair(poolStride(l)) << ")\n";
        else if (l.type == "global-avgpool")
            code << "    x = torch.mean(x, [2, 3])\n";
        else if (l.type == "flatten")
            code << "    x = torch.flatten(x, 1)\n";
        else if (l.type == "residual") {
            code << "    y = torch.relu(" << batchNorm(conv("x", prefix + "conv1.", convStride(l), 1), prefix + "bn1.")
                 << ")\n";
            code << "    y = " << batchNorm(conv("y", prefix + "conv2.", 1, 1), prefix + "bn2.") << "\n";
            if (m.has(prefix + "projection.weight"))
                code << "    x = torch.relu(y + "
                     << batchNorm(conv("x", prefix + "projection.", convStride(l), 0), prefix + "projection_bn.")
                     << ")\n";
            else
                code << "    x = torch.relu(y + x)\n";
        } else
            throw ModelFileError("layer type " + l.type + " has no TorchScript form");
        lines.push_back(code.str());
    }
    return lines;
}

} // namespace

torch::jit::Module toTorchScript(const PortableModel &m)
{
    torch::jit::Module module("__torch__.distillery.Model");
    for (const auto &t : m.tensors) {
        if (t.integer)
            continue; // batch norm's step counter: not needed for inference
        module.register_parameter(attribute(t.name), toTensor(t), /*is_buffer=*/false);
    }
    module.register_buffer("input_mean", normalisationTensor(m.mean, m.input));
    module.register_buffer("input_std", normalisationTensor(m.stdev, m.input));

    const std::vector<std::string> lines = layerLines(m);
    const std::string normalise = "    x = (x - self.input_mean) / self.input_std\n";
    std::ostringstream forward;
    forward << "def forward(self, x: Tensor) -> Tensor:\n" << normalise;
    for (const auto &l : lines)
        forward << l;
    forward << "    return x\n";
    // The model's taps (architecture.h: modelTaps), so that an exported model
    // can teach a feature method: features(x) in the order of feature_names().
    const auto taps = modelTaps(m.layers, m.input);
    std::vector<const std::string *> tapAt(lines.size(), nullptr);
    for (const auto &t : taps)
        tapAt[std::size_t(t.layer)] = &t.name;
    std::ostringstream features, names;
    features << "def features(self, x: Tensor) -> List[Tensor]:\n" << normalise << "    out: List[Tensor] = []\n";
    names << "def feature_names(self) -> List[str]:\n    names: List[str] = [";
    for (std::size_t i = 0; i < lines.size(); ++i) {
        features << lines[i];
        if (tapAt[i]) {
            features << "    out.append(x)\n";
            names << (names.str().back() == '[' ? "" : ", ") << "\"" << *tapAt[i] << "\"";
        }
    }
    features << "    return out\n";
    names << "]\n    return names\n";
    module.define(forward.str() + "\n" + features.str() + "\n" + names.str());
    module.eval();
    return module;
}

namespace {

std::string firstLine(const std::string &text)
{
    return text.substr(0, text.find('\n'));
}

} // namespace

void loadCheckpoint(Net &net, const std::string &path, const torch::Device &device)
{
    std::string refused;
    const std::string crash = crashOfRead(ModelFileKind::Checkpoint, path, &refused);
    if (!crash.empty())
        throw ModelFileError(path + ": damaged: " + crash);
    if (!refused.empty())
        throw ModelFileError(path + ": not a checkpoint of this model (" + firstLine(refused) + ")");
    try {
        torch::serialize::InputArchive archive;
        archive.load_from(path, device);
        net->load(archive);
    } catch (const c10::Error &e) {
        throw ModelFileError(path + ": not a checkpoint of this model (" + firstLine(e.what_without_backtrace()) + ")");
    } catch (const std::exception &e) {
        throw ModelFileError(path + ": cannot load (" + std::string(e.what()) + ")");
    }
}

LoadedScript loadScript(const std::string &path, const torch::Device &device)
{
    LoadedScript s;
    std::string refused;
    const std::string crash = crashOfRead(ModelFileKind::TorchScript, path, &refused);
    if (!crash.empty())
        throw ModelFileError(path + ": damaged or not TorchScript: " + crash);
    // LibTorch's reason in brackets, when it gives one.
    const auto notScript = [&](const std::string &reason) {
        return ModelFileError(path + ": not a TorchScript file saved by torch.jit.save" +
                              (reason.empty() ? std::string() : " (" + reason + ")"));
    };
    if (!refused.empty())
        throw notScript(firstLine(refused));
    try {
        s.module = torch::jit::load(path, device);
    } catch (const c10::Error &e) {
        throw notScript(firstLine(e.what_without_backtrace()));
    } catch (const std::exception &e) {
        throw ModelFileError(path + ": cannot load (" + std::string(e.what()) + ")");
    }
    const auto method = s.module.find_method("forward");
    if (!method)
        throw ModelFileError(path + ": the TorchScript module has no forward method");
    const auto &schema = method->function().getSchema();
    std::ostringstream signature;
    signature << schema;
    const auto &args = schema.arguments();
    std::size_t required = 0;
    for (std::size_t i = 1; i < args.size(); ++i)
        if (!args[i].default_value())
            ++required;
    const bool takesTensor = args.size() >= 2 && args[1].type()->kind() == c10::TypeKind::TensorType && required == 1;
    const bool returnsTensor =
        schema.returns().size() == 1 && schema.returns()[0].type()->kind() == c10::TypeKind::TensorType;
    if (!takesTensor || !returnsTensor)
        throw ModelFileError(path + ": forward must take one tensor and return one tensor; its signature is " +
                             signature.str());
    s.hasFeatures = s.module.find_method("features").has_value();
    if (const auto names = s.module.find_method("feature_names")) {
        try {
            for (const auto &n : (*names)({}).toListRef())
                s.featureNames.push_back(n.toStringRef());
        } catch (const std::exception &e) {
            throw ModelFileError(path + ": feature_names() must return a list of strings (" + firstLine(e.what()) +
                                 ")");
        }
    }
    s.module.eval();
    for (const auto &p : s.module.parameters()) {
        p.set_requires_grad(false);
        s.parameters += p.numel();
    }
    return s;
}

bool readModelFileUnguarded(ModelFileKind kind, const std::string &path, std::string *error)
{
    try {
        if (kind == ModelFileKind::Checkpoint) {
            torch::serialize::InputArchive archive;
            archive.load_from(path, torch::kCPU);
        } else {
            (void)torch::jit::load(path, torch::kCPU);
        }
        return true;
    } catch (const c10::Error &e) {
        if (error)
            *error = e.what_without_backtrace();
    } catch (const std::exception &e) {
        if (error)
            *error = e.what();
    } catch (...) {
        if (error)
            *error = "unknown error";
    }
    return false;
}

} // namespace distillery::detail
