#include "isolate.h"

#include <chrono>
#include <csignal>
#include <cstring>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace distillery::detail {

std::string crashOfReadInChild(const std::function<void()> &read, int timeoutSeconds)
{
    const pid_t pid = ::fork();
    if (pid < 0)
        return {}; // cannot fork: read in this process, as without the check
    if (pid == 0) {
        // The child: plain signal handling (no sanitizer or fuzzer handler
        // reporting from here), then the read, then out without clean-up.
        for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL})
            std::signal(sig, SIG_DFL);
        try {
            read();
        } catch (...) {
        }
        ::_exit(0);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
    int status = 0;
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid)
            break;
        if (done < 0)
            return {};
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return "reading it did not finish in " + std::to_string(timeoutSeconds) + " s";
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (WIFSIGNALED(status))
        return std::string("LibTorch's reader crashed on it (") + ::strsignal(WTERMSIG(status)) + ")";
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return "LibTorch's reader ended the process on it (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
    return {};
}

} // namespace distillery::detail
