#include "sweep_command.h"

#include "console_format.h"

#include "distillery/runs.h"
#include "distillery/sweep.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

namespace {

using namespace distillery;

std::atomic<bool> stopSweep{false};
extern "C" void onSweepSignal(int)
{
    stopSweep = true;
}

using console::percent;

void printTable(const SweepFolder &s)
{
    std::printf("%-6s %-52s %9s %9s %8s\n", "point", "settings", "student", "baseline", "gain");
    for (const auto &p : s.plan.points) {
        const RunInfo r = readRunInfo(s.runDir(p.index));
        char gain[16] = "-";
        if (r.studentTestAccuracy >= 0 && r.baselineTestAccuracy >= 0)
            std::snprintf(gain, sizeof gain, "%+.2f", 100.0 * (r.studentTestAccuracy - r.baselineTestAccuracy));
        std::printf("%-6d %-52s %9s %9s %8s\n", p.index, p.label().c_str(), percent(r.studentTestAccuracy).c_str(),
                    percent(r.baselineTestAccuracy).c_str(), gain);
    }
}

SweepFolder openOrCreate(const SweepCommand &c)
{
    if (!c.resumeDir.empty())
        return openSweepFolder(c.resumeDir);
    const Experiment e = loadExperiment(c.experiment, c.overrides);
    const SweepPlan plan = planSweep(e, c.experiment, c.yes);
    return createSweepFolder(c.workspace, e, plan);
}

int finishedPoints(const SweepFolder &s)
{
    int n = 0;
    for (const auto &p : s.plan.points)
        n += readRunInfo(s.runDir(p.index)).status == RunStatus::Finished;
    return n;
}

// Polls squeue until the jobs have left the queue, saying how many points have finished.
int waitForSlurm(const SweepFolder &sweep, const std::vector<SlurmJob> &jobs, const SlurmOptions &o)
{
    std::vector<std::string> ids;
    for (const auto &j : jobs)
        ids.push_back(j.id);
    int said = -1, failures = 0;
    while (!ids.empty() && !stopSweep) {
        try {
            ids = slurmJobsQueued(ids, o);
            failures = 0;
        } catch (const SlurmError &e) { // the controller may be restarting: a few tries before giving up
            std::cerr << (++failures < 5 ? "note" : "error") << ": waiting for the jobs: " << e.what() << "\n";
            if (failures >= 5)
                return 3;
        }
        if (const int n = finishedPoints(sweep); n != said)
            std::cerr << (said = n) << " of " << sweep.plan.points.size() << " points finished\n";
        for (int i = 0; i < 20 && !ids.empty() && !stopSweep; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (stopSweep) {
        std::cerr << "stopped waiting; the jobs go on (squeue, scancel)\n";
        return 130;
    }
    printTable(sweep);
    const int n = finishedPoints(sweep);
    std::cerr << n << " of " << sweep.plan.points.size() << " points finished"
              << (n < int(sweep.plan.points.size()) ? "; the jobs' logs: " + sweep.dir + "/slurm/logs/" : "")
              << "\n";
    return n == int(sweep.plan.points.size()) ? 0 : 1;
}

int runOnSlurm(const SweepFolder &sweep, const SweepCommand &c)
{
    SlurmOptions o;
    o.runner = c.runner;
    o.partition = c.partition;
    o.timeLimit = c.timeLimit;
    o.cpusPerTask = c.cpusPerTask;
    o.gpusPerTask = c.gpusPerTask;
    o.extraLines = c.sbatchLines;
    std::vector<SlurmJob> jobs;
    try {
        jobs = submitSweepToSlurm(sweep, o);
    } catch (const SlurmError &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 3;
    }
    if (jobs.empty()) {
        std::cerr << "every point has finished: nothing submitted\n";
        printTable(sweep);
        return 0;
    }
    std::string ids;
    for (const auto &j : jobs) {
        std::string after;
        for (const auto &id : j.after)
            after += (after.empty() ? ", after job" + std::string(j.after.size() > 1 ? "s " : " ") : ", ") + id;
        std::printf("submitted %s: job %s, %zu point%s%s\n", j.name.c_str(), j.id.c_str(), j.points.size(),
                    j.points.size() == 1 ? "" : "s", after.c_str());
        ids += (ids.empty() ? "" : ",") + j.id;
    }
    std::printf("job ids: %s/slurm/jobs.json\nfollow it with: squeue -j %s\n"
                "  distillery-run --list-runs %s --filter \"sweep = '%s'\"\n",
                sweep.dir.c_str(), ids.c_str(), sweep.workspace.c_str(), sweep.id.c_str());
    std::fflush(stdout);
    if (!c.wait)
        return 0;
    std::signal(SIGINT, onSweepSignal);
    std::signal(SIGTERM, onSweepSignal);
    return waitForSlurm(sweep, jobs, o);
}

} // namespace

int runSweepCommand(const SweepCommand &c)
{
    const bool slurmOptions = !c.partition.empty() || !c.timeLimit.empty() || c.cpusPerTask || c.gpusPerTask ||
                              !c.sbatchLines.empty() || c.wait;
    if (c.backend != "slurm" && slurmOptions) {
        std::cerr << "error: --partition, --time, --cpus-per-task, --gpus-per-task, --sbatch-line and --wait "
                     "go with --backend slurm\n";
        return 2;
    }
    SweepFolder sweep;
    try {
        sweep = openOrCreate(c);
    } catch (const ConfigError &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    }
    if (c.backend == "slurm") {
        std::cerr << "sweep folder: " << sweep.dir << "\n" << sweep.plan.points.size() << " runs\n";
        return runOnSlurm(sweep, c);
    }
    const auto [jobs, threads] =
        sweepParallelism(int(std::max(1u, std::thread::hardware_concurrency())), c.jobs, c.threadsPerJob);
    const auto &plan = sweep.plan;
    std::cerr << "sweep folder: " << sweep.dir << "\n"
              << plan.points.size() << " runs; teacher" << (plan.teachersTrained() == 1 ? "" : "s") << " trained: "
              << plan.teachersTrained() << ", baselines trained: " << plan.baselinesTrained() << "; " << jobs
              << " at a time, " << threads << " thread" << (threads == 1 ? "" : "s") << " each\n";
    std::signal(SIGINT, onSweepSignal);
    std::signal(SIGTERM, onSweepSignal);
    LocalSweepOptions o;
    o.runner = c.runner;
    o.jobs = c.jobs;
    o.threadsPerJob = c.threadsPerJob;
    o.stop = &stopSweep;
    o.progress = [&](const SweepProgress &p) {
        if (p.state == PointState::Waiting)
            return;
        std::cerr << "[p" << p.point << "] " << pointStateName(p.state) << ": "
                  << (p.state == PointState::Running ? plan.points[std::size_t(p.point)].label() : p.message) << "\n";
    };
    const SweepOutcome out = runSweepLocally(sweep, o);
    printTable(sweep);
    std::cerr << out.finished << " of " << plan.points.size() << " points finished";
    if (out.failed || out.skipped)
        std::cerr << ", " << out.failed << " failed, " << out.skipped << " skipped";
    std::cerr << (out.stopped ? "; stopped: distillery-run --resume-sweep " + sweep.dir + " continues it" : "")
              << "\n";
    if (out.stopped)
        return 130;
    return out.failed || out.skipped ? 1 : 0;
}
