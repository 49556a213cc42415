#include "runs/atomic_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <unistd.h>

namespace distillery::detail {

namespace {
std::string errorText(const std::string &path, const char *what)
{
    return path + ": " + what + ": " + std::strerror(errno);
}

void syncFile(const std::string &path)
{
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0)
        throw std::runtime_error(errorText(path, "cannot open for sync"));
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0)
        throw std::runtime_error(errorText(path, "cannot flush to disk"));
}
} // namespace

void commitFile(const std::string &tmp, const std::string &path)
{
    syncFile(tmp);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string msg = errorText(path, "cannot replace");
        std::remove(tmp.c_str());
        throw std::runtime_error(msg);
    }
}

void writeFileAtomically(const std::string &path, const std::string &content, bool shared)
{
    const std::string tmp = path + (shared ? ".tmp." + std::to_string(getpid()) : std::string(".tmp"));
    std::FILE *f = std::fopen(tmp.c_str(), "wb");
    if (!f)
        throw std::runtime_error(errorText(path, "cannot write"));
    const bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
    const bool closed = std::fclose(f) == 0;
    if (!ok || !closed) {
        const std::string msg = errorText(path, "cannot write");
        std::remove(tmp.c_str());
        throw std::runtime_error(msg);
    }
    commitFile(tmp, path);
}

} // namespace distillery::detail
