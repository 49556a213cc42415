// ONNX export through the ONNX protobuf schema (libonnx_proto).
#include "models/portable_model.h"

#include "runs/atomic_file.h"
#include "models/layer_geometry.h"

#ifdef DISTILLERY_WITH_ONNX
#include <onnx/onnx_pb.h>
#endif

namespace distillery::detail {

#ifndef DISTILLERY_WITH_ONNX

bool onnxAvailable()
{
    return false;
}

void writeOnnx(const std::string &path, const PortableModel &, const std::string &)
{
    throw ModelFileError(path + ": this Distillery was built without ONNX support (install libonnx-dev and rebuild)");
}

#else

bool onnxAvailable()
{
    return true;
}

namespace {

constexpr int kOpset = 13;

// Builds the graph one node at a time; every value gets a fresh name.
class GraphBuilder {
public:
    explicit GraphBuilder(onnx::GraphProto &g) : g_(g) {}

    std::string fresh(const std::string &hint) { return hint + "_" + std::to_string(counter_++); }

    onnx::NodeProto &node(const std::string &op, const std::vector<std::string> &inputs, const std::string &output)
    {
        onnx::NodeProto *n = g_.add_node();
        n->set_op_type(op);
        n->set_name(output);
        for (const auto &i : inputs)
            n->add_input(i);
        n->add_output(output);
        return *n;
    }

    std::string op(const std::string &op, const std::vector<std::string> &inputs, const std::string &hint)
    {
        const std::string out = fresh(hint);
        node(op, inputs, out);
        return out;
    }

    void initializer(const std::string &name, const std::vector<std::int64_t> &shape, const std::vector<float> &values)
    {
        onnx::TensorProto *t = g_.add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto::FLOAT);
        for (auto d : shape)
            t->add_dims(d);
        t->set_raw_data(values.data(), values.size() * sizeof(float));
    }

    // A model tensor as an initializer, once.
    std::string weight(const PortableModel &m, const std::string &name)
    {
        for (const auto &done : weights_)
            if (done == name)
                return name;
        const NamedTensor &t = m.at(name);
        initializer(name, t.shape, t.values);
        weights_.push_back(name);
        return name;
    }

private:
    onnx::GraphProto &g_;
    int counter_ = 0;
    std::vector<std::string> weights_;
};

void setInts(onnx::NodeProto &n, const std::string &name, const std::vector<std::int64_t> &values)
{
    auto *a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto v : values)
        a->add_ints(v);
}

void setInt(onnx::NodeProto &n, const std::string &name, std::int64_t value)
{
    auto *a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
}

void setFloat(onnx::NodeProto &n, const std::string &name, float value)
{
    auto *a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(value);
}

std::string conv(GraphBuilder &g, const PortableModel &m, const std::string &x, const std::string &prefix, int kernel,
                 int stride, int padding)
{
    std::vector<std::string> inputs{x, g.weight(m, prefix + "weight")};
    if (m.has(prefix + "bias"))
        inputs.push_back(g.weight(m, prefix + "bias"));
    const std::string out = g.fresh("conv");
    auto &n = g.node("Conv", inputs, out);
    setInts(n, "kernel_shape", {kernel, kernel});
    setInts(n, "strides", {stride, stride});
    setInts(n, "pads", {padding, padding, padding, padding});
    return out;
}

std::string batchNorm(GraphBuilder &g, const PortableModel &m, const std::string &x, const std::string &prefix)
{
    const std::string out = g.fresh("batchnorm");
    auto &n = g.node("BatchNormalization",
                     {x, g.weight(m, prefix + "weight"), g.weight(m, prefix + "bias"),
                      g.weight(m, prefix + "running_mean"), g.weight(m, prefix + "running_var")},
                     out);
    setFloat(n, "epsilon", float(kBatchNormEps));
    return out;
}

std::string pool(GraphBuilder &g, const std::string &op, const std::string &x, int kernel, int stride)
{
    const std::string out = g.fresh(op == "MaxPool" ? "maxpool" : "avgpool");
    auto &n = g.node(op, {x}, out);
    setInts(n, "kernel_shape", {kernel, kernel});
    setInts(n, "strides", {stride, stride});
    return out;
}

// The normalisation constants, shaped to broadcast over a batch.
std::vector<std::int64_t> normalisationShape(const PortableModel &m)
{
    if (m.input.size() == 3)
        return {m.input[0], 1, 1};
    return {m.input[0]};
}

std::vector<float> asFloats(const std::vector<double> &v)
{
    return {v.begin(), v.end()};
}

// Declares a graph input or output: float, a free batch dimension, then `dims`.
void declare(onnx::ValueInfoProto *v, const std::string &name, const std::vector<std::int64_t> &dims)
{
    v->set_name(name);
    auto *type = v->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto::FLOAT);
    auto *shape = type->mutable_shape();
    shape->add_dim()->set_dim_param("batch");
    for (auto d : dims)
        shape->add_dim()->set_dim_value(d);
}

std::string linear(GraphBuilder &g, const PortableModel &m, const std::string &x, const std::string &prefix)
{
    std::vector<std::string> inputs{x, g.weight(m, prefix + "weight")};
    if (m.has(prefix + "bias"))
        inputs.push_back(g.weight(m, prefix + "bias"));
    const std::string out = g.fresh("linear");
    setInt(g.node("Gemm", inputs, out), "transB", 1);
    return out;
}

