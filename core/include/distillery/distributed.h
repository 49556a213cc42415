// One run trained data-parallel over several processes (docs/DISTRIBUTED.md):
// where this process stands in such a job. Plain C++; the collectives
// themselves (LibTorch's c10d) stay inside core.
#pragma once

#include <map>
#include <string>

namespace distillery {

// This process's place in a job of `worldSize` processes.
struct ProcessGroupSpec {
    int rank = 0;
    int worldSize = 1;                  // 1: a run of one process
    int localRank = 0;                  // among the job's processes on this machine
    int localWorldSize = 1;
    std::string masterAddr = "127.0.0.1"; // rank 0's machine, which holds the job's store
    int masterPort = 29500;
    std::string origin;                 // where it was read from, for messages: "RANK", "srun", ...
    bool active() const { return worldSize > 1; }
};

// The job this process belongs to, from its environment:
// - torchrun's variables: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (and
//   LOCAL_RANK, LOCAL_WORLD_SIZE);
// - else, inside a Slurm job step (srun), SLURM_PROCID, SLURM_STEP_NUM_TASKS,
//   SLURM_LOCALID, SLURM_STEP_TASKS_PER_NODE and the step's first node
//   (SLURM_STEP_NODELIST) as the master, MASTER_PORT or a port from the job id;
// - else one process. Throws ConfigError naming the variable that is wrong.
// `env` stands for the process's environment in tests; empty: the real one.
ProcessGroupSpec processGroupFromEnvironment(const std::map<std::string, std::string> &env = {});

// The first host of a Slurm host list: "node[3-5,9],gpu1" → "node3".
std::string firstSlurmHost(const std::string &nodelist);

} // namespace distillery
