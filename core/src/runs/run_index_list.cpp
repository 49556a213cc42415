// The run index's rows as RunInfo (runs.h): what the window's Runs panel
// lists, read without opening the run folders' JSON files (docs/RUNS.md).
#include "distillery/runindex.h"

#include "runs/run_lock.h"

#include <cmath>
#include <filesystem>

namespace distillery {

namespace fs = std::filesystem;

namespace {

RunStatus statusOf(const std::string &name)
{
    for (auto s : {RunStatus::Running, RunStatus::Finished, RunStatus::Stopped, RunStatus::Failed, RunStatus::Invalid})
        if (statusName(s) == name)
            return s;
    return RunStatus::Failed; // as readRunInfo reads an unknown status
}

// The index keeps an absent accuracy as NULL (NaN); RunInfo as -1.
double accuracyOf(double a)
{
    return std::isnan(a) ? -1.0 : a;
}

} // namespace

std::vector<RunInfo> RunIndex::runs(const std::string &filter, const std::string &sortKey, bool descending) const
{
    const fs::path workspace = fs::path(path()).parent_path();
    std::vector<RunInfo> out;
    for (IndexedRun &r : query(filter, sortKey, descending)) {
        RunInfo info;
        info.dir = (workspace / r.dir).string();
        info.name = std::move(r.name);
        info.started = std::move(r.started);
        info.status = statusOf(r.status);
        info.method = r.method.empty() ? info.method : std::move(r.method);
        info.temperature = std::isnan(r.temperature) ? 0.0 : r.temperature;
        info.alpha = std::isnan(r.alpha) ? 0.0 : r.alpha;
        info.seconds = std::isnan(r.seconds) ? 0.0 : r.seconds;
        info.teacherTestAccuracy = accuracyOf(r.teacherAccuracy);
        info.baselineTestAccuracy = accuracyOf(r.baselineAccuracy);
        info.studentTestAccuracy = accuracyOf(r.studentAccuracy);
        info.teacherParameters = r.teacherParameters;
        info.studentParameters = r.studentParameters;
        info.forkedFrom = std::move(r.forkedFrom);
        info.forkedEpoch = r.forkedEpoch;
        info.sweep = std::move(r.sweep);
        info.sweepPoint = int(r.sweepPoint);
        // Only an unfinished run can have a live writer (a resumed run says
        // running again first); a lock file read each, not a folder walk.
        if (info.status != RunStatus::Finished && info.status != RunStatus::Invalid)
            info.ownerPid = detail::RunLock::holder(info.dir);
        out.push_back(std::move(info));
    }
    return out;
}

} // namespace distillery
