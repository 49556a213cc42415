// distillery-export: writes a finished run's model as TorchScript, ONNX,
// safetensors and a model card, checking each file after writing.
#include "distillery/engine.h"
#include "distillery/export.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#ifdef DISTILLERY_WITH_PLOTS
#include "curveimage.h"
#include <QApplication>
#endif

#include <cstdio>
#include <cstdlib>
#include <iostream>

using namespace distillery;

int main(int argc, char **argv)
{
#ifdef DISTILLERY_WITH_PLOTS
    // The curves are drawn off screen; no display is needed.
    if (!std::getenv("QT_QPA_PLATFORM"))
        setenv("QT_QPA_PLATFORM", "offscreen", 1);
    QApplication qt(argc, argv);
#endif
    CLI::App app{"Exports the model of a finished Distillery run, loads each file back and compares its outputs "
                 "with the model in Distillery."};
    app.set_version_flag("--version", std::string("distillery-export ") + DISTILLERY_VERSION + " (LibTorch " +
                                          libtorchVersion() + ")");
    ExportRequest request;
    std::string formats;
    bool json = false;
    app.add_option("run", request.runDir, "Run folder, e.g. workspace/runs/20261129-101500-quick")->required();
    app.add_option("-o,--out", request.outDir, "Output folder (default: RUN/export)");
    app.add_option("-m,--model", request.model, "Which model: student, baseline or teacher")->capture_default_str();
    std::string known;
    for (const auto &f : exportFormats())
        known += (known.empty() ? "" : ",") + f;
    app.add_option("-f,--formats", formats, "Comma-separated formats (default: all of " + known + ")");
    app.add_flag("--json", json, "Print the report as JSON");
    app.add_flag("--unfinished", request.allowUnfinished,
                 "Export the best epoch of a stage that stopped or failed (refused otherwise)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    if (request.outDir.empty())
        request.outDir = request.runDir + "/export";
    for (std::size_t start = 0; start < formats.size();) {
        const std::size_t comma = std::min(formats.find(',', start), formats.size());
        if (comma > start)
            request.formats.push_back(formats.substr(start, comma - start));
        start = comma + 1;
    }
#ifdef DISTILLERY_WITH_PLOTS
    request.drawCurves = [](const std::string &run, const std::string &png) {
        return drawRunCurves(QString::fromStdString(run), QString::fromStdString(png)).toStdString();
    };
#endif

    ExportReport report;
    try {
        report = exportRun(request);
    } catch (const ExportError &e) {
        if (json)
            std::cout << nlohmann::json{{"ok", false}, {"error", e.what()}}.dump() << std::endl;
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    }

    if (json) {
        nlohmann::json files = nlohmann::json::array();
        for (const auto &f : report.files)
            files.push_back({{"format", f.format},
                             {"path", f.path},
                             {"checked_with", f.checkedWith},
                             {"max_abs_difference", f.maxAbsDifference},
                             {"bound", f.bound},
                             {"samples", f.samples},
                             {"agreeing_predictions", f.agreeingPredictions},
                             {"ok", f.ok},
                             {"message", f.message}});
        std::cout << nlohmann::json{{"ok", report.ok()}, {"batch", report.batchDescription}, {"note", report.note}, {"files", files}}.dump(2)
                  << std::endl;
    } else {
        if (!report.note.empty())
            std::printf("note: %s\n", report.note.c_str());
        std::printf("checked on %s\n\n", report.batchDescription.c_str());
        std::printf("%-12s %-12s %-10s %-9s %s\n", "format", "difference", "bound", "agree", "file");
        for (const auto &f : report.files) {
            char diff[32] = "-", bound[32] = "-", agree[32] = "-";
            if (f.maxAbsDifference >= 0) {
                std::snprintf(diff, sizeof diff, "%.2g", f.maxAbsDifference);
                std::snprintf(bound, sizeof bound, "%.0e", f.bound);
                std::snprintf(agree, sizeof agree, "%d/%d", f.agreeingPredictions, f.samples);
            }
            std::printf("%-12s %-12s %-10s %-9s %s\n", f.format.c_str(), diff, bound, agree,
                        f.ok ? f.path.c_str() : ("FAILED: " + f.message).c_str());
            if (f.ok && !f.message.empty())
                std::printf("%-12s note: %s\n", "", f.message.c_str());
        }
    }
    if (!report.ok()) {
        std::cerr << "error: some files failed their check and were not written\n";
        return 1;
    }
    return 0;
}
