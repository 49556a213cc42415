// Reads a model file first in another process (internal to core); see
// distillery/modelfiles.h for why.
#pragma once

#include "distillery/modelfiles.h"

#include <string>

namespace distillery::detail {

// Has `path` read by the helper (or, without one, by a forked child). Returns
// "" when the reader finished, else why it did not: the signal that ended it,
// its exit status, or a timeout. When it finished by throwing, `readerError`
// (if given) receives its message, so the caller need not read a file in this
// process that it already knows the reader refuses (a damaged file can make
// LibTorch allocate gigabytes before it throws). Empty when the reader accepted
// the file, or when its message could not be had: the caller then reads the
// file itself, which gives the result or the error.
std::string crashOfRead(ModelFileKind kind, const std::string &path, std::string *readerError = nullptr,
                        int timeoutSeconds = 60);

} // namespace distillery::detail
