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

using detail::putAll;

constexpr char kMagic[8] = {'D', 'S', 'T', 'L', 'O', 'G', 'I', 'T'};
constexpr std::uint32_t kVersion = 1;
constexpr std::int64_t kHeader = detail::kAnalysisHeader;
constexpr std::int64_t kMaxClasses = std::int64_t(1) << 20;
constexpr std::int64_t kMaxRows = std::int64_t(1) << 36;

} // namespace

void writeAnalysisLogits(const std::string &path, const AnalysisLogits &z)
{
    if (z.indices.size() != std::size_t(z.rows) || z.labels.size() != std::size_t(z.rows) ||
        z.logits.size() != std::size_t(z.rows * z.classes))
        throw std::runtime_error(path + ": logits of inconsistent sizes, not written");
    std::string out = detail::analysisHeader(kMagic, kVersion, z.rows, z.classes, z.rows * 16 + z.rows * z.classes * 4);
    putAll(out, z.indices);
    putAll(out, z.labels);
    putAll(out, z.logits);
    detail::writeFileAtomically(path, out);
}

AnalysisLogits readAnalysisLogits(const std::string &path)
{
    auto [f, size, rows, classes] = detail::openAnalysisFile(path, kMagic, kVersion, "an analysis logits file");
    AnalysisLogits z;
    z.rows = rows;
    z.classes = classes;
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
    for (const auto i : z.indices)
        if (i < 0 || i >= kMaxRows)
            throw AnalysisError(path + ": damaged (an example index " + std::to_string(i) + ")");
    return z;
}

} // namespace distillery
