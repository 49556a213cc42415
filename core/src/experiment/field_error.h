// The one form of every complaint about an experiment file, shared by its
// reader and its checks (internal to core).
#pragma once

#include <string>

namespace distillery::detail {

// Throws ConfigError "<origin>: <field>: <message>", without the origin when
// it is empty (an experiment built in memory).
[[noreturn]] void throwFieldError(const std::string &origin, const std::string &field, const std::string &message);

} // namespace distillery::detail
