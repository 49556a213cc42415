#include "runs/run_lock.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace distillery::detail {

namespace {

// When process `pid` started (clock ticks since boot, from /proc), or 0 where
// that cannot be read. With the pid it names one process, even after the pid
// has been reused.
unsigned long long startTime(long pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat))
        return 0;
    // Fields after the command name, which is in parentheses and may hold spaces.
    std::istringstream fields(stat.substr(stat.rfind(')') + 1));
    std::string field;
    for (int i = 3; i <= 22 && fields >> field; ++i)
        if (i == 22)
            return std::strtoull(field.c_str(), nullptr, 10);
    return 0;
}

struct Owner {
    long pid = 0;
    unsigned long long start = 0;
};

Owner readOwner(const std::string &path)
{
    std::ifstream in(path);
    Owner o;
    if (!(in >> o.pid) || o.pid <= 0)
        return {};
    if (!(in >> o.start))
        o.start = 0; // a lock that holds only a pid
    return o;
}

bool alive(const Owner &o)
{
    if (o.pid <= 0 || !(::kill(pid_t(o.pid), 0) == 0 || errno == EPERM))
        return false;
    const unsigned long long now = startTime(o.pid);
    return o.start == 0 || now == 0 || now == o.start;
}

} // namespace

long RunLock::holder(const std::string &dir)
{
    const Owner o = readOwner(dir + "/lock");
    return alive(o) ? o.pid : 0;
}

RunLock::RunLock(const std::string &dir) : path_(dir + "/lock")
{
    const std::string self = std::to_string(::getpid()) + " " + std::to_string(startTime(::getpid())) + "\n";
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
        const Owner owner = readOwner(path_);
        if (alive(owner))
            throw RunBusy(dir + " is in use by process " + std::to_string(owner.pid) +
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
