// The run index: <workspace>/runs.sqlite, an SQLite database of the
// workspace's runs (each run's settings as flattened keys, its status and
// results) for listing and filtering thousands of runs at once. The run
// folders stay the source of truth: the index is refreshed from them on open
// (a stat of each folder's files), rebuilt by reindex(), and a damaged file
// is moved aside and rebuilt, never a reason to lose a run. docs/RUNS.md.
#pragma once

#include "distillery/runs.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace distillery {

// A run as the index holds it. Accuracies and the gain are NaN where the
// stage is absent or did not finish.
struct IndexedRun {
    std::string dir;                    // relative to the workspace: runs/<time>-<name>
    std::string name;
    std::string started;                // ISO time, as summary.json says
    std::string status;                 // running, finished, stopped, failed, invalid
    std::string method;                 // distillation.method
    double seconds = 0.0;
    double teacherAccuracy = 0.0;       // test accuracy of each stage's kept model
    double baselineAccuracy = 0.0;
    double studentAccuracy = 0.0;
    double gain = 0.0;                  // student - baseline
    std::int64_t teacherParameters = 0;
    std::int64_t studentParameters = 0;
    std::string sweep;                  // the sweep it belongs to (its folder name; "" for none)
    std::int64_t sweepPoint = -1;
    // From its settings: distillation.temperature and .alpha (NaN where
    // absent), forked_from.run and .epoch ("" and 0 for none).
    double temperature = 0.0;
    double alpha = 0.0;
    std::string forkedFrom;
    int forkedEpoch = 0;
};

// A filter or sort key the index cannot use; the message names the key or
// the position in the filter.
class IndexQueryError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct RefreshCounts {
    int added = 0, updated = 0, removed = 0;
};

class RunIndex {
public:
    static constexpr const char *fileName = "runs.sqlite";
    // 2: rows hold sweep membership, and T, alpha and forked_from are read
    // from the settings. An index of an older version is made again from
    // the folders on open (in place, without a note).
    static constexpr int schemaVersion = 2;

    // Opens <workspace>/runs.sqlite, creating it where missing. A file that
    // is not SQLite, is damaged or has a newer schema version is moved aside
    // as runs.sqlite.damaged-<time> and rebuilt from the run folders (said in
    // notes()). With `refreshNow`, refresh() follows. Throws
    // std::runtime_error only when the workspace cannot hold the file at all.
    explicit RunIndex(const std::string &workspace, bool refreshNow = true);
    ~RunIndex();
    RunIndex(const RunIndex &) = delete;
    RunIndex &operator=(const RunIndex &) = delete;

    std::string path() const;
    // What happened on open that the user may want to know (a file moved aside).
    const std::vector<std::string> &notes() const;

    // Every run folder into an emptied index, in one transaction; the count.
    int reindex();
    // Brings the index up to the folders: new folders added, folders whose
    // config.json or summary.json changed since their row was written read
    // again, rows of vanished folders removed.
    RefreshCounts refresh();
    // The run folder (<workspace>/runs/<folder>) read into its row and settings;
    // false where it is not a run folder of this workspace.
    bool upsertRun(const std::string &runDir);

    // The runs matching `filter` (docs/RUNS.md: `alpha >= 0.5 and status =
    // finished`; empty: all), ordered by `sortKey` (a column or a setting;
    // empty: newest first), at most `limit` of them (0: all). Throws
    // IndexQueryError naming what is wrong.
    std::vector<IndexedRun> query(const std::string &filter = "", const std::string &sortKey = "",
                                  bool descending = false, int limit = 0) const;
    // The same runs as RunInfo (runs.h), for the window's Runs panel: read
    // from the index alone, with dir the run folder's path and, for runs not
    // finished, whether a live process holds the run (its lock file). The
    // omitted classes' bias correction is not indexed (readRunInfo has it).
    std::vector<RunInfo> runs(const std::string &filter = "", const std::string &sortKey = "",
                              bool descending = false) const;
    // One run's settings (config.json flattened to dotted keys), values as text.
    std::vector<std::pair<std::string, std::string>> settings(const std::string &dir) const;
    // The keys a filter may use: the run columns, then every setting key seen.
    std::vector<std::string> keys() const;
    int count() const;

    struct Private;

private:
    std::unique_ptr<Private> d;
};

// The engine's hook: the run's row brought up to date, best effort. Never
// throws and never prints; an index that is locked or read-only is skipped
// (the next open refreshes it).
void updateRunIndex(const std::string &runDir) noexcept;

} // namespace distillery
