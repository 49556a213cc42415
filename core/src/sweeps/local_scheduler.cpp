// Running a sweep's points on this machine: distillery-run processes, K at a
// time, each started once the points it takes the teacher or baseline from
// have finished. The run folders say what is done, so a killed sweep resumes.
#include "distillery/sweep.h"

#include "distillery/runs.h"
#include "support/last_line.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace distillery {

namespace fs = std::filesystem;

const char *pointStateName(PointState s)
{
    switch (s) {
    case PointState::Waiting: return "waiting";
    case PointState::Running: return "running";
    case PointState::Finished: return "finished";
    case PointState::Failed: return "failed";
    case PointState::Skipped: return "skipped";
    }
    return "?";
}

std::pair<int, int> sweepParallelism(int cores, int jobs, int threadsPerJob)
{
    cores = std::max(1, cores);
    if (jobs <= 0)
        jobs = threadsPerJob > 0 ? std::max(1, cores / threadsPerJob) : std::clamp(cores, 1, 8);
    if (threadsPerJob <= 0)
        threadsPerJob = std::max(1, cores / jobs);
    return {jobs, threadsPerJob};
}

namespace {

// A child process: stdout to /dev/null, stderr to `log`; it gets SIGTERM
// (and stops at a checkpoint) if the sweep process dies.
pid_t launch(const std::vector<std::string> &args, const std::string &log)
{
    std::vector<char *> argv;
    for (const auto &a : args)
        argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid != 0)
        return pid;
    // In the child: async-signal-safe calls only, then exec.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(126);
    const int null = open("/dev/null", O_RDWR);
    const int err = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
    }
    if (err >= 0)
        dup2(err, 2);
    execv(argv[0], argv.data());
    _exit(127);
}

class LocalSweep {
public:
    LocalSweep(const SweepFolder &s, const LocalSweepOptions &o) : s_(s), o_(o), dirs_(s.runDirs())
    {
        const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
        std::tie(jobs_, threads_) = sweepParallelism(cores, o.jobs, o.threadsPerJob);
        cores_ = o.threadsPerJob > 0 ? jobs_ * o.threadsPerJob : cores;
        state_.assign(s.plan.points.size(), PointState::Waiting);
    }

    SweepOutcome run()
    {
        for (std::size_t i = 0; i < state_.size(); ++i)
            if (fs::exists(fs::path(dirs_[i]) / "summary.json") &&
                readRunInfo(dirs_[i]).status == RunStatus::Finished)
                settle(int(i), PointState::Finished, accuracyText(int(i)));
        bool stopping = false;
        for (;;) {
            if (o_.stop && o_.stop->load() && !stopping) {
                stopping = true;
                for (const auto &[pid, point] : running_)
                    kill(pid, SIGINT);
            }
            if (!stopping)
                startReady();
            if (running_.empty())
                break;
            reap();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        SweepOutcome out;
        out.stopped = stopping;
        for (PointState st : state_) {
            out.finished += st == PointState::Finished;
            out.failed += st == PointState::Failed;
            out.skipped += st == PointState::Skipped;
        }
        return out;
    }

private:
    void settle(int point, PointState st, const std::string &message)
    {
        state_[std::size_t(point)] = st;
        if (o_.progress)
            o_.progress({point, st, message});
    }

    std::string accuracyText(int point) const
    {
        const RunInfo info = readRunInfo(dirs_[std::size_t(point)]);
        char text[96];
        std::snprintf(text, sizeof text, "student %.2f%%, baseline %.2f%%", 100 * info.studentTestAccuracy,
                      100 * info.baselineTestAccuracy);
        return info.baselineTestAccuracy < 0 ? std::string(text, std::strchr(text, ',')) : text;
    }

    // Waiting for a point it takes something from, or why it cannot run at all ("").
    bool blocked(const SweepPoint &p, std::string &why) const
    {
        for (const int from : {p.teacherFrom, p.baselineFrom}) {
            if (from < 0)
                continue;
            const PointState st = state_[std::size_t(from)];
            if (st == PointState::Failed || st == PointState::Skipped) {
                why = "the point it takes its " + std::string(from == p.teacherFrom ? "teacher" : "baseline") +
                      " from (" + std::to_string(from) + ") did not finish";
                return true;
            }
            if (st != PointState::Finished)
                return true;
        }
        return false;
    }

    void startReady()
    {
        for (const auto &p : s_.plan.points) {
            if (int(running_.size()) >= jobs_)
                return;
            if (state_[std::size_t(p.index)] != PointState::Waiting)
                continue;
            std::string why;
            if (blocked(p, why)) {
                if (!why.empty())
                    settle(p.index, PointState::Skipped, why);
                continue;
            }
            start(p.index);
        }
    }

    void start(int point)
    {
        const std::string &dir = dirs_[std::size_t(point)];
        std::vector<std::string> args{o_.runner};
        if (fs::exists(fs::path(dir) / "summary.json")) {
            args.insert(args.end(), {"--resume", dir});
        } else {
            std::error_code ec;
            fs::remove_all(dir, ec); // made, but killed before its summary: nothing to keep
            Experiment e = pointExperiment(s_.plan, point, s_.id, dirs_);
            // A teacher's point runs before the others can: it shares the cores with the other teachers' alone.
            const int teachers = std::max(1, std::min(jobs_, s_.plan.teachersTrained()));
            e.threads = s_.plan.points[std::size_t(point)].teacherFrom < 0 && s_.plan.base.teacher.source == "train"
                            ? std::max(1, cores_ / teachers)
                            : threads_;
            saveExperiment(e, s_.pointFile(point));
            args.insert(args.end(), {s_.pointFile(point), "--workspace", s_.workspace, "--run-dir", dir});
        }
        const pid_t pid = launch(args, s_.logFile(point));
        if (pid < 0) {
            settle(point, PointState::Failed, "cannot start " + o_.runner);
            return;
        }
        running_[pid] = point;
        settle(point, PointState::Running, dir);
    }

    void reap()
    {
        for (auto it = running_.begin(); it != running_.end();) {
            int status = 0;
            if (waitpid(it->first, &status, WNOHANG) != it->first) {
                ++it;
                continue;
            }
            const int point = it->second;
            it = running_.erase(it);
            const std::string &dir = dirs_[std::size_t(point)];
            const bool finished =
                fs::exists(fs::path(dir) / "summary.json") && readRunInfo(dir).status == RunStatus::Finished;
            if (finished)
                settle(point, PointState::Finished, accuracyText(point));
            else if (o_.stop && o_.stop->load())
                settle(point, PointState::Waiting, "stopped; --resume-sweep continues it");
            else
                settle(point, PointState::Failed, detail::lastLine(s_.logFile(point)) + " (log: " + s_.logFile(point) + ")");
        }
    }

    const SweepFolder &s_;
    const LocalSweepOptions &o_;
    std::vector<std::string> dirs_;
    std::vector<PointState> state_;
    std::map<pid_t, int> running_;
    int jobs_ = 1, threads_ = 1, cores_ = 1;
};

} // namespace

SweepOutcome runSweepLocally(const SweepFolder &sweep, const LocalSweepOptions &options)
{
    return LocalSweep(sweep, options).run();
}

} // namespace distillery
