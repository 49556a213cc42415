// Numbers as the command-line tools print them in their tables (app/ only).
#pragma once

#include <cstdio>
#include <string>

namespace distillery::console {

// 421.8k, 4.24M, 1.20G: a count in a column of fixed width.
inline std::string human(double v)
{
    char buf[32];
    if (v >= 1e9)
        std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
    else if (v >= 1e3)
        std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
    else
        std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
}

// 85.20%, or "-" for an accuracy that is absent (negative or NaN).
inline std::string percent(double v)
{
    if (!(v >= 0))
        return "-";
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.2f%%", 100.0 * v);
    return buf;
}

} // namespace distillery::console
