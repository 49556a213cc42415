// A run over several processes, as the engine sees it (internal to core):
// starting the other ranks of a local run, joining the job, checking that
// every rank was given the same experiment, and where each rank writes. Rank
// 0 writes the run folder; every other rank runs the same pipeline into a
// scratch copy of its own, removed at the end, so that every rank takes the
// same steps and only rank 0's files remain.
#pragma once

#include "distillery/engine.h"
#include "distributed/communicator.h"
#include "distributed/local_ranks.h"

#include <filesystem>
#include <memory>

namespace distillery::detail {

class DistributedJob {
public:
    // Null when the run is one process. Else starts the other ranks when
    // this process starts a local run of exp.distributed.processes, joins
    // the job, checks the experiments agree (InvalidInput naming the
    // setting), and for ranks other than 0 moves `options` to the scratch
    // folder (a resumed run's folder copied there first). Every rank leaves
    // after all have placed themselves, so rank 0 changes nothing any other
    // rank copies.
    static std::unique_ptr<DistributedJob> start(const Experiment &exp, EngineOptions &options,
                                                 const torch::Device &device);
    ~DistributedJob();

    Communicator &comm() { return *comm_; }
    bool leader() const { return comm_->leader(); }
    // Threads for each process when the experiment leaves them to the cores.
    int threads(int requested, int cores) const;
    // Where a rank's decoded-image cache is: the real workspace's.
    const std::filesystem::path &workspace() const { return workspace_; }
    // Rank 0 of a local run waits for the other ranks to end (killing them
    // after `seconds`) and returns what went wrong with them; "" otherwise.
    std::string finish(double seconds);

private:
    DistributedJob() = default;
    void place(EngineOptions &options);
    void checkSameExperiment(const Experiment &exp);

    ProcessGroupSpec spec_;
    std::unique_ptr<LocalRanks> local_;
    std::unique_ptr<Communicator> comm_;
    std::filesystem::path scratch_;
    std::filesystem::path workspace_;
};

} // namespace distillery::detail
