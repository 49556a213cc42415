// The "setting" event of metrics.jsonl (internal to core): a distillation
// setting changed while the student trained (distillery/events.h).
#pragma once

#include "distillery/events.h"

#include <nlohmann/json.hpp>

namespace distillery::detail {

// Throws nlohmann::json::exception for a field of the wrong type.
SettingChange settingChangeFrom(const nlohmann::json &j);

} // namespace distillery::detail
