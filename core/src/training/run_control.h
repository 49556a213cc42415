// Pause and stop, requested from any thread, taken between training steps
// (internal to core). The engine's public requestPause/requestStop land here.
#pragma once

#include "distillery/experiment.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace distillery::detail {

class RunControl {
public:
    // Thread-safe and non-blocking.
    void requestPause() { pause_ = true; }
    void requestResume();
    void requestStop();
    bool pauseRequested() const { return pause_.load(); }
    bool stopRequested() const { return stop_.load(); }

    // On the training thread, between steps: while a pause is requested (and
    // no stop), calls `pausedChanged(true)`, blocks until resumed or stopped,
    // then calls `pausedChanged(false)`. True when a stop was requested; false
    // when training goes on. `paused` tells whether it waited.
    bool betweenSteps(const std::function<void(bool)> &pausedChanged, bool *paused = nullptr);
    // Blocks while a pause is requested (and no stop), for at most `limit`.
    void waitWhilePaused(std::chrono::milliseconds limit);

    // Changes of distillation settings (T, α, a method's parameter), from
    // any thread: checked against the settings of the run (`setSettings`,
    // by the engine once it knows them) and queued; returns why one cannot
    // be made, or "". The distillation stage takes them between steps.
    void setSettings(const DistillConfig &settings);
    // Drops the changes requested and not yet taken (a run that ended; the
    // next generation of a chain starts with none).
    void dropChanges();
    std::string requestChange(const std::string &key, double value);
    std::vector<std::pair<std::string, double>> takeChanges();
    // A run over several processes: from now on takeChanges returns only the
    // changes delivered (those the processes agreed to make at this step),
    // and rank 0 takes the requested ones with takeRequested to share them.
    void shareChanges() { shared_ = true; }
    std::vector<std::pair<std::string, double>> takeRequested();
    // Appends: changes delivered before the distillation stage wait for its first step.
    void deliver(const std::vector<std::pair<std::string, double>> &changes)
    {
        delivered_.insert(delivered_.end(), changes.begin(), changes.end());
    }

private:
    std::atomic<bool> pause_{false};
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::mutex changesMutex_;
    DistillConfig settings_;
    std::vector<std::pair<std::string, double>> changes_;
    std::atomic<bool> anyChange_{false};
    bool shared_ = false;       // set before training starts; then read on the training thread only
    std::vector<std::pair<std::string, double>> delivered_;
};

} // namespace distillery::detail
