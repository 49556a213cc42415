// Running a sweep's points as Slurm jobs: the points grouped by what they
// wait for, a batch script per group (an array job of distillery-run
// --sweep-point), submitted with sbatch, each group after the ones it needs.
// A failed submission cancels what was submitted before it and says so.
#include "distillery/sweep.h"

#include "runs/atomic_file.h"
#include "distillery/runs.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace distillery {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Captured {
    bool started = false;               // false: the program could not be started (errno in `error`)
    int error = 0;
    int status = -1;                    // exit status (-1: killed by a signal)
    std::string out, err;
};

// Runs `args` (args[0] looked up in PATH), its stdin from /dev/null, and captures stdout and stderr.
Captured capture(const std::vector<std::string> &args)
{
    Captured c;
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0)
        return c.error = errno, c;
    if (pipe2(err, O_CLOEXEC) != 0) {
        c.error = errno;
        close(out[0]), close(out[1]);
        return c;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    std::vector<char *> argv;
    for (const auto &a : args)
        argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    c.error = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]), close(err[1]);
    c.started = c.error == 0;
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    std::string *text[2] = {&c.out, &c.err};
    for (int open = c.started ? 2 : 0; open > 0;) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[4096];
            const ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n > 0)
                text[i]->append(buf, std::size_t(n));
            else if (n == 0 || errno != EINTR)
                fds[i].fd = -1, --open;
        }
    }
    close(out[0]), close(err[0]);
    int status = 0;
    if (c.started && waitpid(pid, &status, 0) == pid)
        c.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return c;
}

std::string trimmed(std::string s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.pop_back();
    return s;
}

// A program's failure as one line: its own standard error, else its status.
std::string failure(const std::string &program, const Captured &c)
{
    if (!c.started && c.error == ENOENT)
        return program == "sbatch" ? "sbatch not found: is Slurm installed? (the local backend runs without it)"
                                   : program + " not found: is Slurm installed?";
    if (!c.started)
        return "cannot start " + program + ": " + std::strerror(c.error);
    std::string err = trimmed(c.err);
    std::replace(err.begin(), err.end(), '\n', ' ');
    return program + " failed" + (err.empty() ? " (exit status " + std::to_string(c.status) + ")" : ": " + err);
}

std::string quoted(const std::string &s)
{
    std::string q = "'";
    for (char ch : s)
        q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    return q + "'";
}

bool finished(const std::string &runDir)
{
    return fs::exists(fs::path(runDir) / "summary.json") && readRunInfo(runDir).status == RunStatus::Finished;
}

// The points a point waits for: those it takes its teacher or baseline from.
std::vector<int> needs(const SweepPlan &plan, const SweepPoint &p)
{
    std::vector<int> n;
    if (p.teacherFrom >= 0 && plan.base.teacher.source == "train")
        n.push_back(p.teacherFrom);
    if (p.baselineFrom >= 0 && plan.base.baseline)
        n.push_back(p.baselineFrom);
    return n;
}

std::string jobName(int level)
{
    static const char *names[] = {"teacher", "baselines", "points"};
    return level < 3 ? names[level] : "points-" + std::to_string(level + 1);
}

std::string slurmDir(const SweepFolder &s)
{
    return (fs::path(s.dir) / "slurm").string();
}

std::string mapFile(const SweepFolder &s, const SlurmJob &job)
{
    return (fs::path(slurmDir(s)) / (job.name + ".points")).string();
}

} // namespace

