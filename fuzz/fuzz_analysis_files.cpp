// A run's analysis/ files as distillery-report reads them: <stage>.logits
// (the figures are then computed on whatever logits it holds, NaN and
// infinities included) and analysis/summary.json.
#include "fuzz_input.h"

#include "distillery/analysis.h"

#include <filesystem>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    namespace fs = std::filesystem;
    static const fs::path run = fs::temp_directory_path() / ("distillery-fuzz-analysis-" + std::to_string(::getpid()));
    fs::create_directories(run / "analysis");
    const std::string logits = (run / "analysis" / "teacher.logits").string();
    fuzz::writeFile(logits, data, size);
    fuzz::writeFile((run / "analysis" / "summary.json").string(), data, size);
    try {
        const distillery::AnalysisLogits z = distillery::readAnalysisLogits(logits);
        if (z.rows * z.classes <= 4096) {
            const auto a = distillery::analyseLogits(z, &z, &z);
            (void)distillery::darkKnowledge(z.view(), z.labels.data(), 2.0);
            if (a.teacher && a.teacher->teacherOnly.count != 0)
                __builtin_trap(); // the same logits never disagree with themselves
        }
    } catch (const distillery::AnalysisError &) {
    }
    try {
        (void)distillery::readAnalysisSummary(run.string());
    } catch (const distillery::AnalysisError &) {
    }
    return 0;
}
