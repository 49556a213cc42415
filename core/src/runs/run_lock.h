// One writer per run folder: a lock file holding the owner's process id and
// start time (internal to core). A lock left by a process that no longer exists
// (or whose pid now belongs to another process) is stale and is taken over.
#pragma once

#include <stdexcept>
#include <string>

namespace distillery::detail {

struct RunBusy : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class RunLock {
public:
    // Takes <dir>/lock. Throws RunBusy when a live process holds it, and
    // std::runtime_error when the file cannot be written.
    explicit RunLock(const std::string &dir);
    ~RunLock();
    RunLock(const RunLock &) = delete;
    RunLock &operator=(const RunLock &) = delete;

    // The process id of the live process holding <dir>/lock, or 0.
    static long holder(const std::string &dir);

private:
    std::string path_;
};

} // namespace distillery::detail
