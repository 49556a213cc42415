// Data sets as tensors, resident on the training device (internal to core).
#pragma once

#include "distillery/data.h"

#include <torch/torch.h>

namespace distillery::detail {

struct Split {
    torch::Tensor x;    // float [N, ...sample shape], normalised
    torch::Tensor y;    // int64 [N]
    std::int64_t size() const { return y.defined() ? y.size(0) : 0; }
};

struct LoadedData {
    Split train, validation, test;
    torch::Tensor studentIndices;       // rows of `train` the students learn from; undefined: all
    DatasetSummary summary;
    std::vector<double> mean, stdev;    // per channel (images) or feature (vectors), from `train`
};

LoadedData loadData(const DataConfig &config, const torch::Device &device, const DataLoadOptions &options = {});

// Rows of `split` (normalised images [N, C, H, W]) as 8-bit pictures, the
// normalisation of `data` undone; synthetic images (not in [0, 1]) stretched
// each to its own range when `stretch`.
std::vector<SampleImage> sampleImages(const LoadedData &data, const Split &split, const torch::Tensor &rows,
                                      bool stretch);

// The students' training split: `train` itself, or the transfer subset.
Split studentSplit(const LoadedData &data);

} // namespace distillery::detail
