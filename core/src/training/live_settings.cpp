#include "training/live_settings.h"

#include "distillery/methods.h"

#include <algorithm>

namespace distillery::detail {

LiveSettings::LiveSettings(const DistillConfig &settings, DistillationMethod &method, RunRecorder &recorder,
                           RunControl &control, StageKind kind, int stageEpochs)
    : settings_(settings), method_(method), recorder_(recorder), control_(control), kind_(kind),
      stageEpochs_(stageEpochs)
{
}

void LiveSettings::replay(const std::vector<SettingChange> &changes, bool midStage, std::int64_t keptStep)
{
    replays_.assign(changes.begin(), changes.end());
    std::stable_sort(replays_.begin(), replays_.end(),
                     [](const SettingChange &a, const SettingChange &b) { return a.step < b.step; });
    midStage_ = midStage;
    keptStep_ = keptStep;
}

void LiveSettings::change(const SettingChange &c, bool record)
{
    setDistillSetting(settings_, c.key, c.value);
    settings_.schedules.erase(c.key); // a change fixes the value from here on
    if (record)
        recorder_.settingChanged(c);
}

void LiveSettings::beforeStep(int epoch, std::int64_t stepsDone, double epochs)
{
    bool changed = false;
    while (!replays_.empty() && replays_.front().step <= stepsDone) {
        change(replays_.front(), !(midStage_ && replays_.front().step <= keptStep_));
        replays_.pop_front();
        changed = true;
    }
    for (const auto &[key, value] : control_.takeChanges()) {
        change(SettingChange{kind_, epoch, stepsDone, key, value}, true);
        changed = true;
    }
    if (changed || !settings_.schedules.empty())
        method_.configure(settingsAt(settings_, epochs, stageEpochs_));
}

} // namespace distillery::detail
