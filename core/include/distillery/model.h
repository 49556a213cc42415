// Facts about built models that need LibTorch to find out, in plain types.
#pragma once

#include "distillery/architecture.h"

#include <cstdint>
#include <vector>

namespace distillery {

// Builds the model for `input` and counts its trainable parameters (a check on
// analyseArchitecture, which computes the same number from formulas).
std::int64_t builtParameterCount(const Architecture &layers, const Shape &input);

// Runs a forward pass of a freshly built model (seeded) on `batch` random inputs
// and returns the output shape, batch dimension included.
std::vector<std::int64_t> builtOutputShape(const Architecture &layers, const Shape &input, int batch);

} // namespace distillery
