#include "training/run_control.h"

#include "distillery/methods.h"

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

void RunControl::waitWhilePaused(std::chrono::milliseconds limit)
{
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_for(lock, limit, [&] { return !pause_.load() || stop_.load(); });
}

void RunControl::setSettings(const DistillConfig &settings)
{
    std::lock_guard<std::mutex> lock(changesMutex_);
    settings_ = settings;
}

void RunControl::dropChanges()
{
    std::lock_guard<std::mutex> lock(changesMutex_);
    changes_.clear();
    delivered_.clear();
    anyChange_ = false;
}

std::string RunControl::requestChange(const std::string &key, double value)
{
    std::lock_guard<std::mutex> lock(changesMutex_);
    if (const auto problem = settingProblem(settings_, key, value); !problem.empty())
        return key + ": " + problem;
    changes_.emplace_back(key, value);
    anyChange_ = true;
    return {};
}

std::vector<std::pair<std::string, double>> RunControl::takeChanges()
{
    return shared_ ? std::exchange(delivered_, {}) : takeRequested();
}

std::vector<std::pair<std::string, double>> RunControl::takeRequested()
{
    if (!anyChange_.load()) // the common case costs one atomic load a step
        return {};
    std::lock_guard<std::mutex> lock(changesMutex_);
    anyChange_ = false;
    return std::exchange(changes_, {});
}

} // namespace distillery::detail
