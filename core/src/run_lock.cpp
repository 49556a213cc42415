#include "run_lock.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <unistd.h>

namespace distillery::detail {

namespace {

long readPid(const std::string &path)
{
    std::ifstream in(path);
    long pid = 0;
    if (!(in >> pid) || pid <= 0)
        return 0;
    return pid;
}

bool alive(long pid)
{
    return pid > 0 && (::kill(pid_t(pid), 0) == 0 || errno == EPERM);
}

} // namespace

long RunLock::holder(const std::string &dir)
{
    const long pid = readPid(dir + "/lock");
    return alive(pid) ? pid : 0;
}

RunLock::RunLock(const std::string &dir) : path_(dir + "/lock")
{
    const std::string self = std::to_string(::getpid()) + "\n";
    for (int attempt = 0; attempt < 2; ++attempt) {
        const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd >= 0) {
            const bool ok = ::write(fd, self.data(), self.size()) == ssize_t(self.size());
            ::close(fd);
            if (!ok) {
                ::unlink(path_.c_str());
                throw std::runtime_error(path_ + ": cannot write the lock file: " + std::strerror(errno));
            }
            return;
        }
        if (errno != EEXIST)
            throw std::runtime_error(path_ + ": cannot create the lock file: " + std::strerror(errno));
        const long pid = readPid(path_);
        if (alive(pid))
            throw RunBusy(dir + " is in use by process " + std::to_string(pid) +
                          " (its lock file is " + path_ + "); wait for it to finish or stop it first");
        // Stale: its owner is gone. Remove it and try once more, so that two
        // processes taking over at the same time cannot both win.
        ::unlink(path_.c_str());
    }
    throw RunBusy(path_ + ": another process took the lock at the same time");
}

RunLock::~RunLock()
{
    ::unlink(path_.c_str());
}

} // namespace distillery::detail
