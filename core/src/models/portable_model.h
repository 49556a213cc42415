// A trained model as plain values, the common ground of the exporters:
// architecture, input, normalisation and named weights (internal to core).
// Nothing here sees LibTorch, so the file formats compile fast and can be fuzzed alone.
#pragma once

#include "distillery/architecture.h"

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace distillery::detail {

// A tensor in row-major order. Integer tensors (batch norm's step counter)
// keep their values in `integers` and are written as int64.
struct NamedTensor {
    std::string name;
    std::vector<std::int64_t> shape;
    std::vector<float> values;
    std::vector<std::int64_t> integers; // used instead of `values` when `integer`
    bool integer = false;
    std::int64_t numel() const;
};

struct PortableModel {
    Architecture layers;
    Shape input;                        // one sample, without the batch dimension
    int classes = 0;
    std::vector<std::string> classNames;
    std::vector<double> mean, stdev;    // normalisation of the raw input: per channel (images) or feature
    std::vector<NamedTensor> tensors;   // LibTorch's state-dict names: layers.<index>.<name>

    // The tensor called `name`; throws std::runtime_error when missing.
    const NamedTensor &at(const std::string &name) const;
    bool has(const std::string &name) const;
};

// Thrown for unreadable or malformed model files; the message names the file.
struct ModelFileError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// safetensors: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}, "__metadata__": {string: string}} and the
// raw little-endian data. Written atomically.
void writeSafetensors(const std::string &path, const std::vector<NamedTensor> &tensors,
                      const std::map<std::string, std::string> &metadata);
// Reads and checks every offset and size against the file before allocating.
std::vector<NamedTensor> readSafetensors(const std::string &path, std::map<std::string, std::string> *metadata = nullptr);
// The same, from bytes in memory (`origin` names them in errors).
std::vector<NamedTensor> parseSafetensors(const std::string &bytes, const std::string &origin,
                                          std::map<std::string, std::string> *metadata = nullptr);

// The architecture file written beside the weights: layers, input shape,
// classes and normalisation, as JSON.
std::string portableArchitectureJson(const PortableModel &m);
// Reads it back (tensors are left empty). Throws ModelFileError naming `origin`.
PortableModel parsePortableArchitecture(const std::string &json, const std::string &origin);

// ONNX (opset 13) through the ONNX protobuf schema: the normalisation is the
// graph's first two nodes, so the model takes raw input. Written atomically.
// False when Distillery was built without libonnx.
bool onnxAvailable();
void writeOnnx(const std::string &path, const PortableModel &m, const std::string &producerVersion);

} // namespace distillery::detail
