// The model card written beside an export: a Markdown page on what the model
// is, how it was trained and how well it does (internal to core).
#pragma once

#include "export/export_subject.h"

#include <string>
#include <vector>

namespace distillery::detail {

// The card for `s`, listing the exported `files`. `curves` is the file name of
// the drawn training curves, or empty with `curvesNote` saying why not. Throws
// nlohmann::json's exceptions for a damaged summary.json.
std::string modelCard(const ExportRequest &r, const ExportSubject &s, const std::vector<ExportedFile> &files,
                      const std::string &curves, const std::string &curvesNote);

} // namespace distillery::detail
