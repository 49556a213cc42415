// Errors shared by the engine's parts (internal to core).
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace distillery::detail {

// Bad input found before training (config, data, architecture, workspace, a
// run folder that cannot be resumed): the run ends Invalid, and the runner
// exits with status 2.
struct InvalidInput : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// An exception's message; LibTorch's errors without their C++ backtrace.
std::string errorText(const std::exception &e);

// The first line of a (LibTorch) message.
std::string firstLine(const std::string &s);

// Whether a message is LibTorch's (or the C library's) word for a failed
// allocation, on the CPU or on CUDA.
bool isOutOfMemory(const std::string &message);

} // namespace distillery::detail
