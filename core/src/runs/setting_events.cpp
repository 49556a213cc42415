#include "runs/setting_events.h"

#include "distillery/runs.h"

namespace distillery {

std::string eventJson(const SettingChange &e)
{
    return nlohmann::json{{"event", "setting"}, {"stage", stageName(e.stage)}, {"epoch", e.epoch},
                          {"step", e.step},     {"key", e.key},                {"value", e.value}}
        .dump();
}

namespace detail {

SettingChange settingChangeFrom(const nlohmann::json &j)
{
    SettingChange c;
    const std::string stage = j.value("stage", std::string("student"));
    c.stage = stage == "teacher" ? StageKind::Teacher : stage == "baseline" ? StageKind::Baseline
                                                                            : StageKind::Distillation;
    c.epoch = j.value("epoch", 0);
    c.step = j.value("step", std::int64_t(0));
    c.key = j.at("key").get<std::string>();
    c.value = j.at("value").get<double>();
    return c;
}

} // namespace detail
} // namespace distillery