std::vector<SlurmJob> planSlurmJobs(const SweepFolder &sweep, const SlurmOptions &options)
{
    const auto &points = sweep.plan.points;
    // A point's level: 0 if it waits for no unfinished point, else one more than those it waits for.
    std::vector<int> level(points.size(), -1);
    std::vector<SlurmJob> jobs;
    for (const auto &p : points) { // a point waits only for points before it
        if (finished(sweep.runDir(p.index)))
            continue;
        int l = 0;
        for (int from : needs(sweep.plan, p))
            l = std::max(l, level.at(std::size_t(from)) + 1);
        level[std::size_t(p.index)] = l;
        if (int(jobs.size()) <= l)
            jobs.resize(std::size_t(l) + 1);
        jobs[std::size_t(l)].points.push_back(p.index);
    }
    jobs.erase(std::remove_if(jobs.begin(), jobs.end(), [](const SlurmJob &j) { return j.points.empty(); }),
               jobs.end());
    fs::create_directories(fs::path(slurmDir(sweep)) / "logs");
    for (auto &job : jobs) {
        job.name = jobName(level[std::size_t(job.points.front())]);
        job.script = (fs::path(slurmDir(sweep)) / (job.name + ".sbatch")).string();
        std::string map;
        for (int p : job.points)
            map += std::to_string(p) + "\n";
        detail::writeFileAtomically(mapFile(sweep, job), map);
        detail::writeFileAtomically(job.script, slurmScript(sweep, job, options));
    }
    return jobs;
}

std::string slurmScript(const SweepFolder &sweep, const SlurmJob &job, const SlurmOptions &o)
{
    std::ostringstream s;
    s << "#!/bin/bash\n"
      << "# Distillery sweep " << sweep.id << ": " << job.points.size() << " point"
      << (job.points.size() == 1 ? "" : "s") << "; array task i runs the point on line i+1 of "
      << fs::path(mapFile(sweep, job)).filename().string() << "\n"
      << "#SBATCH --job-name=" << job.name << "-" << sweep.id << "\n"
      << "#SBATCH --array=0-" << job.points.size() - 1 << "\n"
      << "#SBATCH --output=" << slurmDir(sweep) << "/logs/" << job.name << "-%a.log\n"
      << "#SBATCH --kill-on-invalid-dep=yes\n";
    if (!o.partition.empty())
        s << "#SBATCH --partition=" << o.partition << "\n";
    if (!o.timeLimit.empty())
        s << "#SBATCH --time=" << o.timeLimit << "\n";
    if (o.cpusPerTask > 0)
        s << "#SBATCH --cpus-per-task=" << o.cpusPerTask << "\n";
    if (o.gpusPerTask > 0)
        s << "#SBATCH --gpus-per-task=" << o.gpusPerTask << "\n";
    for (const auto &line : o.extraLines)
        if (!line.empty() && line[0] == '-')
            s << "#SBATCH " << line << "\n";
        else if (!line.empty() && line[0] == '#')
            s << line << "\n";
    for (const auto &line : o.extraLines)
        if (!line.empty() && line[0] != '-' && line[0] != '#')
            s << line << "\n";
    s << "exec " << quoted(o.runner) << " --sweep-point " << quoted(sweep.dir) << " --point array --point-map "
      << quoted(mapFile(sweep, job)) << "\n";
    return s.str();
}

namespace {

// Cancels the jobs submitted so far; what became of them, as words for the message.
std::string cancel(const std::vector<SlurmJob> &submitted, const SlurmOptions &o)
{
    if (submitted.empty())
        return "nothing was submitted";
    std::vector<std::string> args{o.scancel};
    std::string ids;
    for (const auto &j : submitted) {
        args.push_back(j.id);
        ids += (ids.empty() ? "" : ", ") + j.name + " " + j.id;
    }
    const Captured c = capture(args);
    if (c.started && c.status == 0)
        return submitted.size() == 1 ? "the job submitted before it (" + ids + ") was cancelled with scancel"
                                     : "the jobs submitted before it (" + ids + ") were cancelled with scancel";
    return "the jobs submitted before it (" + ids + ") could NOT be cancelled (" + failure("scancel", c) +
           "): cancel them yourself with scancel";
}

void writeJobsFile(const SweepFolder &sweep, const std::vector<SlurmJob> &jobs)
{
    json list = json::array();
    for (const auto &j : jobs)
        list.push_back({{"name", j.name}, {"id", j.id}, {"points", j.points}, {"after", j.after},
                        {"script", fs::relative(j.script, sweep.dir).string()}});
    detail::writeFileAtomically((fs::path(slurmDir(sweep)) / "jobs.json").string(),
                                json{{"version", 1}, {"jobs", list}}.dump(2) + "\n");
}

// The jobs a job waits for: those that run the points its points take something from.
std::vector<std::string> waitsFor(const SweepPlan &plan, const SlurmJob &job, const std::vector<SlurmJob> &before)
{
    std::set<int> from;
    for (int p : job.points)
        for (int n : needs(plan, plan.points[std::size_t(p)]))
            from.insert(n);
    std::vector<std::string> ids;
    for (const auto &b : before)
        if (std::any_of(b.points.begin(), b.points.end(), [&](int p) { return from.count(p) > 0; }))
            ids.push_back(b.id);
    return ids;
}

// Refuses to submit a sweep whose jobs from an earlier submission are still queued.
void checkNoneQueued(const SweepFolder &sweep, const SlurmOptions &o)
{
    std::ifstream in(fs::path(slurmDir(sweep)) / "jobs.json");
    const json j = in ? json::parse(in, nullptr, false) : json();
    std::vector<std::string> ids;
    if (j.is_object() && j.value("jobs", json()).is_array())
        for (const auto &job : j["jobs"])
            if (job.is_object() && job.value("id", json()).is_string())
                ids.push_back(job["id"].get<std::string>());
    if (ids.empty())
        return;
    std::string queued;
    for (const auto &id : slurmJobsQueued(ids, o))
        queued += (queued.empty() ? "" : ",") + id;
    if (!queued.empty())
        throw SlurmError("the sweep's jobs of an earlier submission are still queued (squeue -j " + queued +
                         "): wait for them to end, or cancel them with scancel " + queued + ", then submit again");
}

} // namespace

