// Reads an ONNX file back and runs it with LibTorch operators, so that an export
// is checked against the file as written, not against the writer's intentions.
#include "models/model_io.h"

#ifdef DISTILLERY_WITH_ONNX
#include <onnx/onnx_pb.h>
#endif

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>

namespace distillery::detail {

#ifndef DISTILLERY_WITH_ONNX

torch::Tensor runOnnx(const std::string &path, const torch::Tensor &)
{
    throw ModelFileError(path + ": this Distillery was built without ONNX support");
}

#else

namespace {

torch::Tensor fromProto(const onnx::TensorProto &t, const std::string &origin)
{
    if (t.data_type() != onnx::TensorProto::FLOAT)
        throw ModelFileError(origin + ": initializer " + t.name() + " is not float32");
    std::vector<std::int64_t> dims(t.dims().begin(), t.dims().end());
    std::int64_t n = 1;
    for (auto d : dims) {
        if (d < 0 || (d > 0 && n > (std::int64_t(1) << 40) / d))
            throw ModelFileError(origin + ": initializer " + t.name() + " has a bad shape");
        n *= d;
    }
    std::vector<float> values;
    if (t.has_raw_data()) {
        if (t.raw_data().size() != std::size_t(n) * sizeof(float))
            throw ModelFileError(origin + ": initializer " + t.name() + " holds " + std::to_string(t.raw_data().size()) +
                                 " bytes for " + std::to_string(n) + " values");
        values.resize(std::size_t(n));
        std::memcpy(values.data(), t.raw_data().data(), t.raw_data().size());
    } else {
        if (t.float_data_size() != n)
            throw ModelFileError(origin + ": initializer " + t.name() + " has the wrong number of values");
        values.assign(t.float_data().begin(), t.float_data().end());
    }
    return torch::tensor(values, torch::kFloat32).view(dims);
}

const onnx::AttributeProto *attribute(const onnx::NodeProto &n, const std::string &name)
{
    for (const auto &a : n.attribute())
        if (a.name() == name)
            return &a;
    return nullptr;
}

std::vector<std::int64_t> ints(const onnx::NodeProto &n, const std::string &name, std::vector<std::int64_t> fallback)
{
    const auto *a = attribute(n, name);
    return a ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end()) : fallback;
}

std::int64_t intAttr(const onnx::NodeProto &n, const std::string &name, std::int64_t fallback)
{
    const auto *a = attribute(n, name);
    return a ? a->i() : fallback;
}

float floatAttr(const onnx::NodeProto &n, const std::string &name, float fallback)
{
    const auto *a = attribute(n, name);
    return a ? a->f() : fallback;
}

// Symmetric pads [top, left, bottom, right] as LibTorch's {h, w}.
std::vector<std::int64_t> symmetricPads(const onnx::NodeProto &n, const std::string &origin)
{
    const auto p = ints(n, "pads", {0, 0, 0, 0});
    if (p.size() != 4 || p[0] != p[2] || p[1] != p[3])
        throw ModelFileError(origin + ": node " + n.name() + ": only symmetric 2-D padding is supported");
    return {p[0], p[1]};
}

// The values of the graph computed so far, by name.
class Values {
public:
    explicit Values(const std::string &path) : path_(path) {}

    void set(const std::string &name, const torch::Tensor &t) { values_[name] = t; }

    const torch::Tensor *find(const std::string &name) const
    {
        auto it = values_.find(name);
        return it == values_.end() ? nullptr : &it->second;
    }

    // Input `i` of node `n`, which must have been computed before it.
    torch::Tensor get(const onnx::NodeProto &n, int i) const
    {
        if (i >= n.input_size())
            throw ModelFileError(path_ + ": node " + n.name() + " (" + n.op_type() + ") lacks input " +
                                 std::to_string(i));
        const torch::Tensor *t = find(n.input(i));
        if (!t)
            throw ModelFileError(path_ + ": node " + n.name() + " reads " + n.input(i) + " before it is computed");
        return *t;
    }

