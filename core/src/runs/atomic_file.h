#pragma once

#include <string>

namespace distillery::detail {

// Writes `content` to `path` through a temporary file in the same folder,
// flushed to disk before it is renamed over `path`: readers see the old file or
// the new one, never half of one. Throws std::runtime_error naming the file.
void writeFileAtomically(const std::string &path, const std::string &content);

// Renames `tmp` over `path` after flushing it to disk (for files written by
// other means, such as a checkpoint serialiser).
void commitFile(const std::string &tmp, const std::string &path);

} // namespace distillery::detail
