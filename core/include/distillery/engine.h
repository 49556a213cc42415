// The engine: runs an experiment's pipeline (teacher, baseline, distillation)
// on the calling thread, reporting to an observer. Pause, resume and stop may be
// requested from any other thread; they take effect between training steps.
#pragma once

#include "distillery/distributed.h"
#include "distillery/events.h"
#include "distillery/experiment.h"

#include <memory>
#include <string>

namespace distillery {

struct EngineOptions {
    std::string workspace = "workspace"; // runs go to <workspace>/runs/<time>-<name>/
    // Continue this stopped, failed or interrupted run from its last checkpoint
    // instead of starting a new one. The run's own config.json is used; the
    // experiment given to the engine is ignored. Finished stages are not
    // trained again, and the metrics file keeps each epoch once.
    std::string resumeRunDir;
    // A new run's folder, exactly, instead of <workspace>/runs/<time>-<name>/
    // (a sweep's points): refused when it exists.
    std::string runDir;
    // This process's place in a run over several processes (from
    // processGroupFromEnvironment); one process when inactive.
    ProcessGroupSpec group;
    // distillery-run, which a run of distributed.processes > 1 started here
    // starts the other ranks with (this process is rank 0).
    std::string runner;
};

class Engine {
public:
    Engine(Experiment experiment, EngineOptions options);
    ~Engine();
    Engine(const Engine &) = delete;
    Engine &operator=(const Engine &) = delete;

    // Runs to the end, a stop request, or an error. Never throws: errors reach the
    // observer (errorOccurred) and the result (status Failed, or Invalid for bad
    // input found before any training: config, data, architecture, workspace).
    RunResult run(RunObserver &observer);

    // Thread-safe and non-blocking.
    void requestPause();
    void requestResume();
    void requestStop();
    bool pauseRequested() const;
    bool stopRequested() const;
    // Changes a distillation setting ("temperature", "alpha" or a parameter
    // of the method: adjustableSettings in methods.h) while the run trains.
    // It takes effect at the distillation stage's next step (its first, when
    // that stage has not begun), is recorded in metrics.jsonl and reported
    // (RunObserver::settingChanged), and a resumed run replays it at the same
    // step; a scheduled setting keeps the value from then on. Returns why it
    // cannot be made (an unknown key, a value out of range), or "".
    // Thread-safe and non-blocking.
    std::string requestSettingChange(const std::string &key, double value);

private:
    struct Private;
    std::unique_ptr<Private> d;
};

// "cuda" when LibTorch sees a CUDA device, else "cpu".
bool cudaAvailable();
// Whether precision fp16 runs here: on a CUDA device, or on the CPU where
// LibTorch's CPU autocast has float16 (2.x; not 1.13).
bool float16Available();
// Whether this build runs linear layers on the CPU through oneDNN's matrix
// multiply (with libdnnl-dev at build time) rather than LibTorch's (OpenBLAS).
bool oneDnnLinearLayers();
// The number of threads the engine uses for `requested` (0: all cores).
int effectiveThreads(int requested);
std::string libtorchVersion();

} // namespace distillery
