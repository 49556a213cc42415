// The training step and what surrounds it, shared by the stage runner and the
// benchmarks so that both time the same code (internal to core). The optimiser
// and the thread plan a step runs under have headers of their own, included
// here for the step's users.
#pragma once

#include "methods/method.h"
#include "data/torch_data.h"
#include "distributed/gradient_reducer.h"
#include "models/torch_model.h"
#include "training/dynamics.h"
#include "training/loss_scaler.h"
#include "training/optimizer.h"
#include "training/precision.h"
#include "training/thread_plan.h"

#include <functional>
#include <memory>

namespace distillery::detail {

// Batch size of evaluation and of the teacher-logit cache. Larger is not
// faster here: cnn-large (channels-last, in PyTorch with the same kernels and
// allocator settings) evaluates 8,100 samples/s at 256,
// 6,500 at 512 and 4,900 at 1024 on 2 cores, as its first activations
// (26 MB at 256) outgrow the caches and then the allocator's mmap threshold
// (see tuneAllocator).
constexpr std::int64_t kEvalBatch = 256;

// A frozen teacher: its logits for a batch of the students' (normalised) inputs.
// A Distillery model, or a TorchScript module imported from elsewhere.
using TeacherForward = std::function<torch::Tensor(const torch::Tensor &)>;
// A frozen teacher's logits and the features of the given taps (feature methods).
using TeacherFeatures = std::function<ModelOutputs(const torch::Tensor &, const std::vector<Tap> &)>;

struct StepContext {
    Net &model;
    torch::optim::Optimizer &optimizer;
    DistillationMethod &method;
    TeacherForward teacher;         // run per batch when there is no cache
    torch::Tensor teacherCache;     // the teacher's logits for every row of `train`, or undefined
    const Split &train;
    Precision precision = Precision::Float32; // of the forward passes (autocast); losses in float
    // The stage's augmentation (data/augment.h) and max-norm (training/max_norm.h); none when null.
    const TrainConfig *settings = nullptr;
    torch::Tensor blackPixel{};     // per channel, normalised: what a crop pads with
    int classes = 0;                // for the mixed targets of mixup and cutmix
    // Feature methods: the teacher run on each batch with its taps; empty otherwise.
    TeacherFeatures teacherFeatures{};
    // ... or its logits and features for every row of `train`, computed once.
    const ModelOutputs *featureCache = nullptr;
    // Each example's probability of its true class, for the data map; none when null.
    DynamicsRecorder *dynamics = nullptr;
    // Data-parallel over several processes: this one trains on its share of
    // each batch (rank of ranks) and the reducer sums the gradients; null for one.
    GradientReducer *reducer = nullptr;
    int rank = 0;
    int ranks = 1;
    // Precision fp16: scales the loss, skips steps whose gradients are not finite; null otherwise.
    LossScaler *scaler = nullptr;
};

// Mixed precision: while alive, LibTorch's autocast runs the eligible
// operations (matrix products, convolutions) on `device`'s type in bfloat16 or
// float16 as `precision` says, the rest in float; for Float32 it does nothing.
class Autocast {
public:
    Autocast(Precision precision, const torch::Device &device);
    ~Autocast();
    Autocast(const Autocast &) = delete;
    Autocast &operator=(const Autocast &) = delete;

private:
    bool on_ = false;
    bool cuda_ = false;
    bool wasEnabled_ = false;
    at::ScalarType previousType_ = at::kFloat;
};

// One optimisation step on rows `idx` of the training split (this process's
// share of them, when data-parallel). Adds {total·rows, part·rows...,
// correct} of the rows it trained on to `acc` without synchronising.
void trainStep(StepContext &c, const torch::Tensor &idx, torch::Tensor &acc);

// A frozen teacher's logits and the features of `taps` for every row of
// `split`, in large batches (as float), like teacherLogits.
ModelOutputs teacherOutputs(const TeacherFeatures &teacher, const std::vector<Tap> &taps, const Split &split,
                            Precision precision = Precision::Float32);

// The frozen teacher's logits for every row of `split`, in large batches (as
// float; the forward passes under autocast for a mixed `precision`).
torch::Tensor teacherLogits(const TeacherForward &teacher, const Split &split,
                            Precision precision = Precision::Float32);

} // namespace distillery::detail
