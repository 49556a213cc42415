// Pause and stop, requested from any thread, taken between training steps
// (internal to core). The engine's public requestPause/requestStop land here.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>

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

private:
    std::atomic<bool> pause_{false};
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
};

} // namespace distillery::detail
