#include "distributed/local_ranks.h"

#include "support/last_line.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

namespace distillery::detail {

namespace {

// The environment of rank `rank`: this process's, less any job variables, plus the job's.
std::vector<std::string> rankEnvironment(int rank, int processes, int port)
{
    static const char *const jobKeys[] = {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "LOCAL_WORLD_SIZE=",
                                          "MASTER_ADDR=", "MASTER_PORT=", "SLURM_STEP_NUM_TASKS="};
    std::vector<std::string> env;
    for (char **e = environ; e && *e; ++e) {
        bool job = false;
        for (const char *k : jobKeys)
            job = job || std::strncmp(*e, k, std::strlen(k)) == 0;
        if (!job)
            env.emplace_back(*e);
    }
    env.push_back("RANK=" + std::to_string(rank));
    env.push_back("WORLD_SIZE=" + std::to_string(processes));
    env.push_back("LOCAL_RANK=" + std::to_string(rank));
    env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(processes));
    env.push_back("MASTER_ADDR=127.0.0.1");
    env.push_back("MASTER_PORT=" + std::to_string(port));
    return env;
}

} // namespace

LocalRanks::LocalRanks(const std::string &runner, const std::vector<std::string> &args, int processes, int port,
                       const std::filesystem::path &logs)
{
    if (access(runner.c_str(), X_OK) != 0)
        throw std::runtime_error("distributed.processes: the runner that starts the other processes (" + runner +
                                 ") is missing or not executable");
    std::filesystem::create_directories(logs);
    for (int r = 1; r < processes; ++r) {
        Rank rank;
        rank.rank = r;
        rank.log = logs / ("rank-" + std::to_string(r) + ".log");
        const auto env = rankEnvironment(r, processes, port);
        std::vector<std::string> all{runner};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char *> argv, envp;
        for (const auto &a : all)
            argv.push_back(const_cast<char *>(a.c_str()));
        argv.push_back(nullptr);
        for (const auto &e : env)
            envp.push_back(const_cast<char *>(e.c_str()));
        envp.push_back(nullptr);
        const std::string log = rank.log.string();
        const pid_t parent = getpid();
        const pid_t pid = fork();
        if (pid < 0)
            throw std::runtime_error(std::string("distributed.processes: cannot start a process: ") + std::strerror(errno));
        if (pid == 0) {
            // In the child: async-signal-safe calls only, then exec.
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent)
                _exit(126);
            const int null = open("/dev/null", O_RDONLY);
            const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (null >= 0)
                dup2(null, 0);
            if (out >= 0) {
                dup2(out, 1);
                dup2(out, 2);
            }
            execve(argv[0], argv.data(), envp.data());
            _exit(127);
        }
        rank.pid = pid;
        ranks_.push_back(rank);
    }
}

LocalRanks::~LocalRanks()
{
    finish(0.0);
}

void LocalRanks::reap(bool block)
{
    for (auto &r : ranks_) {
        if (r.ended)
            continue;
        int status = 0;
        const pid_t got = waitpid(r.pid, &status, block ? 0 : WNOHANG);
        if (got == r.pid || (got < 0 && errno == ECHILD)) {
            r.ended = true;
            r.status = got == r.pid ? status : 0;
        }
    }
}

std::string LocalRanks::describeEnded()
{
    reap(false);
    std::string text;
    for (const auto &r : ranks_) {
        if (!r.ended || (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0))
            continue;
        std::string what = "rank " + std::to_string(r.rank) + " (process " + std::to_string(r.pid) + ") ";
        if (WIFSIGNALED(r.status))
            what += "was killed by signal " + std::to_string(WTERMSIG(r.status));
        else
            what += "ended with status " + std::to_string(WEXITSTATUS(r.status));
        const std::string last = lastLine(r.log);
        if (!last.empty())
            what += " (its last words: " + last + ")";
        text += (text.empty() ? "" : "; ") + what;
    }
    return text;
}

std::string LocalRanks::finish(double seconds)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    for (;;) {
        reap(false);
        bool running = false;
        for (const auto &r : ranks_)
            running = running || !r.ended;
        if (!running || std::chrono::steady_clock::now() >= deadline)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (auto &r : ranks_)
        if (!r.ended)
            kill(r.pid, SIGKILL);
    reap(true);
    return describeEnded();
}

std::vector<std::pair<int, pid_t>> LocalRanks::processes() const
{
    std::vector<std::pair<int, pid_t>> out;
    for (const auto &r : ranks_)
        out.emplace_back(r.rank, r.pid);
    return out;
}

int LocalRanks::freePort()
{
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw std::runtime_error(std::string("cannot open a socket: ") + std::strerror(errno));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    const bool ok = bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0 &&
                    getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) == 0;
    close(fd);
    if (!ok)
        throw std::runtime_error(std::string("cannot find a free port on 127.0.0.1: ") + std::strerror(errno));
    return ntohs(a.sin_port);
}

} // namespace distillery::detail
