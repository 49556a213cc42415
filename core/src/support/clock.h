// Wall-clock helpers for the run's records (internal to core).
#pragma once

#include <chrono>
#include <ctime>
#include <string>

namespace distillery::detail {

using Clock = std::chrono::steady_clock;

inline double secondsSince(Clock::time_point since)
{
    return std::chrono::duration<double>(Clock::now() - since).count();
}

// Local time as ISO 8601 with the UTC offset, e.g. 2026-12-01T14:35:36+0000.
inline std::string nowIso()
{
    const std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", std::localtime(&t));
    return buf;
}

} // namespace distillery::detail