std::vector<SlurmJob> submitSweepToSlurm(const SweepFolder &sweep, const SlurmOptions &o)
{
    checkNoneQueued(sweep, o);
    std::vector<SlurmJob> jobs;
    try {
        jobs = planSlurmJobs(sweep, o);
    } catch (const std::exception &e) {
        throw SlurmError(std::string("cannot write the batch scripts: ") + e.what());
    }
    std::vector<SlurmJob> submitted;
    for (auto &job : jobs) {
        job.after = waitsFor(sweep.plan, job, submitted);
        std::vector<std::string> args{o.sbatch, "--parsable", "--chdir=" + sweep.dir};
        if (!job.after.empty()) {
            std::string dep = "--dependency=afterok";
            for (const auto &id : job.after)
                dep += ":" + id;
            args.push_back(dep);
        }
        args.push_back(job.script);
        const Captured c = capture(args);
        const std::string id = trimmed(c.out.substr(0, c.out.find(';')));
        const bool ok = c.started && c.status == 0 && !id.empty() &&
                        id.find_first_not_of("0123456789") == std::string::npos;
        if (!ok)
            throw SlurmError("submitting the " + job.name + " job (" + job.script + "): " +
                             (c.started && c.status == 0 ? "sbatch printed no job id: " + trimmed(c.out)
                                                         : failure("sbatch", c)) +
                             "; " + cancel(submitted, o));
        job.id = id;
        submitted.push_back(job);
    }
    try {
        writeJobsFile(sweep, submitted);
    } catch (const std::exception &e) {
        throw SlurmError(std::string("the jobs were submitted, but ") + e.what() + "; " + cancel(submitted, o));
    }
    return submitted;
}

std::vector<std::string> slurmJobsQueued(const std::vector<std::string> &ids, const SlurmOptions &o)
{
    std::string list;
    for (const auto &id : ids)
        list += (list.empty() ? "" : ",") + id;
    const Captured c = capture({o.squeue, "--noheader", "--states=all", "--format=%F %T", "--jobs=" + list});
    if (!c.started || (c.status != 0 && c.err.find("Invalid job id") == std::string::npos))
        throw SlurmError(failure("squeue", c));
    static const std::set<std::string> over = {"BOOT_FAIL", "CANCELLED", "COMPLETED",  "DEADLINE",
                                               "FAILED",    "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED",
                                               "TIMEOUT",   "REVOKED",   "SPECIAL_EXIT"};
    std::set<std::string> queued; // jobs with a task (or the pending rest of the array) not over
    std::istringstream in(c.out);
    for (std::string id, state; in >> id >> state;)
        if (!over.count(state))
            queued.insert(id);
    std::vector<std::string> left;
    for (const auto &id : ids)
        if (queued.count(id))
            left.push_back(id);
    return left;
}

} // namespace distillery
