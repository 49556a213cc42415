// The vanilla knowledge-distillation loss on plain arrays, for checks and tools.
// The engine computes the same thing on tensors (one implementation behind both).
#pragma once

#include "distillery/experiment.h"

#include <cstdint>
#include <string>
#include <utility>
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

// A named array with its shape, row-major: a tap's features for a batch
// ([batch, ...]), or a learned parameter.
struct NamedArray {
    std::string name;
    std::vector<std::int64_t> shape;
    std::vector<double> values;
};

// Any method's loss (distillation.method with its params), in double
// precision, with its parts (as the curves show them) and its gradient with
// respect to the student's logits, row-major like them. `epoch` (from 1) is
// the stage's, for methods with a warm-up. Feature methods read the features
// given by tap name, paired by distillation.pairs (or the method's default);
// their gradients come back in featureGradients, and the weights the method
// learns alongside the student (a FitNets regressor, drawn with LibTorch's
// generator seeded with 0) in adapterParameters. Throws ConfigError for a
// method, parameter or tap that does not exist, std::invalid_argument for
// mismatched sizes.
struct MethodLoss {
    double total = 0.0;
    std::vector<std::pair<std::string, double>> parts;
    std::vector<double> studentGradient;
    std::vector<NamedArray> featureGradients;
    std::vector<NamedArray> adapterParameters;
    // What the method keeps beside them (CRD's memories and normalising
    // constants) before the loss and after it, and its random draws (CRD's negatives).
    std::vector<NamedArray> adapterBuffers, adapterBuffersAfter, draws;
    // Deep Mutual Learning: the gradient with respect to each other member's logits.
    std::vector<std::vector<double>> peerGradients;
};
MethodLoss methodLoss(const DistillConfig &config, const std::vector<double> &studentLogits,
                      const std::vector<double> &teacherLogits, const std::vector<std::int64_t> &labels, int classes,
                      int epoch = 1, const std::vector<NamedArray> &studentFeatures = {},
                      const std::vector<NamedArray> &teacherFeatures = {});

// Multi-teacher KD (kd with several teachers): the soft term against the
// weighted average of the teachers' probabilities at T,
//   soft = T²·(1/B)·Σ_b KL(Σ_m w_m·softmax(t_m[b]/T) ‖ softmax(s[b]/T)),
// w normalised to sum to 1; total = α·soft + (1 − α)·CE(y, s). `teachers`
// holds each teacher's logits, row-major like the student's; `weights` one
// per teacher (≥ 0, not all 0). Throws std::invalid_argument for mismatched sizes.
MethodLoss multiTeacherLoss(const DistillConfig &config, const std::vector<double> &studentLogits,
                            const std::vector<std::vector<double>> &teacherLogits, const std::vector<double> &weights,
                            const std::vector<std::int64_t> &labels, int classes);

// Deep Mutual Learning (dml): the cohort's loss, `cohort` holding each
// member's logits (the first is the run's student), row-major [batch x classes]:
//   total = Σ_k [ce·CE(y, z_k) + β·T²·(1/(K−1))·Σ_{l≠k} KL(softmax(z_l/T) ‖ softmax(z_k/T))],
// KL 'batchmean', z_l's side detached; the gradients of the first member in
// studentGradient and of the others in peerGradients. Throws
// std::invalid_argument for fewer than two members or mismatched sizes.
MethodLoss mutualLearningLoss(const DistillConfig &config, const std::vector<std::vector<double>> &cohort,
                              const std::vector<std::int64_t> &labels, int classes);

} // namespace distillery
