#pragma once

#include <string>

namespace distillery::detail {

// Writes `content` to `path` through a temporary file in the same folder,
// flushed to disk before it is renamed over `path`: readers see the old file or
// the new one, never half of one. Throws std::runtime_error naming the file.
// `shared`: other processes may write the same file at the same time (the
// workspace's data cache, by the processes of one run): each writes a
// temporary file of its own, and the last rename wins whole.
void writeFileAtomically(const std::string &path, const std::string &content, bool shared = false);

// Renames `tmp` over `path` after flushing it to disk (for files written by
// other means, such as a checkpoint serialiser).
void commitFile(const std::string &tmp, const std::string &path);

} // namespace distillery::detail
