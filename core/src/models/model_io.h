// Conversions between the LibTorch model and its portable and exported forms,
// and the readers that load exported files back (internal to core).
#pragma once

#include "distillery/modelfiles.h"
#include "models/portable_model.h"
#include "models/torch_model.h"

#include <torch/script.h>

namespace distillery::detail {

// The model's weights and buffers under their state-dict names, with the
// input description and normalisation.
PortableModel toPortable(Net &net, const Shape &input, int classes, const std::vector<double> &mean,
                         const std::vector<double> &stdev, const std::vector<std::string> &classNames);

// A LibTorch model with the portable model's weights. Throws ModelFileError
// when a tensor is missing or has the wrong shape.
Net fromPortable(const PortableModel &m);

// A TorchScript module whose `forward(x)` normalises raw input and runs the
// layers (generated TorchScript source, readable with `print(m.code)` in Python).
torch::jit::Module toTorchScript(const PortableModel &m);

// Runs an ONNX file on `input` with LibTorch operators, node by node, for the
// operators Distillery writes. Throws ModelFileError for anything else.
torch::Tensor runOnnx(const std::string &path, const torch::Tensor &input);

// Loads a checkpoint written by Distillery (checkpoints/<stage>.pt) into `net`,
// whose architecture must be the one it was saved from. Throws ModelFileError
// naming the file for anything else, however broken.
void loadCheckpoint(Net &net, const std::string &path, const torch::Device &device);

// The TorchScript module's forward, checked to take one tensor and return one
// tensor. Throws ModelFileError naming `path` (and `field`, when given).
struct LoadedScript {
    torch::jit::Module module;
    std::int64_t parameters = 0;
    // A module with a method features(x) -> List[Tensor] can teach feature
    // methods; feature_names() -> List[str], when it has one, names them.
    bool hasFeatures = false;
    std::vector<std::string> featureNames;
};
LoadedScript loadScript(const std::string &path, const torch::Device &device);

// The file through LibTorch's reader for `kind`, on this thread, with no
// protection: what the helper process does (isolate.h). Returns whether the
// reader accepted it; when it threw, false with its message in `error`.
bool readModelFileUnguarded(ModelFileKind kind, const std::string &path, std::string *error = nullptr);

} // namespace distillery::detail
