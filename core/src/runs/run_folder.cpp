#include "runs/run_folder.h"

#include "support/errors.h"

#include <cctype>
#include <ctime>

namespace distillery::detail {

namespace fs = std::filesystem;

namespace {

void createCheckpoints(const fs::path &dir)
{
    std::error_code ec;
    fs::create_directory(dir / "checkpoints", ec);
    if (ec)
        throw InvalidInput("workspace: cannot create " + (dir / "checkpoints").string() + ": " + ec.message());
}

} // namespace

fs::path createStampedDir(const fs::path &parent, const std::string &name)
{
    std::string clean;
    for (char c : name)
        clean += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
    const std::time_t t = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&t));
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec)
        throw InvalidInput("workspace: cannot create " + parent.string() + ": " + ec.message());
    for (int i = 1; i < 1000; ++i) {
        const fs::path dir = parent / (std::string(stamp) + "-" + clean + (i > 1 ? "-" + std::to_string(i) : ""));
        if (fs::create_directory(dir, ec))
            return dir;
        if (ec)
            throw InvalidInput("workspace: cannot create a folder in " + parent.string() + ": " + ec.message());
    }
    throw InvalidInput("workspace: too many folders named " + clean + " in the same second in " + parent.string());
}

fs::path createRunDir(const std::string &workspace, const std::string &name)
{
    const fs::path dir = createStampedDir(fs::path(workspace) / "runs", name);
    createCheckpoints(dir);
    return dir;
}

fs::path createRunDirAt(const fs::path &dir)
{
    std::error_code ec;
    fs::create_directories(dir.parent_path(), ec);
    if (!fs::create_directory(dir, ec)) {
        if (ec)
            throw InvalidInput("workspace: cannot create " + dir.string() + ": " + ec.message());
        throw InvalidInput("workspace: " + dir.string() + " exists already (resume it with --resume)");
    }
    createCheckpoints(dir);
    return dir;
}

} // namespace distillery::detail
