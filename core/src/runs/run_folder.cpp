#include "runs/run_folder.h"

#include "support/errors.h"

#include <cctype>
#include <ctime>

namespace distillery::detail {

namespace fs = std::filesystem;

fs::path createRunDir(const std::string &workspace, const std::string &name)
{
    std::string clean;
    for (char c : name)
        clean += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
    const std::time_t t = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&t));
    std::error_code ec;
    const fs::path runs = fs::path(workspace) / "runs";
    fs::create_directories(runs, ec);
    if (ec)
        throw InvalidInput("workspace: cannot create " + runs.string() + ": " + ec.message());
    for (int i = 1; i < 1000; ++i) {
        const fs::path dir = runs / (std::string(stamp) + "-" + clean + (i > 1 ? "-" + std::to_string(i) : ""));
        if (fs::create_directory(dir, ec)) {
            fs::create_directory(dir / "checkpoints", ec);
            if (ec)
                throw InvalidInput("workspace: cannot create " + (dir / "checkpoints").string() + ": " + ec.message());
            return dir;
        }
        if (ec)
            throw InvalidInput("workspace: cannot create a run folder in " + runs.string() + ": " + ec.message());
    }
    throw InvalidInput("workspace: too many runs named " + clean + " in the same second");
}

} // namespace distillery::detail
