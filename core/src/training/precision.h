// What a run's forward passes compute in (Experiment::precision; internal to core).
#pragma once

#include <string>

namespace distillery::detail {

// Float32: everything in float. BFloat16 and Float16: autocast runs the
// eligible operations (matrix products, convolutions) in that type and the
// rest in float; weights, gradients and optimiser state stay float. Float16's
// narrow range needs the loss scale of training/loss_scaler.h; bfloat16 has
// float's range and needs none.
enum class Precision { Float32, BFloat16, Float16 };

// "bf16", "fp16", anything else (validated before a run: "fp32") Float32.
inline Precision precisionNamed(const std::string &name)
{
    return name == "bf16" ? Precision::BFloat16 : name == "fp16" ? Precision::Float16 : Precision::Float32;
}

} // namespace distillery::detail
