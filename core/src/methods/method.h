// Distillation methods: the loss a stage trains with (internal to core).
// The trainer knows only this interface, so feature-based methods (hints,
// attention transfer, DKD) slot in without touching it. Each method lives in
// a file of its own in this folder; makeMethod (method.cpp) is the one list
// of them. docs/ARCHITECTURE.md has the recipe for adding one.
#pragma once

#include "distillery/experiment.h"
#include "models/torch_model.h"

#include <memory>

namespace distillery::detail {

struct LossTerms {
    torch::Tensor total;                                          // what is minimised
    std::vector<std::pair<std::string, torch::Tensor>> parts;     // reported separately
};

class DistillationMethod {
public:
    virtual ~DistillationMethod() = default;
    virtual std::string name() const = 0;
    // Whether the loss needs the teacher's outputs for each batch.
    virtual bool needsTeacher() const = 0;
    // The names of LossTerms::parts, in order.
    virtual std::vector<std::string> partNames() const = 0;
    // `teacher` is empty (undefined logits) when needsTeacher() is false.
    // `labels` are class indices (int64 [B]), or class probabilities (float
    // [B, K]) for a batch that mixup or CutMix mixed (data/augment.h).
    virtual LossTerms loss(const ModelOutputs &student, const ModelOutputs &teacher, const torch::Tensor &labels) = 0;
    // The stage's epoch about to train, from 1 (for methods with a warm-up).
    virtual void setEpoch(int /*epoch*/) {}
    // Takes the settings (T, α, the method's parameters) anew: a schedule's
    // value or a change made while the run trains. The next loss uses them.
    virtual void configure(const DistillConfig & /*config*/) {}

    // Feature methods (methods.h: usesFeatures): the pairs of taps they match,
    // resolved against both models (resolvePairs); `loss` then finds each
    // pair's features in the outputs by tap name. Empty for the others.
    void setPairs(std::vector<std::pair<Tap, Tap>> pairs);
    const std::vector<std::pair<Tap, Tap>> &pairs() const { return pairs_; }
    // Each side's taps once, in pairing order: what a step captures.
    const std::vector<Tap> &teacherTaps() const { return teacherTaps_; }
    const std::vector<Tap> &studentTaps() const { return studentTaps_; }
    // Builds what the method learns alongside the student (a FitNets
    // regressor), drawing its weights from LibTorch's default generator, on
    // `device`. Called once at the start of the stage, before the optimiser
    // is made; the module it returns then (or null) is trained with the
    // student, checkpointed with it and never exported.
    virtual torch::nn::Module *prepare(const torch::Device & /*device*/) { return nullptr; }
    // Online methods (Deep Mutual Learning) learn from models they train
    // themselves (made by prepare()) rather than from a frozen teacher: for
    // each batch, those models' outputs take the teacher's place in loss(),
    // computed with gradients (peerOutputs, called under the step's autocast).
    virtual bool online() const { return false; }
    // Methods that keep something per training example (CRD's memory): the
    // labels of the stage's training rows, before prepare(), and the rows of
    // each batch (indices into them), before its loss(). Ignored by the others.
    virtual void setTrainingLabels(const torch::Tensor & /*labels*/) {}
    virtual void setBatchRows(const torch::Tensor & /*rows*/) {}
    // The random draws of the last loss() (CRD's negatives), for the checks.
    virtual std::vector<std::pair<std::string, torch::Tensor>> lastDraws() const { return {}; }
    virtual ModelOutputs peerOutputs(const torch::Tensor & /*x*/) { return {}; }

protected:
    std::vector<std::pair<Tap, Tap>> pairs_;

private:
    std::vector<Tap> teacherTaps_, studentTaps_;
};

// The feature captured under `name` in `outputs`. Throws std::logic_error when absent.
const torch::Tensor &feature(const ModelOutputs &outputs, const std::string &name);

// Each row of logits z-scored: (z − mean) / (std + 1e-7), the standard
// deviation unbiased (torch.std's default), as in the logit-standardisation
// reference code (Sun et al. 2024).
torch::Tensor standardizeLogits(const torch::Tensor &z);

// Class indices for the labels a loss was given: themselves, or for class
// probabilities (a mixed batch) the class with the largest share.
torch::Tensor hardLabels(const torch::Tensor &labels);

// Plain cross-entropy against the labels: the teacher's and the baseline's loss.
std::unique_ptr<DistillationMethod> makeCrossEntropy();
// The method of the distillation stage. Throws ConfigError for an unknown method.
std::unique_ptr<DistillationMethod> makeMethod(const DistillConfig &config);

} // namespace distillery::detail
