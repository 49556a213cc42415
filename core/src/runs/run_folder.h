// A new run's folder (internal to core).
#pragma once

#include <filesystem>
#include <string>

namespace distillery::detail {

// Creates <workspace>/runs/<YYYYmmdd-HHMMSS>-<name>/ and its checkpoints/
// folder; a second run of the same name in the same second gets "-2" and so
// on. The name keeps letters, digits, '-', '_' and '.'; anything else becomes
// '_'. Throws InvalidInput naming the folder that cannot be made.
std::filesystem::path createRunDir(const std::string &workspace, const std::string &name);

} // namespace distillery::detail
