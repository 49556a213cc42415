// The vanilla knowledge-distillation loss on plain arrays, for checks and tools.
// The engine computes the same thing on tensors (one implementation behind both).
#pragma once

#include <cstdint>
#include <vector>

namespace distillery {

struct KdLoss {
    double total = 0.0;   // alpha * soft + (1 - alpha) * hard
    double soft = 0.0;    // T^2 * KL(softmax(t/T) || softmax(s/T)), summed over classes, batch mean
    double hard = 0.0;    // cross-entropy of the student against the labels, batch mean
};

// Logits are row-major [batch x classes].
KdLoss kdLoss(const std::vector<float> &studentLogits, const std::vector<float> &teacherLogits,
              const std::vector<std::int64_t> &labels, int classes, double temperature, double alpha);

} // namespace distillery
