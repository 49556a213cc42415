#include "distillery/architecture.h"

#include "models/layer_geometry.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace distillery {

std::string shapeToString(const Shape &s)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i)
        out += (i ? "\xC3\x97" : "") + std::to_string(s[i]); // U+00D7 multiplication sign
    return out.empty() ? "()" : out;
}

const std::vector<std::string> &layerTypes()
{
    static const std::vector<std::string> types{"linear",  "conv2d",  "batchnorm",      "relu",
                                                "gelu",    "dropout", "maxpool",        "avgpool",
                                                "global-avgpool", "flatten", "residual"};
    return types;
}

std::vector<std::string> presetNames()
{
    return {"mlp", "mlp-1200x2", "mlp-800x2", "lenet5", "cnn-small", "cnn-large", "resnet8", "resnet20", "wrn-16-2"};
}

namespace {

LayerSpec layer(const std::string &type, std::int64_t out = 0, int kernel = 0, int stride = 0, int padding = -1)
{
    LayerSpec l;
    l.type = type;
    l.out = out;
    l.kernel = kernel;
    l.stride = stride;
    l.padding = padding;
    return l;
}

LayerSpec dropout(double p)
{
    LayerSpec l = layer("dropout");
    l.p = p;
    return l;
}

Architecture mlp(const std::vector<std::int64_t> &hidden, double drop, int classes)
{
    Architecture a{layer("flatten")};
    for (auto h : hidden) {
        a.push_back(layer("linear", h));
        a.push_back(layer("relu"));
        if (drop > 0)
            a.push_back(dropout(drop));
    }
    a.push_back(layer("linear", classes));
    return a;
}

// CIFAR-style residual network: a 3x3 stem, three stages of basic blocks
// (the 2nd and 3rd halve the resolution), global average pooling, a classifier.
Architecture resnet(int blocksPerStage, std::int64_t stem, std::vector<std::int64_t> widths, int classes)
{
    Architecture a{layer("conv2d", stem, 3, 1, 1), layer("batchnorm"), layer("relu")};
    for (std::size_t s = 0; s < widths.size(); ++s)
        for (int b = 0; b < blocksPerStage; ++b)
            a.push_back(layer("residual", widths[s], 3, (s > 0 && b == 0) ? 2 : 1));
    a.push_back(layer("global-avgpool"));
    a.push_back(layer("linear", classes));
    return a;
}

} // namespace

Architecture expandPreset(const ModelSpec &spec, int classes)
{
    const std::string &p = spec.preset;
    if (p == "mlp")
        return mlp(spec.hidden.empty() ? std::vector<std::int64_t>{128} : spec.hidden, spec.dropout, classes);
    if (p == "mlp-1200x2")
        return mlp({1200, 1200}, spec.dropout, classes);
    if (p == "mlp-800x2")
        return mlp({800, 800}, spec.dropout, classes);
    if (p == "lenet5")
        return {layer("conv2d", 6, 5, 1, 2), layer("relu"), layer("maxpool", 0, 2),
                layer("conv2d", 16, 5, 1, 0), layer("relu"), layer("maxpool", 0, 2),
                layer("flatten"), layer("linear", 120), layer("relu"),
                layer("linear", 84), layer("relu"), layer("linear", classes)};
    if (p == "cnn-small")
        return {layer("conv2d", 16, 3, 1, 1), layer("relu"), layer("maxpool", 0, 2),
                layer("conv2d", 32, 3, 1, 1), layer("relu"), layer("maxpool", 0, 2),
                layer("flatten"), layer("linear", 64), layer("relu"), layer("linear", classes)};
    if (p == "cnn-large")
        return {layer("conv2d", 32, 3, 1, 1), layer("batchnorm"), layer("relu"), layer("maxpool", 0, 2),
                layer("conv2d", 64, 3, 1, 1), layer("batchnorm"), layer("relu"), layer("maxpool", 0, 2),
                layer("flatten"), layer("linear", 128), layer("relu"), dropout(0.3), layer("linear", classes)};
    if (p == "resnet8")
        return resnet(1, 16, {16, 32, 64}, classes);
    if (p == "resnet20")
        return resnet(3, 16, {16, 32, 64}, classes);
    if (p == "wrn-16-2")
        return resnet(2, 16, {32, 64, 128}, classes);
    const auto near = nearestName(p, presetNames());
    std::string known;
    for (const auto &n : presetNames())
        known += (known.empty() ? "" : ", ") + n;
    throw ConfigError("unknown preset '" + p + "'" +
                      (near.empty() ? " (known: " + known + ")" : "; did you mean '" + near + "'?"));
}

Architecture resolveModel(const ModelSpec &spec, int classes)
{
    return spec.layers.empty() ? expandPreset(spec, classes) : spec.layers;
}