// Opset 13 has no Gelu: the exact form 0.5·x·(1 + erf(x/√2)). Its constants
// are added to the graph once, by the first GELU (`constantsAdded`).
std::string gelu(GraphBuilder &g, const std::string &x, bool &constantsAdded)
{
    if (!constantsAdded) {
        constantsAdded = true;
        g.initializer("gelu_sqrt2", {}, {1.41421356237f});
        g.initializer("gelu_one", {}, {1.0f});
        g.initializer("gelu_half", {}, {0.5f});
    }
    std::string t = g.op("Div", {x, "gelu_sqrt2"}, "gelu_scaled");
    t = g.op("Erf", {t}, "gelu_erf");
    t = g.op("Add", {t, "gelu_one"}, "gelu_shift");
    t = g.op("Mul", {x, t}, "gelu_product");
    return g.op("Mul", {t, "gelu_half"}, "gelu");
}

std::string flatten(GraphBuilder &g, const std::string &x, const std::string &hint)
{
    const std::string out = g.fresh(hint);
    setInt(g.node("Flatten", {x}, out), "axis", 1);
    return out;
}

std::string residual(GraphBuilder &g, const PortableModel &m, const std::string &x, const std::string &prefix,
                     const LayerSpec &l)
{
    std::string y = conv(g, m, x, prefix + "conv1.", 3, convStride(l), 1);
    y = g.op("Relu", {batchNorm(g, m, y, prefix + "bn1.")}, "relu");
    y = batchNorm(g, m, conv(g, m, y, prefix + "conv2.", 3, 1, 1), prefix + "bn2.");
    std::string shortcut = x;
    if (m.has(prefix + "projection.weight"))
        shortcut = batchNorm(g, m, conv(g, m, x, prefix + "projection.", 1, convStride(l), 0),
                             prefix + "projection_bn.");
    return g.op("Relu", {g.op("Add", {y, shortcut}, "residual_sum")}, "residual");
}

// Layer `l` (weights under `prefix`) on value `x`; returns the layer's output.
std::string layer(GraphBuilder &g, const PortableModel &m, const LayerSpec &l, const std::string &prefix,
                  const std::string &x, bool &geluConstants, const std::string &path)
{
    if (l.type == "linear")
        return linear(g, m, x, prefix);
    if (l.type == "conv2d")
        return conv(g, m, x, prefix, convKernel(l), convStride(l), convPadding(l));
    if (l.type == "batchnorm")
        return batchNorm(g, m, x, prefix);
    if (l.type == "relu")
        return g.op("Relu", {x}, "relu");
    if (l.type == "gelu")
        return gelu(g, x, geluConstants);
    if (l.type == "dropout")
        return x; // inference: dropout is the identity
    if (l.type == "maxpool")
        return pool(g, "MaxPool", x, poolKernel(l), poolStride(l));
    if (l.type == "avgpool")
        return pool(g, "AveragePool", x, poolKernel(l), poolStride(l));
    if (l.type == "global-avgpool")
        return flatten(g, g.op("GlobalAveragePool", {x}, "global_avgpool"), "pooled");
    if (l.type == "flatten")
        return flatten(g, x, "flatten");
    if (l.type == "residual")
        return residual(g, m, x, prefix, l);
    throw ModelFileError(path + ": layer type " + l.type + " has no ONNX form");
}

} // namespace

void writeOnnx(const std::string &path, const PortableModel &m, const std::string &producerVersion)
{
    onnx::ModelProto model;
    model.set_ir_version(8);
    model.set_producer_name("Distillery");
    model.set_producer_version(producerVersion);
    auto *opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(kOpset);
    auto *doc = model.add_metadata_props();
    doc->set_key("normalisation");
    doc->set_value("inside the graph: feed raw inputs (image pixels scaled to [0, 1])");

    onnx::GraphProto &graph = *model.mutable_graph();
    graph.set_name("distillery_model");
    GraphBuilder g(graph);
    declare(graph.add_input(), "input", m.input);

    g.initializer("normalisation_mean", normalisationShape(m), asFloats(m.mean));
    g.initializer("normalisation_std", normalisationShape(m), asFloats(m.stdev));
    std::string x = g.op("Sub", {"input", "normalisation_mean"}, "centred");
    x = g.op("Div", {x, "normalisation_std"}, "normalised");

    bool geluConstants = false;
    for (std::size_t i = 0; i < m.layers.size(); ++i)
        x = layer(g, m, m.layers[i], "layers." + std::to_string(i) + ".", x, geluConstants, path);
    // The last value is renamed "logits" through an Identity, so the output has a stable name.
    g.node("Identity", {x}, "logits");
    declare(graph.add_output(), "logits", {m.classes});

    std::string bytes;
    if (!model.SerializeToString(&bytes))
        throw ModelFileError(path + ": the ONNX model could not be serialised");
    try {
        writeFileAtomically(path, bytes);
    } catch (const std::runtime_error &e) {
        throw ModelFileError(e.what());
    }
}

#endif

} // namespace distillery::detail
