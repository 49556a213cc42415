// The model card written beside an export: a Markdown page on what the model
// is, how it was trained and how well it does (internal to core).
#pragma once

#include "distillery/analysis.h"
#include "export/export_subject.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace distillery::detail {

// What the card shows of the run's analysis/ (docs/INSIGHT.md).
struct CardAnalysis {
    std::optional<AnalysisSummary> summary; // none: the run has no analysis, or it cannot be read
    std::string absent;                     // then the sentence the card says instead
    std::string reliability, perClass;      // the figures' file names beside the card; empty: not drawn
    std::string figuresNote;                // why a figure was not drawn
};

// The run's analysis/summary.json, or why the card goes without it. Never throws.
CardAnalysis readCardAnalysis(const std::string &runDir);

// Writes the card's figures of `stage` into `out` (each atomically) and names
// them in `analysis`; returns them as exported files of the format "card".
std::vector<ExportedFile> writeCardFigures(CardAnalysis &analysis, const std::string &stage,
                                           const std::filesystem::path &out);

// The card for `s`, listing the exported `files`. `curves` is the file name of
// the drawn training curves, or empty with `curvesNote` saying why not;
// `analysis` gives the section of the key figures and the figures' files.
// Throws nlohmann::json's exceptions for a damaged summary.json.
std::string modelCard(const ExportRequest &r, const ExportSubject &s, const std::vector<ExportedFile> &files,
                      const std::string &curves, const std::string &curvesNote, const CardAnalysis &analysis);

} // namespace distillery::detail
