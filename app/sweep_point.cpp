// distillery-run --sweep-point SWEEP_DIR --point N: one point of a sweep
// folder, as a Slurm array task runs it (docs/SWEEPS.md, "Slurm"). The point's
// experiment is written and run into its run folder, or its unfinished run
// resumed; a point already finished is left as it is.
#include "sweep_command.h"

#include "distillery/runs.h"
#include "distillery/sweep.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace {

using namespace distillery;
namespace fs = std::filesystem;

bool parseIndex(const std::string &text, int &value)
{
    if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
        return false;
    value = std::stoi(text);
    return true;
}

// The point's index from "N", or from SLURM_ARRAY_TASK_ID through the map's lines. Throws ConfigError.
int pointIndex(const std::string &point, const std::string &pointMap)
{
    int index = -1;
    if (point != "array") {
        if (!parseIndex(point, index))
            throw ConfigError("--point: " + point + " is not a point number (or \"array\")");
        return index;
    }
    const char *task = std::getenv("SLURM_ARRAY_TASK_ID");
    if (!task || !parseIndex(task, index))
        throw ConfigError("--point array: SLURM_ARRAY_TASK_ID is not set to a number (not a Slurm array task?)");
    if (pointMap.empty())
        return index;
    std::ifstream in(pointMap);
    if (!in)
        throw ConfigError("--point-map: " + pointMap + ": cannot open");
    std::string line;
    for (int i = 0; std::getline(in, line); ++i)
        if (i == index) {
            int mapped = -1;
            if (!parseIndex(line, mapped))
                throw ConfigError(pointMap + ": line " + std::to_string(i + 1) + " is not a point number");
            return mapped;
        }
    throw ConfigError(pointMap + ": no line for array task " + std::to_string(index));
}

bool finished(const std::string &runDir)
{
    return fs::exists(fs::path(runDir) / "summary.json") && readRunInfo(runDir).status == RunStatus::Finished;
}

// The threads Slurm gave the task, if it runs under Slurm (0: not said).
int slurmThreads()
{
    int n = 0;
    for (const char *name : {"SLURM_CPUS_PER_TASK", "SLURM_CPUS_ON_NODE"})
        if (const char *v = std::getenv(name); v && parseIndex(v, n) && n > 0)
            return n;
    return 0;
}

} // namespace

int prepareSweepPoint(const std::string &sweepDir, const std::string &point, const std::string &pointMap,
                      SweepPointRun &out)
{
    try {
        const SweepFolder sweep = openSweepFolder(sweepDir);
        const int index = pointIndex(point, pointMap);
        if (index < 0 || index >= int(sweep.plan.points.size()))
            throw ConfigError("--point " + std::to_string(index) + ": the sweep has points 0 to " +
                              std::to_string(sweep.plan.points.size() - 1));
        const SweepPoint &p = sweep.plan.points[std::size_t(index)];
        const std::string dir = sweep.runDir(index);
        out.workspace = sweep.workspace;
        std::cerr << "sweep point " << index << " of " << sweep.dir << ": " << p.label() << "\n";
        if (finished(dir)) {
            std::cerr << "already finished: " << dir << "\n";
            return 0;
        }
        if (fs::exists(fs::path(dir) / "summary.json")) {
            out.resumeDir = dir;
            return -1;
        }
        const bool teacherRun = sweep.plan.base.teacher.source == "train", baselineRun = sweep.plan.base.baseline;
        for (const auto &[from, what] : {std::pair{teacherRun ? p.teacherFrom : -1, "teacher"},
                                         std::pair{baselineRun ? p.baselineFrom : -1, "baseline"}})
            if (from >= 0 && !finished(sweep.runDir(from))) {
                std::cerr << "error: point " << index << " takes its " << what << " from point " << from
                          << ", which has not finished (" << sweep.runDir(from) << ")\n";
                return 1;
            }
        std::error_code ec;
        fs::remove_all(dir, ec); // made, but killed before its summary: nothing to keep
        Experiment e = pointExperiment(sweep.plan, index, sweep.id, sweep.runDirs());
        if (const int threads = slurmThreads(); threads > 0 && (e.threads <= 0 || e.threads > threads))
            e.threads = threads;
        saveExperiment(e, sweep.pointFile(index));
        out.experimentFile = sweep.pointFile(index);
        out.runDir = dir;
        return -1;
    } catch (const ConfigError &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    }
}
