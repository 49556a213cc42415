// Architectures: presets, and what a layer list costs on a given input,
// computed without building the model (so the UI can show it as the user types).
#pragma once

#include "distillery/experiment.h"

#include <cstdint>
#include <string>
#include <vector>

namespace distillery {

// A sample's shape without the batch dimension: {C, H, W} for images, {F} for vectors.
using Shape = std::vector<std::int64_t>;
std::string shapeToString(const Shape &s);

struct LayerReport {
    std::string description;    // e.g. "conv2d 3x3 32, stride 1"
    Shape input;
    Shape output;
    std::int64_t parameters = 0;
    std::int64_t multiplyAdds = 0; // per sample (linear and convolution products)
};

struct ArchitectureReport {
    std::vector<LayerReport> layers;
    std::int64_t parameters = 0;
    std::int64_t multiplyAdds = 0;
    Shape output;
    bool ok = false;
    int errorLayer = -1;        // index of the first layer that does not fit, -1 if none
    std::string error;          // why; empty when ok
};

// Names of the presets, for pickers and error suggestions.
std::vector<std::string> presetNames();
// Expands a preset into layers for `classes` outputs. Throws ConfigError for an
// unknown preset (suggesting the nearest name) or bad options.
Architecture expandPreset(const ModelSpec &spec, int classes);
// `spec.layers` when given, else the preset's expansion.
Architecture resolveModel(const ModelSpec &spec, int classes);

// Shapes, parameters and multiply-adds of each layer; ok=false with the first
// problem when the layers do not fit `input` or do not end in `classes` outputs.
ArchitectureReport analyseArchitecture(const Architecture &layers, const Shape &input, int classes);

// A point in a model whose output feature methods can read: a layer given a
// "tap" name, or one of the automatic taps every model has where its layers
// allow: "stage1", "stage2", ... after the last block of each stage of
// residual blocks (a stage ends where the next block halves the resolution or
// the blocks end), "pool1", "pool2", ... after each max or average pooling
// layer, and "embedding", the input of the last linear layer (skipping the
// dropouts before it). A layer's own tap name wins over an automatic one.
struct Tap {
    std::string name;
    int layer = -1;             // the output of this layer (index in the layer list)
    Shape shape;                // without the batch dimension
    bool automatic = false;
};
// A model's taps on `input`, in layer order; empty when the layers do not fit it.
std::vector<Tap> modelTaps(const Architecture &layers, const Shape &input);
// The tap called `name`, or null.
const Tap *findTap(const std::vector<Tap> &taps, const std::string &name);

// Known layer types.
const std::vector<std::string> &layerTypes();

} // namespace distillery
