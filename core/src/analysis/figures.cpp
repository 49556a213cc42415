// The figures of distillery/analysis.h, from logits and labels.
#include "distillery/analysis.h"

#include <algorithm>
#include <cmath>

namespace distillery {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::int64_t argmaxRow(const float *z, std::int64_t k)
{
    std::int64_t best = 0;
    for (std::int64_t j = 1; j < k; ++j)
        if (z[j] > z[best])
            best = j;
    return best;
}

// log softmax(z / T) of one row, in double.
void logSoftmax(const float *z, std::int64_t k, double temperature, std::vector<double> &out)
{
    out.resize(std::size_t(k));
    double top = -std::numeric_limits<double>::infinity();
    for (std::int64_t j = 0; j < k; ++j) {
        out[std::size_t(j)] = double(z[j]) / temperature;
        top = std::max(top, out[std::size_t(j)]);
    }
    double sum = 0.0;
    for (double v : out)
        sum += std::exp(v - top);
    const double logSum = top + std::log(sum);
    for (double &v : out)
        v -= logSum;
}

double klRow(const float *t, const float *m, std::int64_t k, double temperature, std::vector<double> &lt,
             std::vector<double> &lm)
{
    logSoftmax(t, k, temperature, lt);
    logSoftmax(m, k, temperature, lm);
    double kl = 0.0;
    for (std::size_t j = 0; j < lt.size(); ++j)
        kl += std::exp(lt[j]) * (lt[j] - lm[j]);
    return kl;
}

void checkSame(LogitsView a, LogitsView b)
{
    if (a.rows != b.rows || a.classes != b.classes)
        throw AnalysisError("logits of " + std::to_string(a.rows) + "×" + std::to_string(a.classes) + " and " +
                            std::to_string(b.rows) + "×" + std::to_string(b.classes) + " cannot be compared");
}

} // namespace

std::vector<std::int64_t> predictions(LogitsView z)
{
    std::vector<std::int64_t> out(std::size_t(z.rows));
    for (std::int64_t i = 0; i < z.rows; ++i)
        out[std::size_t(i)] = argmaxRow(z.row(i), z.classes);
    return out;
}

double agreement(LogitsView a, LogitsView b)
{
    checkSame(a, b);
    if (a.rows == 0)
        return kNaN;
    std::int64_t same = 0;
    for (std::int64_t i = 0; i < a.rows; ++i)
        same += argmaxRow(a.row(i), a.classes) == argmaxRow(b.row(i), b.classes);
    return double(same) / double(a.rows);
}

double meanKl(LogitsView teacher, LogitsView model, double temperature)
{
    checkSame(teacher, model);
    if (teacher.rows == 0)
        return kNaN;
    std::vector<double> lt, lm;
    double sum = 0.0;
    for (std::int64_t i = 0; i < teacher.rows; ++i)
        sum += klRow(teacher.row(i), model.row(i), teacher.classes, temperature, lt, lm);
    return sum / double(teacher.rows);
}

Calibration calibration(LogitsView z, const std::int64_t *labels, int bins)
{
    Calibration c;
    bins = std::max(bins, 1);
    std::vector<double> sumConf(std::size_t(bins), 0.0), sumRight(std::size_t(bins), 0.0);
    for (int b = 0; b < bins; ++b) {
        CalibrationBin bin;
        bin.lower = double(b) / bins;
        bin.upper = double(b + 1) / bins;
        c.bins.push_back(bin);
    }
    std::vector<double> lp;
    for (std::int64_t i = 0; i < z.rows; ++i) {
        logSoftmax(z.row(i), z.classes, 1.0, lp);
        const std::int64_t top = argmaxRow(z.row(i), z.classes);
        const double conf = std::exp(lp[std::size_t(top)]);
        // Bin b holds (b/M, (b+1)/M] (a row of non-finite logits: the first).
        const double at = std::ceil(conf * bins) - 1;
        const int b = std::isfinite(at) ? int(std::clamp(at, 0.0, double(bins - 1))) : 0;
        c.bins[std::size_t(b)].count += 1;
        sumConf[std::size_t(b)] += conf;
        sumRight[std::size_t(b)] += top == labels[i] ? 1.0 : 0.0;
    }
    if (z.rows == 0)
        return c;
    c.ece = 0.0;
    for (std::size_t b = 0; b < c.bins.size(); ++b) {
        auto &bin = c.bins[b];
        if (bin.count == 0)
            continue;
        bin.accuracy = sumRight[b] / double(bin.count);
        bin.confidence = sumConf[b] / double(bin.count);
        c.ece += double(bin.count) / double(z.rows) * std::abs(bin.accuracy - bin.confidence);
    }
    return c;
}

namespace {

// The mean over rows of f(log softmax(z) of the row, its label), at T = 1.
template <class F> double meanOverRows(LogitsView z, const std::int64_t *labels, F f)
{
    if (z.rows == 0)
        return kNaN;
    std::vector<double> lp;
    double sum = 0.0;
    for (std::int64_t i = 0; i < z.rows; ++i) {
        logSoftmax(z.row(i), z.classes, 1.0, lp);
        sum += f(lp, labels[i]);
    }
    return sum / double(z.rows);
}

} // namespace

double meanNll(LogitsView z, const std::int64_t *labels)
{
    return meanOverRows(z, labels, [](const std::vector<double> &lp, std::int64_t y) { return -lp[std::size_t(y)]; });
}

double brierScore(LogitsView z, const std::int64_t *labels)
{
    return meanOverRows(z, labels, [&](const std::vector<double> &lp, std::int64_t y) {
        double sum = 0.0;
        for (std::int64_t j = 0; j < z.classes; ++j) {
            const double d = std::exp(lp[std::size_t(j)]) - (j == y ? 1.0 : 0.0);
            sum += d * d;
        }
        return sum;
    });
}

std::vector<std::vector<double>> darkKnowledge(LogitsView z, const std::int64_t *labels, double temperature)
{
    const auto k = std::size_t(z.classes);
    std::vector<std::vector<double>> m(k, std::vector<double>(k, 0.0));
    std::vector<std::int64_t> counts(k, 0);
    std::vector<double> e(k);
    const double inverse = 1.0 / temperature;
    // softmax(z/T) with one exp per class (the Insight tab's slider recomputes
    // this at each move): exp((z_j − max z)/T) / Σ_k exp((z_k − max z)/T).
    for (std::int64_t i = 0; k > 0 && i < z.rows; ++i) {
        const float *row = z.row(i);
        const double top = double(*std::max_element(row, row + k));
        double sum = 0.0;
        for (std::size_t j = 0; j < k; ++j)
            sum += e[j] = std::exp((double(row[j]) - top) * inverse);
        const double scale = 1.0 / sum;
        const auto y = std::size_t(labels[i]);
        counts[y] += 1;
        std::vector<double> &out = m[y];
        for (std::size_t j = 0; j < k; ++j)
            out[j] += e[j] * scale;
    }
    for (std::size_t y = 0; y < k; ++y)
        for (double &v : m[y])
            v = counts[y] > 0 ? v / double(counts[y]) : kNaN;
    return m;
}

} // namespace distillery
