// The data sources: each reads its files (or makes its samples) into plain
// tensors on the CPU, before any split or normalisation (internal to core).
#pragma once

#include "distillery/data.h"

#include <torch/torch.h>

namespace distillery::detail {

struct RawData {
    torch::Tensor trainX, trainY, testX, testY; // x float (unnormalised, images in [0, 1]), y int64, on CPU
    std::vector<std::string> classNames;
    std::string description;
};

// "class 0" to "class k-1", for sources without class names.
std::vector<std::string> numberedClasses(int k);

// Reads `config`'s source. Throws DataError (naming the file) or ConfigError.
RawData loadRawData(const DataConfig &config, const DataLoadOptions &options);

} // namespace distillery::detail
