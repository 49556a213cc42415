#include "training/schedule.h"

#include <algorithm>
#include <cmath>

namespace distillery::detail {

double learningRate(const TrainConfig &t, double epochPos)
{
    if (t.warmupEpochs > 0 && epochPos < t.warmupEpochs)
        return t.lr * epochPos / t.warmupEpochs;
    if (t.schedule == "step")
        return t.lr * std::pow(t.gamma, std::floor(epochPos / t.stepEpochs));
    if (t.schedule == "cosine") {
        const double span = t.epochs - t.warmupEpochs;
        const double progress = span > 0 ? (epochPos - t.warmupEpochs) / span : 1.0;
        return t.lr * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
    }
    return t.lr;
}

} // namespace distillery::detail