    // Input `i` of node `n` when the node has it (ONNX leaves optional inputs out or empty).
    c10::optional<torch::Tensor> optional(const onnx::NodeProto &n, int i) const
    {
        if (i >= n.input_size() || n.input(i).empty())
            return c10::nullopt;
        return get(n, i);
    }

private:
    const std::string &path_;
    std::map<std::string, torch::Tensor> values_;
};

// Node `n`'s output, for the operators Distillery writes.
torch::Tensor runNode(const onnx::NodeProto &n, const Values &v, const std::string &path)
{
    const std::string &op = n.op_type();
    torch::Tensor y;
    if (op == "Sub")
        y = v.get(n, 0) - v.get(n, 1);
    else if (op == "Div")
        y = v.get(n, 0) / v.get(n, 1);
    else if (op == "Add")
        y = v.get(n, 0) + v.get(n, 1);
    else if (op == "Mul")
        y = v.get(n, 0) * v.get(n, 1);
    else if (op == "Erf")
        y = torch::erf(v.get(n, 0));
    else if (op == "Relu")
        y = torch::relu(v.get(n, 0));
    else if (op == "Identity" || op == "Dropout")
        y = v.get(n, 0);
    else if (op == "Gemm") {
        auto b = v.get(n, 1);
        if (intAttr(n, "transB", 0))
            b = b.t();
        auto a = v.get(n, 0);
        if (intAttr(n, "transA", 0))
            a = a.t();
        y = torch::matmul(a, b) * floatAttr(n, "alpha", 1.0f);
        if (auto c = v.optional(n, 2))
            y = y + *c * floatAttr(n, "beta", 1.0f);
    } else if (op == "Conv") {
        if (intAttr(n, "group", 1) != 1)
            throw ModelFileError(path + ": node " + n.name() + ": grouped convolutions are not supported");
        y = torch::conv2d(v.get(n, 0), v.get(n, 1), v.optional(n, 2), ints(n, "strides", {1, 1}),
                          symmetricPads(n, path), ints(n, "dilations", {1, 1}));
    } else if (op == "BatchNormalization") {
        y = torch::batch_norm(v.get(n, 0), v.get(n, 1), v.get(n, 2), v.get(n, 3), v.get(n, 4), false, 0.0,
                              floatAttr(n, "epsilon", 1e-5f), false);
    } else if (op == "MaxPool") {
        y = torch::max_pool2d(v.get(n, 0), ints(n, "kernel_shape", {}), ints(n, "strides", {1, 1}),
                              symmetricPads(n, path));
    } else if (op == "AveragePool") {
        y = torch::avg_pool2d(v.get(n, 0), ints(n, "kernel_shape", {}), ints(n, "strides", {1, 1}),
                              symmetricPads(n, path));
    } else if (op == "GlobalAveragePool")
        y = v.get(n, 0).mean({2, 3}, /*keepdim=*/true);
    else if (op == "Flatten")
        y = v.get(n, 0).flatten(intAttr(n, "axis", 1));
    else
        throw ModelFileError(path + ": operator " + op + " is not one Distillery writes");
    return y;
}

} // namespace

torch::Tensor runOnnx(const std::string &path, const torch::Tensor &input)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ModelFileError(path + ": cannot open");
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    onnx::ModelProto model;
    if (!model.ParseFromString(bytes))
        throw ModelFileError(path + ": not an ONNX model (the protobuf does not parse)");
    const auto &graph = model.graph();
    if (graph.input_size() != 1 || graph.output_size() != 1)
        throw ModelFileError(path + ": expected one input and one output");

    c10::InferenceMode guard;
    Values values(path);
    for (const auto &init : graph.initializer())
        values.set(init.name(), fromProto(init, path));
    values.set(graph.input(0).name(), input);
    for (const auto &n : graph.node()) {
        if (n.output_size() != 1)
            throw ModelFileError(path + ": node " + n.name() + " (" + n.op_type() + ") must have one output");
        values.set(n.output(0), runNode(n, values, path));
    }
    const torch::Tensor *output = values.find(graph.output(0).name());
    if (!output)
        throw ModelFileError(path + ": the output " + graph.output(0).name() + " is never computed");
    return *output;
}

#endif

} // namespace distillery::detail
