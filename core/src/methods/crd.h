// Contrastive representation distillation (Tian, Krishnan and Isola, ICLR
// 2020), as RepDistiller's crd/ computes it: both models' embeddings mapped to
// a common space, each contrasted with a memory of the other model's
// embeddings of the training set (internal to core).
#pragma once

#include "methods/method.h"

namespace distillery::detail {

std::unique_ptr<DistillationMethod> makeCrd(const DistillConfig &config);

// RepDistiller's ContrastLoss on the scores x [B, 1 + K] (the positive first):
//   −(1/B)·Σ_b [log(x₀/(x₀ + K·Pn + ε)) + Σ_k log(K·Pn/(x_k + K·Pn + ε))],
// Pn = 1/n the noise distribution's probability of a row, ε = 1e-7.
torch::Tensor contrastLoss(const torch::Tensor &scores, std::int64_t rows);

} // namespace distillery::detail
