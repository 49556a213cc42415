#include "training/bias_correction.h"

#include "training/evaluation.h"

#include <algorithm>
#include <cmath>

namespace distillery::detail {

namespace {

torch::Tensor omittedMask(const std::vector<int> &classes, std::int64_t columns)
{
    auto mask = torch::zeros({columns}, torch::kBool);
    for (int c : classes)
        if (c < columns)
            mask[c] = true;
    return mask;
}

} // namespace

double chooseBiasShift(const torch::Tensor &logits, const torch::Tensor &labels, const std::vector<int> &classes)
{
    const auto z = logits.to(torch::kCPU, torch::kFloat);
    const auto y = labels.to(torch::kCPU, torch::kInt64);
    const auto mask = omittedMask(classes, z.size(1));
    const auto lowest = std::numeric_limits<float>::lowest();
    // Per example: the best kept and the best omitted class, and the shift
    // above which the omitted one wins (d = best kept − best omitted).
    const auto [keptBest, keptClass] = z.masked_fill(mask, lowest).max(1);
    const auto [omittedBest, omittedClass] = z.masked_fill(mask.logical_not(), lowest).max(1);
    const auto d = (keptBest - omittedBest).contiguous();
    const auto gains = omittedClass.eq(y).to(torch::kInt64) - keptClass.eq(y).to(torch::kInt64);
    // Sweep the shift up from 0: passing d_i changes the correct count by gains_i.
    std::vector<std::pair<float, std::int64_t>> events;
    const float *dp = d.data_ptr<float>();
    const std::int64_t *gp = gains.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < d.numel(); ++i)
        if (gp[i] != 0 && dp[i] >= 0)
            events.emplace_back(dp[i], gp[i]);
    std::sort(events.begin(), events.end());
    std::int64_t count = 0, best = 0;
    double from = 0.0, to = events.empty() ? 0.0 : events.front().first; // the best interval so far
    for (std::size_t i = 0; i < events.size(); ++i) {
        count += events[i].second;
        const bool last = i + 1 == events.size();
        if (!last && events[i + 1].first == events[i].first)
            continue; // one point, several examples
        if (count > best) {
            best = count;
            from = events[i].first;
            to = last ? events[i].first + 2.0 : events[i + 1].first;
        }
    }
    return best > 0 ? 0.5 * (from + to) : 0.0;
}

std::pair<double, double> shiftedAccuracy(const torch::Tensor &logits, const torch::Tensor &labels,
                                          const std::vector<int> &classes, double shift)
{
    const auto z = logits.to(torch::kCPU, torch::kFloat);
    const auto y = labels.to(torch::kCPU, torch::kInt64);
    const auto mask = omittedMask(classes, z.size(1));
    const auto correct = (z + mask.to(torch::kFloat) * shift).argmax(1).eq(y);
    const auto inOmitted = mask.index_select(0, y.clamp(0, z.size(1) - 1));
    const auto omittedCount = inOmitted.sum().item<std::int64_t>();
    const double omitted = omittedCount ? double(correct.logical_and(inOmitted).sum().item<std::int64_t>()) /
                                              double(omittedCount)
                                        : std::nan("");
    const double all = y.numel() ? correct.to(torch::kDouble).mean().item<double>() : std::nan("");
    return {omitted, all};
}

BiasCorrection correctOmittedBiases(Net &model, const LoadedData &data, const DataConfig &config,
                                    const torch::Device &device, Precision precision)
{
    torch::Tensor bias = model->outputBias();
    if (!bias.defined())
        throw std::runtime_error("data.omit_classes: the student's last layer has no bias to correct");
    const auto forward = [&](const torch::Tensor &x) { return model->forward(x); };
    BiasCorrection b;
    b.classes = config.omitClasses;
    std::sort(b.classes.begin(), b.classes.end());
    b.classes.erase(std::unique(b.classes.begin(), b.classes.end()), b.classes.end());
    const auto testLogits = logitsOf(forward, data.test, device, precision);
    b.chosen = !config.omittedBiasShift.has_value();
    if (b.chosen) {
        const Split &choice = data.validation.size() > 0 ? data.validation : data.test;
        const auto logits = &choice == &data.test ? testLogits : logitsOf(forward, choice, device, precision);
        b.shift = chooseBiasShift(logits, choice.y, b.classes);
    } else {
        b.shift = *config.omittedBiasShift;
    }
    std::tie(b.omittedAccuracyBefore, b.testAccuracyBefore) = shiftedAccuracy(testLogits, data.test.y, b.classes, 0.0);
    std::tie(b.omittedAccuracyAfter, b.testAccuracyAfter) = shiftedAccuracy(testLogits, data.test.y, b.classes, b.shift);
    torch::NoGradGuard guard;
    for (int c : b.classes)
        bias[c].add_(b.shift);
    return b;
}

} // namespace distillery::detail
