// The distillation stage's settings as they stand (internal to core): the
// experiment's T, α and method parameters, the schedules' values at each
// step, and the changes made while the stage trains (Engine::
// requestSettingChange), which are recorded and, on resume, made again at
// the steps they were made, so a resumed run reproduces the uninterrupted one.
#pragma once

#include "distillery/events.h"
#include "distillery/experiment.h"
#include "methods/method.h"
#include "runs/run_recorder.h"
#include "training/run_control.h"

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace distillery::detail {

class LiveSettings {
public:
    LiveSettings(const DistillConfig &settings, DistillationMethod &method, RunRecorder &recorder,
                 RunControl &control, StageKind kind, int stageEpochs);

    // A resumed stage: the changes of its earlier sessions, made again at
    // their steps; those up to `keptStep` of a stage resumed mid-way are in
    // the kept metrics already and are not recorded twice.
    void replay(const std::vector<SettingChange> &changes, bool midStage, std::int64_t keptStep);
    // Before the step after `stepsDone`, `epochs` (fractions count) into the
    // stage: the changes due, then every scheduled setting's value, into the method.
    void beforeStep(int epoch, std::int64_t stepsDone, double epochs);
    const DistillConfig &settings() const { return settings_; }

private:
    void change(const SettingChange &c, bool record);

    DistillConfig settings_;
    DistillationMethod &method_;
    RunRecorder &recorder_;
    RunControl &control_;
    StageKind kind_;
    int stageEpochs_;
    std::deque<SettingChange> replays_;
    bool midStage_ = false;
    std::int64_t keptStep_ = 0;
};

} // namespace distillery::detail
