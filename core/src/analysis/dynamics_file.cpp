// analysis/<stage>.dynamics (docs/INSIGHT.md), little-endian:
//   offset  0  8 bytes  magic "DSTDYNAM"
//           8  uint32   version (1)
//          12  uint32   reserved (0)
//          16  int64    N, examples
//          24  int64    E, epochs
//          32  int64    train_rows[N]     each example's row in the training split
//              int64    labels[N]         each example's true class
//              float32  probability[E·N]  epoch-major; NaN: not trained on that epoch
//              uint8    correct[E·N]      1 right, 0 wrong, 255 not trained on
// and the data map computed from it.
#include "distillery/analysis.h"

#include "analysis/binary_io.h"
#include "runs/atomic_file.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace distillery {

namespace {

using detail::putAll;

constexpr char kMagic[8] = {'D', 'S', 'T', 'D', 'Y', 'N', 'A', 'M'};
constexpr std::uint32_t kVersion = 1;
constexpr std::int64_t kHeader = detail::kAnalysisHeader;
constexpr std::int64_t kMaxRows = std::int64_t(1) << 32;
constexpr std::int64_t kMaxEpochs = 1 << 20;

std::int64_t bytesFor(std::int64_t n, std::int64_t e)
{
    return kHeader + n * 16 + n * e * 5;
}

} // namespace

void writeTrainingDynamics(const std::string &path, const TrainingDynamics &d)
{
    const auto n = std::size_t(d.rows), cells = std::size_t(d.rows * d.epochs);
    if (d.trainRows.size() != n || d.labels.size() != n || d.probability.size() != cells ||
        d.correct.size() != cells)
        throw std::runtime_error(path + ": training dynamics of inconsistent sizes, not written");
    std::string out = detail::analysisHeader(kMagic, kVersion, d.rows, d.epochs, bytesFor(d.rows, d.epochs) - kHeader);
    putAll(out, d.trainRows);
    putAll(out, d.labels);
    putAll(out, d.probability);
    putAll(out, d.correct);
    detail::writeFileAtomically(path, out);
}

TrainingDynamics readTrainingDynamics(const std::string &path)
{
    auto [f, size, rows, epochs] = detail::openAnalysisFile(path, kMagic, kVersion, "a training dynamics file");
    TrainingDynamics d;
    d.rows = rows;
    d.epochs = epochs;
    if (d.rows < 0 || d.rows > kMaxRows || d.epochs < 0 || d.epochs > kMaxEpochs)
        throw AnalysisError(path + ": damaged header (" + std::to_string(d.rows) + " examples, " +
                            std::to_string(d.epochs) + " epochs)");
    const std::int64_t expected = bytesFor(d.rows, d.epochs);
    if (std::int64_t(size) != expected)
        throw AnalysisError(path + ": " + std::to_string(size) + " bytes where the header's " +
                            std::to_string(d.rows) + " examples over " + std::to_string(d.epochs) +
                            " epochs need " + std::to_string(expected) +
                            (std::int64_t(size) < expected ? " (truncated)" : ""));
    const auto n = std::size_t(d.rows), cells = std::size_t(d.rows * d.epochs);
    d.trainRows.resize(n);
    d.labels.resize(n);
    d.probability.resize(cells);
    d.correct.resize(cells);
    f.read(reinterpret_cast<char *>(d.trainRows.data()), std::streamsize(n * 8));
    f.read(reinterpret_cast<char *>(d.labels.data()), std::streamsize(n * 8));
    f.read(reinterpret_cast<char *>(d.probability.data()), std::streamsize(cells * 4));
    f.read(reinterpret_cast<char *>(d.correct.data()), std::streamsize(cells));
    if (!f)
        throw AnalysisError(path + ": cannot read (truncated while reading)");
    for (std::size_t i = 0; i < n; ++i)
        if (d.trainRows[i] < 0 || d.labels[i] < 0)
            throw AnalysisError(path + ": damaged (example " + std::to_string(i) + ": row " +
                                std::to_string(d.trainRows[i]) + ", class " + std::to_string(d.labels[i]) + ")");
    for (std::size_t i = 0; i < cells; ++i) {
        const float p = d.probability[i];
        const std::uint8_t c = d.correct[i];
        const bool unseen = c == TrainingDynamics::kUnseen;
        if ((unseen && !std::isnan(p)) || (!unseen && (c > 1 || !(p >= 0.0f && p <= 1.0f))))
            throw AnalysisError(path + ": damaged (epoch " + std::to_string(i / n + 1) + ", example " +
                                std::to_string(i % n) + ": probability " + std::to_string(p) + ", correct " +
                                std::to_string(int(c)) + ")");
    }
    return d;
}

DataMap dataMap(const TrainingDynamics &d)
{
    const auto n = std::size_t(d.rows);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    DataMap m;
    m.confidence.assign(n, nan);
    m.variability.assign(n, nan);
    m.correctness.assign(n, nan);
    std::vector<double> sum(n, 0.0), right(n, 0.0);
    std::vector<std::int64_t> seen(n, 0);
    for (std::int64_t e = 0; e < d.epochs; ++e)
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t at = std::size_t(e) * n + i;
            if (d.correct[at] == TrainingDynamics::kUnseen)
                continue;
            sum[i] += d.probability[at];
            right[i] += d.correct[at];
            ++seen[i];
        }
    for (std::size_t i = 0; i < n; ++i)
        if (seen[i] > 0) {
            m.confidence[i] = sum[i] / double(seen[i]);
            m.correctness[i] = right[i] / double(seen[i]);
        }
    // The spread in a second pass around the mean: exact where the running
    // sum of squares would cancel.
    std::vector<double> squares(n, 0.0);
    for (std::int64_t e = 0; e < d.epochs; ++e)
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t at = std::size_t(e) * n + i;
            if (d.correct[at] != TrainingDynamics::kUnseen) {
                const double dev = d.probability[at] - m.confidence[i];
                squares[i] += dev * dev;
            }
        }
    for (std::size_t i = 0; i < n; ++i)
        if (seen[i] > 0)
            m.variability[i] = std::sqrt(squares[i] / double(seen[i]));
    return m;
}

} // namespace distillery
