// Reads a model file first in another process (internal to core); see
// distillery/modelfiles.h for why.
#pragma once

#include "distillery/modelfiles.h"

#include <string>

namespace distillery::detail {

// Has `path` read by the helper (or, without one, by a forked child). Returns
// "" when the reader finished, whether it accepted the file or threw (the
// caller reads again to get the result or the error); else why it did not:
// the signal that ended it, its exit status, or a timeout.
std::string crashOfRead(ModelFileKind kind, const std::string &path, int timeoutSeconds = 60);

} // namespace distillery::detail
