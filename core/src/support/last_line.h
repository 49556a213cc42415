// The last line of a log file that is not empty, or "" (internal to core):
// what a child process said last, quoted in messages about it.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

namespace distillery::detail {

inline std::string lastLine(const std::filesystem::path &file)
{
    std::ifstream in(file);
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty())
            last = line;
    return last;
}

} // namespace distillery::detail
