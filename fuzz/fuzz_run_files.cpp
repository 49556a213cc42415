// A run folder's files as the runs panel and the runner read them back:
// summary.json, config.json and metrics.jsonl (a damaged run must not take the
// workbench down when it lists the workspace).
#include "fuzz_input.h"

#include "distillery/runs.h"

#include <filesystem>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    namespace fs = std::filesystem;
    static const fs::path dir = fs::temp_directory_path() / ("distillery-fuzz-run-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    // Written rather than copied: copy_file's sendfile can fail with EINTR
    // when libFuzzer's timer signal arrives, which ended a CI run here.
    for (const char *name : {"summary.json", "config.json", "metrics.jsonl"})
        fuzz::writeFile((dir / name).string(), data, size);
    const auto info = distillery::readRunInfo(dir.string());
    const auto metrics = distillery::readRunMetrics(dir.string());
    if (info.dir != dir.string())
        __builtin_trap();
    (void)metrics;
    return 0;
}
