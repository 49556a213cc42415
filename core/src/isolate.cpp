#include "isolate.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

// Where an installed helper lives, relative to the executables (CMake passes
// the install layout; this default is GNU's).
#ifndef DISTILLERY_HELPER_FROM_BIN
#define DISTILLERY_HELPER_FROM_BIN "../libexec/distillery"
#endif

namespace distillery {

namespace fs = std::filesystem;

std::string modelFileChecker()
{
    if (const char *set = std::getenv("DISTILLERY_CHECK_HELPER"); set && *set)
        return set;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec)
        return {};
    const fs::path dir = exe.parent_path();
    for (const fs::path &candidate :
         {dir / "distillery-check", (dir / DISTILLERY_HELPER_FROM_BIN / "distillery-check").lexically_normal()})
        if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0)
            return candidate.string();
    return {};
}

namespace detail {

namespace {

// Waits for the reader process, killing it at the deadline. Returns a timeout
// message, or "" with its wait status in `status`.
std::string waitForReader(pid_t pid, int timeoutSeconds, int &status)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid)
            return {};
        if (done < 0) {
            status = 0; // not ours to wait for (SIGCHLD ignored): nothing to report
            return {};
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return "reading it did not finish in " + std::to_string(timeoutSeconds) + " s";
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

// What the reader's end says about the file. Exit status 0 (accepted) and 1
// (the reader threw) are its normal ends, in the helper and a forked child.
std::string describeEnd(int status)
{
    if (WIFSIGNALED(status))
        return std::string("LibTorch's reader crashed on it (") + ::strsignal(WTERMSIG(status)) + ")";
    if (WIFEXITED(status) && WEXITSTATUS(status) > 1)
        return "LibTorch's reader ended the process on it (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
    return {};
}

// What the reader process writes to the pipe: kStarted when its main() begins,
// then, if the reader threw, its message (exit status 1).
constexpr const char *kStarted = "reading\n";
constexpr std::size_t kMessageLimit = 4096;

// All that is in the pipe (whose writers have ended), up to the limit.
std::string drain(int fd)
{
    std::string text;
    char chunk[512];
    ssize_t n = 0;
    while (text.size() < kMessageLimit && (n = ::read(fd, chunk, sizeof chunk)) > 0)
        text.append(chunk, std::size_t(n));
    return text;
}

// The read in the helper, started with posix_spawn: a new process image, so no
// lock another thread of this process holds can be inherited. Without the
// started line the helper itself did not run (a missing library, say), and
// `started` is false, so the caller reads another way rather than blame the file.
std::string readInHelper(const std::string &helper, ModelFileKind kind, const std::string &path, int timeoutSeconds,
                         bool &started, std::string &readerError)
{
    started = false;
    int marker[2];
    if (::pipe2(marker, O_CLOEXEC | O_NONBLOCK) != 0)
        return {};
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(&actions, marker[1], 1);
    ::posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    std::string program = helper;
    std::string kindArg = kind == ModelFileKind::Checkpoint ? "checkpoint" : "torchscript";
    std::string pathArg = path;
    char *argv[] = {program.data(), kindArg.data(), pathArg.data(), nullptr};
    pid_t pid = 0;
    const int spawned = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ::close(marker[1]);
    if (spawned != 0) {
        ::close(marker[0]);
        return {};
    }
    int status = 0;
    const std::string timeout = waitForReader(pid, timeoutSeconds, status);
    const std::string said = drain(marker[0]);
    ::close(marker[0]);
    started = said.rfind(kStarted, 0) == 0;
    if (!started)
        return {};
    if (!timeout.empty())
        return timeout;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
        readerError = said.substr(std::strlen(kStarted));
    return describeEnd(status);
}

// Without a helper: the read in a forked copy of this process. Only safe while
// no other thread is inside LibTorch (a lock it holds at the fork stays held
// in the child forever), as in the fuzz targets.
std::string readInFork(ModelFileKind kind, const std::string &path, int timeoutSeconds, std::string &readerError)
{
    int message[2];
    if (::pipe2(message, O_CLOEXEC | O_NONBLOCK) != 0)
        return {};
    const pid_t pid = ::fork();
    if (pid < 0) { // cannot fork: read in this process, as without the check
        ::close(message[0]);
        ::close(message[1]);
        return {};
    }
    if (pid == 0) {
        // The child: plain signal handling (no sanitizer or fuzzer handler
        // reporting from here), then the read, then out without clean-up.
        for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL})
            std::signal(sig, SIG_DFL);
        at::set_num_threads(1); // OpenMP's pool does not survive fork(); stay on this thread
        std::string error;
        if (readModelFileUnguarded(kind, path, &error))
            ::_exit(0);
        error.resize(std::min(error.size(), kMessageLimit));
        const ssize_t written = ::write(message[1], error.data(), error.size());
        ::_exit(written >= 0 ? 1 : 0);
    }
    ::close(message[1]);
    int status = 0;
    const std::string timeout = waitForReader(pid, timeoutSeconds, status);
    const std::string said = drain(message[0]);
    ::close(message[0]);
    if (!timeout.empty())
        return timeout;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
        readerError = said;
    return describeEnd(status);
}

} // namespace

std::string crashOfRead(ModelFileKind kind, const std::string &path, std::string *readerError, int timeoutSeconds)
{
    std::string error;
    std::string crash;
    bool started = false;
    if (const std::string helper = modelFileChecker(); !helper.empty())
        crash = readInHelper(helper, kind, path, timeoutSeconds, started, error);
    if (!started)
        crash = readInFork(kind, path, timeoutSeconds, error);
    if (readerError)
        *readerError = error;
    return crash;
}

} // namespace detail
} // namespace distillery
