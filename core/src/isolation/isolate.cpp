#include "isolation/isolate.h"

#include "models/model_io.h"

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

// What a reader process writes to its standard output: kStarted once it runs,
// then, when the reader threw, its message. Its exit status: 0 the reader
// accepted the file, kRefused it threw; anything else, or a signal, is the
// file's doing (a sanitizer's report exits with 1, say).
constexpr const char *kStarted = "reading\n";
constexpr int kRefused = 3;
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

// Waits for the reader process and says what its end means: "" when it
// finished (with the reader's message in `refused` if it threw), else why it
// did not. `started` is false when it never said it runs: a helper that could
// not start (a missing library, say) must not be taken to blame the file.
std::string collect(pid_t pid, int output, int timeoutSeconds, bool &started, std::string &refused)
{
    int status = 0;
    const std::string timeout = waitForReader(pid, timeoutSeconds, status);
    const std::string said = drain(output);
    ::close(output);
    started = said.rfind(kStarted, 0) == 0;
    if (!started)
        return {};
    if (!timeout.empty())
        return timeout;
    if (WIFSIGNALED(status))
        return std::string("LibTorch's reader crashed on it (") + ::strsignal(WTERMSIG(status)) + ")";
    if (WIFEXITED(status) && WEXITSTATUS(status) == kRefused)
        refused = said.substr(std::strlen(kStarted));
    else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return "LibTorch's reader ended the process on it (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
    return {};
}

// The read in the helper, started with posix_spawn: a new process image, so no
// lock another thread of this process holds can be inherited.
std::string readInHelper(const std::string &helper, ModelFileKind kind, const std::string &path, int timeoutSeconds,
                         bool &started, std::string &refused)
{
    started = false;
    int output[2];
    if (::pipe2(output, O_CLOEXEC | O_NONBLOCK) != 0)
        return {};
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(&actions, output[1], 1);
    ::posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    std::string program = helper;
    std::string kindArg = kind == ModelFileKind::Checkpoint ? "checkpoint" : "torchscript";
    std::string pathArg = path;
    char *argv[] = {program.data(), kindArg.data(), pathArg.data(), nullptr};
    pid_t pid = 0;
    const int spawned = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ::close(output[1]);
    if (spawned != 0) {
        ::close(output[0]);
        return {};
    }
    return collect(pid, output[0], timeoutSeconds, started, refused);
}

// Without a helper: the helper's work in a forked copy of this process. Only
// safe while no other thread is inside LibTorch (a lock it holds at the fork
// stays held in the child forever), as in the fuzz targets.
std::string readInFork(ModelFileKind kind, const std::string &path, int timeoutSeconds, bool &started,
                       std::string &refused)
{
    started = false;
    int output[2];
    if (::pipe2(output, O_CLOEXEC | O_NONBLOCK) != 0)
        return {};
    const pid_t pid = ::fork();
    if (pid < 0) { // cannot fork: the caller reads in this process, as without the check
        ::close(output[0]);
        ::close(output[1]);
        return {};
    }
    if (pid == 0) {
        ::dup2(output[1], STDOUT_FILENO);
        at::set_num_threads(1); // OpenMP's pool does not survive fork(); stay on this thread
        ::_exit(runModelFileCheck(kind, path)); // out without clean-up
    }
    ::close(output[1]);
    return collect(pid, output[0], timeoutSeconds, started, refused);
}

} // namespace

std::string crashOfRead(ModelFileKind kind, const std::string &path, std::string *readerError, int timeoutSeconds)
{
    std::string refused;
    std::string crash;
    bool started = false;
    if (const std::string helper = modelFileChecker(); !helper.empty())
        crash = readInHelper(helper, kind, path, timeoutSeconds, started, refused);
    if (!started)
        crash = readInFork(kind, path, timeoutSeconds, started, refused);
    if (readerError)
        *readerError = refused;
    return crash;
}

} // namespace detail

int runModelFileCheck(ModelFileKind kind, const std::string &path)
{
    // A crash must end this process by its signal, which is how the caller
    // tells it from a refusal: no sanitizer's or fuzzer's handler reports it.
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL})
        std::signal(sig, SIG_DFL);
    // Straight to the descriptor: a forked child's stdio buffer may still hold
    // output of the application, which is not the caller's to read.
    auto say = [](const std::string &text) { return ::write(STDOUT_FILENO, text.data(), text.size()) == ssize_t(text.size()); };
    say(detail::kStarted);
    std::string error;
    if (detail::readModelFileUnguarded(kind, path, &error))
        return 0;
    error.resize(std::min(error.size(), detail::kMessageLimit));
    say(error);
    return detail::kRefused;
}

} // namespace distillery
