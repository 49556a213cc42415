#include "sweep_command.h"

#include "distillery/runs.h"
#include "distillery/sweep.h"

#include <atomic>
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

std::string percentOrDash(double v)
{
    if (!(v >= 0))
        return "-";
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.2f%%", 100.0 * v);
    return buf;
}

void printTable(const SweepFolder &s)
{
    std::printf("%-6s %-52s %9s %9s %8s\n", "point", "settings", "student", "baseline", "gain");
    for (const auto &p : s.plan.points) {
        const RunInfo r = readRunInfo(s.runDir(p.index));
        char gain[16] = "-";
        if (r.studentTestAccuracy >= 0 && r.baselineTestAccuracy >= 0)
            std::snprintf(gain, sizeof gain, "%+.2f", 100.0 * (r.studentTestAccuracy - r.baselineTestAccuracy));
        std::printf("%-6d %-52s %9s %9s %8s\n", p.index, p.label().c_str(), percentOrDash(r.studentTestAccuracy).c_str(),
                    percentOrDash(r.baselineTestAccuracy).c_str(), gain);
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

} // namespace

int runSweepCommand(const SweepCommand &c)
{
    SweepFolder sweep;
    try {
        sweep = openOrCreate(c);
    } catch (const ConfigError &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
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
