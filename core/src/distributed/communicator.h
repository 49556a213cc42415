// The processes of one data-parallel run, joined (internal to core): the
// job's store (a c10d TCPStore held by rank 0), its process group (Gloo on the
// CPU, NCCL on CUDA) and the collectives the training loop needs. A
// collective that fails (a rank died, or did not take part within the
// timeout) throws DistributedError naming the rank, found from the ranks'
// heartbeats in the store.
#pragma once

#include "distillery/distributed.h"
#include "distillery/experiment.h"

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace distillery::detail {

struct DistributedError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Communicator {
public:
    // Joins the job (rank 0 holds the store); waits for every rank up to the
    // timeout. Throws DistributedError (the port in use, the master not
    // reachable, a rank that never came).
    Communicator(const ProcessGroupSpec &spec, const DistributedConfig &config, const torch::Device &device);
    ~Communicator();
    Communicator(const Communicator &) = delete;
    Communicator &operator=(const Communicator &) = delete;

    int rank() const { return spec_.rank; }
    int size() const { return spec_.worldSize; }
    bool leader() const { return spec_.rank == 0; }
    const std::string &backend() const { return backend_; }

    // Blocking collectives; each throws DistributedError on failure.
    void allreduceSum(std::vector<torch::Tensor> &tensors);
    void broadcastFromLeader(std::vector<torch::Tensor> &tensors);
    void barrier();

    // Started now, waited for later (gradients during the backward pass).
    class Pending {
    public:
        virtual ~Pending() = default;
        virtual void wait() = 0;
    };
    std::unique_ptr<Pending> allreduceSumAsync(torch::Tensor &tensor);

    // Seconds this process has waited for collectives so far.
    double waitSeconds() const { return waitSeconds_; }
    void addWait(double seconds) { waitSeconds_ += seconds; }

    // Every rank's `value`, in rank order, through the store.
    std::vector<std::string> allGather(const std::string &key, const std::string &value);

    // Stop and pause as the ranks agree (any rank's stop, rank 0's pause),
    // and rank 0's `count` (of what it shares next; others' are ignored).
    struct Control {
        bool stop = false;
        bool pause = false;
        std::int64_t count = 0;
    };
    Control agree(bool stop, bool pause, std::int64_t count = 0);

    // Who else ended the job: set by whoever started processes of it, to add
    // their exit status to a failure's message ("rank 1 was killed by signal 9").
    std::function<std::string()> describeEnded;

    // The message for a collective that failed with `e`: which ranks stopped
    // responding (heartbeats that no longer advance), or why the store is gone.
    std::string failureMessage(const std::exception &e);

private:
    struct Private;
    ProcessGroupSpec spec_;
    DistributedConfig config_;
    std::string backend_;
    torch::Device collectiveDevice_{torch::kCPU};
    double waitSeconds_ = 0.0;
    std::unique_ptr<Private> d_;
    [[noreturn]] void fail(const std::exception &e);
};

} // namespace distillery::detail
