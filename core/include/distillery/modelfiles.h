// Model files that come from outside the engine's control: checkpoints
// (resuming, reusing a teacher, exporting) and TorchScript teachers saved by
// PyTorch. LibTorch's readers can crash on a damaged file instead of throwing,
// so the engine has each file read once by a separate process first, the
// helper executable distillery-check. A crash there becomes an error message
// naming the file; the application goes on.
#pragma once

#include <string>

namespace distillery {

enum class ModelFileKind { Checkpoint, TorchScript };

// The helper's work, for distillery-check's main(): reads `path` with LibTorch's
// reader for `kind`, on this thread, and tells the engine on standard output
// how it went. Returns the process's exit status. A file that crashes the
// reader crashes this call, by its signal: that is what the process is for.
int runModelFileCheck(ModelFileKind kind, const std::string &path);

// The helper that reads model files first: $DISTILLERY_CHECK_HELPER when set,
// else distillery-check next to this executable, else in ../libexec/distillery.
// Empty when there is none; the first read then happens in a forked copy of
// this process, which is only safe while no other thread is inside LibTorch.
std::string modelFileChecker();

} // namespace distillery