namespace {

// A conv2d or residual layer on image shape `s`; see analyseLayer.
std::string analyseConv(const LayerSpec &l, Shape &s, LayerReport &lr, std::ostringstream &desc)
{
    if (s.size() != 3)
        return "needs an image input (channels\xC3\x97height\xC3\x97width), got " + shapeToString(s);
    if (l.out < 1)
        return "out (output channels) must be >= 1";
    const int k = detail::convKernel(l);
    const int st = detail::convStride(l);
    const int pad = detail::convPadding(l);
    if (k < 1 || st < 1)
        return "kernel and stride must be >= 1";
    const std::int64_t ho = (s[1] + 2 * pad - k) / st + 1, wo = (s[2] + 2 * pad - k) / st + 1;
    if (s[1] + 2 * pad < k || s[2] + 2 * pad < k || ho < 1 || wo < 1)
        return "a " + std::to_string(k) + "\xC3\x97" + std::to_string(k) + " kernel does not fit a " +
               shapeToString(s) + " input";
    const std::int64_t cin = s[0];
    if (l.type == "conv2d") {
        lr.parameters = cin * l.out * k * k + (l.bias ? l.out : 0);
        lr.multiplyAdds = cin * l.out * k * k * ho * wo;
        desc << " " << k << "x" << k << " " << l.out;
        if (st != 1)
            desc << " /" << st;
    } else {
        const bool project = st != 1 || cin != l.out;
        lr.parameters = cin * l.out * 9 + l.out * l.out * 9 + 4 * l.out + (project ? cin * l.out + 2 * l.out : 0);
        lr.multiplyAdds = (cin * l.out * 9 + l.out * l.out * 9 + (project ? cin * l.out : 0)) * ho * wo;
        desc << " " << l.out;
        if (st != 1)
            desc << " /" << st;
    }
    s = {l.out, ho, wo};
    return {};
}

// A maxpool or avgpool layer on image shape `s`; see analyseLayer.
std::string analysePool(const LayerSpec &l, Shape &s, std::ostringstream &desc)
{
    if (s.size() != 3)
        return "needs an image input, got " + shapeToString(s);
    const int k = detail::poolKernel(l);
    const int st = detail::poolStride(l);
    if (k < 1 || st < 1)
        return "kernel and stride must be >= 1";
    if (s[1] < k || s[2] < k)
        return "a " + std::to_string(k) + "\xC3\x97" + std::to_string(k) + " window does not fit a " +
               shapeToString(s) + " input";
    s = {s[0], (s[1] - k) / st + 1, (s[2] - k) / st + 1};
    desc << " " << k;
    return {};
}

// Layer `l` on input shape `s`: fills `lr` (all but its input) and makes `s`
// the layer's output. Returns why the layer does not fit, or "" when it does.
std::string analyseLayer(const LayerSpec &l, Shape &s, LayerReport &lr)
{
    std::ostringstream desc;
    desc << l.type;
    const bool image = s.size() == 3;
    if (l.type == "linear") {
        if (s.size() != 1)
            return "needs a flat input, got " + shapeToString(s) + ": add a flatten layer before it";
        if (l.out < 1)
            return "out must be >= 1";
        lr.parameters = s[0] * l.out + (l.bias ? l.out : 0);
        lr.multiplyAdds = s[0] * l.out;
        desc << " " << s[0] << "\xE2\x86\x92" << l.out; // arrow
        s = {l.out};
    } else if (l.type == "conv2d" || l.type == "residual") {
        if (auto error = analyseConv(l, s, lr, desc); !error.empty())
            return error;
    } else if (l.type == "batchnorm") {
        if (s.size() != 1 && !image)
            return "needs a flat or image input, got " + shapeToString(s);
        lr.parameters = 2 * s[0];
    } else if (l.type == "relu" || l.type == "gelu") {
    } else if (l.type == "dropout") {
        if (!(l.p >= 0 && l.p < 1))
            return "p must be in [0, 1)";
        desc << " " << l.p;
    } else if (l.type == "maxpool" || l.type == "avgpool") {
        if (auto error = analysePool(l, s, desc); !error.empty())
            return error;
    } else if (l.type == "global-avgpool") {
        if (!image)
            return "needs an image input, got " + shapeToString(s);
        s = {s[0]};
    } else if (l.type == "flatten") {
        std::int64_t n = 1;
        for (auto d : s)
            n *= d;
        s = {n};
    } else {
        const auto near = nearestName(l.type, layerTypes());
        return "unknown layer type" + (near.empty() ? std::string() : "; did you mean '" + near + "'?");
    }
    lr.output = s;
    lr.description = desc.str();
    return {};
}

// What is wrong with layer i's tap name: a character outside letters, digits,
// '-', '_' and '.', or a name an earlier layer uses.
std::string tapProblem(const Architecture &layers, std::size_t i)
{
    const std::string &tap = layers[i].tap;
    for (char c : tap)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
            return "tap '" + tap + "': a tap name is letters, digits, '-', '_' and '.'";
    for (std::size_t j = 0; j < i && !tap.empty(); ++j)
        if (layers[j].tap == tap)
            return "tap '" + tap + "' also names layer " + std::to_string(j + 1);
    return {};
}

} // namespace

ArchitectureReport analyseArchitecture(const Architecture &layers, const Shape &input, int classes)
{
    ArchitectureReport r;
    Shape s = input;
    if (layers.empty()) {
        r.error = "the architecture has no layers";
        return r;
    }
    for (std::size_t i = 0; i < layers.size(); ++i) {
        LayerReport lr;
        lr.input = s;
        std::string error = analyseLayer(layers[i], s, lr);
        if (error.empty())
            error = tapProblem(layers, i);
        if (!error.empty()) {
            r.ok = false;
            r.errorLayer = int(i);
            r.error = "layer " + std::to_string(i + 1) + " (" + layers[i].type + "): " + error;
            return r;
        }
        r.parameters += lr.parameters;
        r.multiplyAdds += lr.multiplyAdds;
        r.layers.push_back(lr);
    }
    r.output = s;
    if (s.size() != 1 || s[0] != classes) {
        r.errorLayer = int(layers.size()) - 1;
        r.error = "the output is " + shapeToString(s) + " but the data has " + std::to_string(classes) +
                  " classes: the last layer must give " + std::to_string(classes) + " values";
        return r;
    }
    r.ok = true;
    return r;
}

} // namespace distillery
