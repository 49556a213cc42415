// New folders of a workspace (internal to core): a run's, a sweep's.
#pragma once

#include <filesystem>
#include <string>

namespace distillery::detail {

// Creates <parent>/<YYYYmmdd-HHMMSS>-<name>/; a second folder of the same name
// in the same second gets "-2" and so on. The name keeps letters, digits,
// '-', '_' and '.'; anything else becomes '_'. Throws InvalidInput naming the
// folder that cannot be made.
std::filesystem::path createStampedDir(const std::filesystem::path &parent, const std::string &name);

// Creates <workspace>/runs/<YYYYmmdd-HHMMSS>-<name>/ and its checkpoints/ folder.
std::filesystem::path createRunDir(const std::string &workspace, const std::string &name);

// Creates exactly `dir` (a sweep's point) and its checkpoints/ folder; its
// parent is made where missing. Throws InvalidInput when it exists already.
std::filesystem::path createRunDirAt(const std::filesystem::path &dir);

} // namespace distillery::detail
