// The other ranks of a run started on this machine (distillery-run --nproc,
// the window's processes setting), as distillery-run processes joined to this
// one, which is rank 0 (internal to core; no LibTorch).
#pragma once

#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

namespace distillery::detail {

class LocalRanks {
public:
    // Starts ranks 1..processes-1 as `runner args...` with RANK, WORLD_SIZE,
    // LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR (loopback) and MASTER_PORT
    // set; each one's output goes to `logs`/rank-N.log. They get SIGTERM if
    // this process dies.
    LocalRanks(const std::string &runner, const std::vector<std::string> &args, int processes, int port,
               const std::filesystem::path &logs);
    // Kills those still running.
    ~LocalRanks();
    LocalRanks(const LocalRanks &) = delete;
    LocalRanks &operator=(const LocalRanks &) = delete;

    // Those that have ended badly so far, e.g. "rank 1 was killed by signal 9",
    // with the last line each wrote; "" when none.
    std::string describeEnded();
    // Waits up to `seconds` for every rank to end, then kills the rest.
    // Returns describeEnded() of all of them.
    std::string finish(double seconds);

    // The process id of each rank started, by rank.
    std::vector<std::pair<int, pid_t>> processes() const;

    // A TCP port free on the loopback address now.
    static int freePort();

private:
    struct Rank {
        int rank = 0;
        pid_t pid = -1;
        int status = 0;
        bool ended = false;
        std::filesystem::path log;
    };
    void reap(bool block);
    std::vector<Rank> ranks_;
};

} // namespace distillery::detail
