#include "training/run_control.h"

namespace distillery::detail {

void RunControl::requestResume()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        pause_ = false;
    }
    wake_.notify_all();
}

void RunControl::requestStop()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
}

bool RunControl::betweenSteps(const std::function<void(bool)> &pausedChanged, bool *paused)
{
    const bool waits = pause_.load() && !stop_.load();
    if (paused)
        *paused = waits;
    if (waits) {
        pausedChanged(true);
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return !pause_.load() || stop_.load(); });
        }
        pausedChanged(false);
    }
    return stop_.load();
}

} // namespace distillery::detail
