// Shared by the fuzz targets: the input as a file, for readers that take paths.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace fuzz {

// Writes the input to `path`, replacing it.
inline void writeFile(const std::string &path, const std::uint8_t *data, std::size_t size)
{
    std::FILE *f = std::fopen(path.c_str(), "wb");
    if (!f)
        __builtin_trap(); // the fuzzing machine itself is broken
    if (size)
        std::fwrite(data, 1, size, f);
    std::fclose(f);
}

// Writes the input to a per-process scratch file and returns its path.
inline std::string asFile(const std::uint8_t *data, std::size_t size, const char *suffix = "")
{
    static const std::string base = "/tmp/distillery-fuzz-" + std::to_string(::getpid());
    const std::string path = base + suffix;
    writeFile(path, data, size);
    return path;
}

inline std::string asText(const std::uint8_t *data, std::size_t size)
{
    return std::string(reinterpret_cast<const char *>(data), size);
}

} // namespace fuzz
