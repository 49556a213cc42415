// The binary analysis files' shared parts (internal to core): a 32-byte
// header (8-byte magic, uint32 version, uint32 reserved, two int64 sizes)
// written and checked, and little-endian values appended to a byte string
// and read back from a buffer.
#pragma once

#include "distillery/analysis.h"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "analysis files are written in the host's byte order, which must be little-endian"
#endif

namespace distillery::detail {

template <class T> void put(std::string &out, const T &v)
{
    out.append(reinterpret_cast<const char *>(&v), sizeof v);
}

template <class T> void putAll(std::string &out, const std::vector<T> &v)
{
    out.append(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(T));
}

template <class T> T get(const char *p)
{
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

constexpr std::int64_t kAnalysisHeader = 32;

// The header, then room for `body` more bytes.
inline std::string analysisHeader(const char (&magic)[8], std::uint32_t version, std::int64_t a, std::int64_t b,
                                  std::int64_t body)
{
    std::string out;
    out.reserve(std::size_t(kAnalysisHeader + body));
    out.append(magic, sizeof magic);
    put(out, version);
    put(out, std::uint32_t(0));
    put(out, a);
    put(out, b);
    return out;
}

// An analysis file opened after its header was checked: magic and version.
// `a` and `b` are the header's two sizes, for the caller to check.
struct AnalysisFile {
    std::ifstream in;
    std::int64_t size = 0;
    std::int64_t a = 0, b = 0;
};

// Throws AnalysisError naming `path` and `what` ("analysis logits file").
inline AnalysisFile openAnalysisFile(const std::string &path, const char (&magic)[8], std::uint32_t version,
                                     const std::string &what)
{
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec)
        throw AnalysisError(path + ": cannot read (" + ec.message() + ")");
    AnalysisFile f{std::ifstream(path, std::ios::binary), std::int64_t(size)};
    char header[kAnalysisHeader];
    if (!f.in || f.size < kAnalysisHeader || !f.in.read(header, kAnalysisHeader))
        throw AnalysisError(path + ": not " + what + " (shorter than its 32-byte header)");
    if (std::memcmp(header, magic, sizeof magic) != 0)
        throw AnalysisError(path + ": not " + what + " (bad magic)");
    if (const auto v = get<std::uint32_t>(header + 8); v != version)
        throw AnalysisError(path + ": version " + std::to_string(v) + " is not known (this program reads " +
                            std::to_string(version) + ")");
    f.a = get<std::int64_t>(header + 16);
    f.b = get<std::int64_t>(header + 24);
    return f;
}

} // namespace distillery::detail
