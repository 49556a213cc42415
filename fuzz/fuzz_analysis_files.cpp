// A run's analysis/ files as distillery-report reads them: <stage>.logits
// (the figures are then computed on whatever logits it holds, NaN and
// infinities included), analysis/summary.json and <stage>.dynamics (with the
// data map drawn from it).
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
    const std::string dynamics = (run / "analysis" / "student.dynamics").string();
    fuzz::writeFile(dynamics, data, size);
    try {
        const distillery::TrainingDynamics d = distillery::readTrainingDynamics(dynamics);
        const distillery::DataMap m = distillery::dataMap(d);
        for (std::int64_t i = 0; i < m.size(); ++i) // a read file holds probabilities only
            if (m.confidence[std::size_t(i)] > 1.0 || m.correctness[std::size_t(i)] < 0.0)
                __builtin_trap();
    } catch (const distillery::AnalysisError &) {
    }
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
