// analysis/<stage>.logits (docs/INSIGHT.md), little-endian:
//   offset  0  8 bytes  magic "DSTLOGIT"
//           8  uint32   version (1)
//          12  uint32   reserved (0)
//          16  int64    N, rows (examples)
//          24  int64    K, classes
//          32  int64    indices[N]    each row's example in the test split
//              int64    labels[N]     each row's true class
//              float32  logits[N·K]   row-major
#include "distillery/analysis.h"

#include "analysis/binary_io.h"
#include "runs/atomic_file.h"

#include <cstring>
#include <filesystem>
#include <fstream>

namespace distillery {

namespace {

using detail::get;
using detail::put;
using detail::putAll;

constexpr char kMagic[8] = {'D', 'S', 'T', 'L', 'O', 'G', 'I', 'T'};
constexpr std::uint32_t kVersion = 1;
constexpr std::int64_t kHeader = 32;
constexpr std::int64_t kMaxClasses = std::int64_t(1) << 20;
constexpr std::int64_t kMaxRows = std::int64_t(1) << 36;

} // namespace

void writeAnalysisLogits(const std::string &path, const AnalysisLogits &z)
{
    if (z.indices.size() != std::size_t(z.rows) || z.labels.size() != std::size_t(z.rows) ||
        z.logits.size() != std::size_t(z.rows * z.classes))
        throw std::runtime_error(path + ": logits of inconsistent sizes, not written");
    std::string out;
    out.reserve(std::size_t(kHeader + z.rows * 16 + z.rows * z.classes * 4));
    out.append(kMagic, sizeof kMagic);
    put(out, kVersion);
    put(out, std::uint32_t(0));
    put(out, z.rows);
    put(out, z.classes);
    putAll(out, z.indices);
    putAll(out, z.labels);
    putAll(out, z.logits);
    detail::writeFileAtomically(path, out);
}

AnalysisLogits readAnalysisLogits(const std::string &path)
{
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec)
        throw AnalysisError(path + ": cannot read (" + ec.message() + ")");
    std::ifstream f(path, std::ios::binary);
    char header[kHeader];
    if (!f || std::int64_t(size) < kHeader || !f.read(header, kHeader))
        throw AnalysisError(path + ": not an analysis logits file (shorter than its 32-byte header)");
    if (std::memcmp(header, kMagic, sizeof kMagic) != 0)
        throw AnalysisError(path + ": not an analysis logits file (bad magic)");
    if (const auto v = get<std::uint32_t>(header + 8); v != kVersion)
        throw AnalysisError(path + ": version " + std::to_string(v) + " is not known (this program reads 1)");
    AnalysisLogits z;
    z.rows = get<std::int64_t>(header + 16);
    z.classes = get<std::int64_t>(header + 24);
    if (z.rows < 0 || z.rows > kMaxRows || z.classes < 1 || z.classes > kMaxClasses)
        throw AnalysisError(path + ": damaged header (" + std::to_string(z.rows) + " rows of " +
                            std::to_string(z.classes) + " classes)");
    const std::int64_t expected = kHeader + z.rows * 16 + z.rows * z.classes * 4;
    if (std::int64_t(size) != expected)
        throw AnalysisError(path + ": " + std::to_string(size) + " bytes where the header's " +
                            std::to_string(z.rows) + " rows of " + std::to_string(z.classes) + " classes need " +
                            std::to_string(expected) + (std::int64_t(size) < expected ? " (truncated)" : ""));
    z.indices.resize(std::size_t(z.rows));
    z.labels.resize(std::size_t(z.rows));
    z.logits.resize(std::size_t(z.rows * z.classes));
    f.read(reinterpret_cast<char *>(z.indices.data()), std::streamsize(z.rows * 8));
    f.read(reinterpret_cast<char *>(z.labels.data()), std::streamsize(z.rows * 8));
    f.read(reinterpret_cast<char *>(z.logits.data()), std::streamsize(z.rows * z.classes * 4));
    if (!f)
        throw AnalysisError(path + ": cannot read (truncated while reading)");
    for (const auto y : z.labels)
        if (y < 0 || y >= z.classes)
            throw AnalysisError(path + ": damaged (a label " + std::to_string(y) + " outside [0, " +
                                std::to_string(z.classes) + "))");
    return z;
}

} // namespace distillery
