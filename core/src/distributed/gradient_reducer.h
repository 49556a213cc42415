// Data-parallel gradients (internal to core): each rank's gradients summed
// over the ranks in buckets, each bucket's all-reduce started from the
// backward pass as soon as its last gradient is computed, so that
// communication overlaps the rest of the backward pass. Each rank weighs its
// gradients by its share of the global batch, so the result is the global
// batch's mean gradient however the rows were split.
#pragma once

#include "distributed/communicator.h"

#include <torch/torch.h>

#include <memory>
#include <vector>

namespace distillery::detail {

class GradientReducer {
public:
    // `parameters` in the order the model lists them; buckets hold about
    // `bucketBytes` each, filled from the last parameter (whose gradient
    // comes first), the first one smaller so that it starts early.
    GradientReducer(Communicator &comm, std::vector<torch::Tensor> parameters,
                    std::int64_t bucketBytes = 25 << 20, std::int64_t firstBucketBytes = 1 << 20);
    ~GradientReducer();
    GradientReducer(const GradientReducer &) = delete;
    GradientReducer &operator=(const GradientReducer &) = delete;

    // Before the backward pass: this rank's rows over the global batch's.
    void begin(double share);
    // After it: every bucket reduced and written back as the parameters'
    // gradients. A parameter that no rank computed a gradient for keeps none.
    void finish();

    int buckets() const { return int(buckets_.size()); }
    // This step's share (begin()), for synchronised batch norm's backward pass.
    const double &share() const { return share_; }

private:
    struct Bucket {
        std::vector<std::size_t> members;       // parameter indices
        std::int64_t elements = 0;
        torch::Tensor flat;                     // members' gradients, then one "present" flag each
        std::unique_ptr<Communicator::Pending> pending;
        std::size_t ready = 0;
    };
    void gradientReady(std::size_t parameter, const torch::Tensor &grad);
    void launch(Bucket &b);

    Communicator &comm_;
    std::vector<torch::Tensor> params_;
    std::vector<torch::Tensor> grads_;          // this step's, until launched
    std::vector<std::size_t> bucketOf_;
    std::vector<Bucket> buckets_;
    std::vector<unsigned> hooks_;
    std::size_t nextLaunch_ = 0;
    double share_ = 1.0;
    bool active_ = false;
};

} // namespace distillery::detail
