// Feature and relational distillation (internal to core): FitNets, attention
// transfer, similarity preserving, RKD and PKT, each as RepDistiller's
// distiller_zoo computes it. Each adds its term, weighted by β, to the
// cross-entropy (weight "ce") and vanilla KD's soft term (weight "kd"), and
// reads the features of the pairs of taps it was given (setPairs).
#pragma once

#include "methods/method.h"

namespace distillery::detail {

// fitnet, at, sp, rkd or pkt.
std::unique_ptr<DistillationMethod> makeFeatureMethod(const DistillConfig &config);

// The terms on one pair's features ([B, ...] each; the teacher's need no gradient).
// mean((a(s) − a(t))²), a(f) = L2-normalised mean over channels of f^p per
// sample, the larger map first average-pooled to the smaller's size.
torch::Tensor attentionLoss(const torch::Tensor &student, const torch::Tensor &teacher, double p);
// ‖normalize(G_t) − normalize(G_s)‖²_F / B², G = F·Fᵀ of the flattened features.
torch::Tensor similarityLoss(const torch::Tensor &student, const torch::Tensor &teacher);
// {distance, angle}: smooth-L1 between the batch's mean-normalised pairwise
// distances, and between the cosines of its triplets' angles.
std::pair<torch::Tensor, torch::Tensor> relationalLoss(const torch::Tensor &student, const torch::Tensor &teacher);
// mean(P_t·log((P_t + ε)/(P_s + ε))), P the row-normalised (cos + 1)/2 of the batch, ε = 1e-7.
torch::Tensor pktLoss(const torch::Tensor &student, const torch::Tensor &teacher);

} // namespace distillery::detail
