// The one form of every complaint about an experiment file, shared by its
// reader and its checks (internal to core).
#pragma once

#include <string>

namespace distillery::detail {

// Throws ConfigError "<origin>: <field>: <message>", without the origin when
// it is empty (an experiment built in memory).
[[noreturn]] void throwFieldError(const std::string &origin, const std::string &field, const std::string &message);

// A value as the user would write it in a message: 1.5, not 1.500000.
std::string plainNumber(double v);

} // namespace distillery::detail
