// Runs a risky read in a child process first (internal to core). LibTorch's own
// readers (zip archives, pickles, TorchScript source) can crash on a damaged
// file instead of throwing; trying the read in a forked child turns that crash
// into an error message instead of taking the application down.
#pragma once

#include <functional>
#include <string>

namespace distillery::detail {

// Calls `read` in a forked child. Returns "" when the child finished (whether
// `read` returned or threw: the caller repeats the read to get its result or
// its error), else why it did not: the signal that killed it, or a timeout.
std::string crashOfReadInChild(const std::function<void()> &read, int timeoutSeconds = 60);

} // namespace distillery::detail
