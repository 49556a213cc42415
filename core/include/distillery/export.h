// Taking a trained model away: TorchScript, ONNX, safetensors and a model card,
// each loaded back after writing and compared with the model in Distillery.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace distillery {

// Thrown before anything is written when an export cannot start: no such run,
// no finished model in it, an output folder that cannot be written.
class ExportError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct ExportRequest {
    std::string runDir;
    std::string outDir;                 // created when missing
    std::string model = "student";      // student | baseline | teacher
    std::vector<std::string> formats;   // of exportFormats(); empty: all of them
    // Export the best epoch of a stage that stopped or failed (its checkpoint
    // is the best model up to the point it ended). Refused when false.
    bool allowUnfinished = false;
    // Draws the run's curves into a PNG for the model card and returns "" or why
    // it could not. Supplied by front ends that can draw; without it the card
    // says that the curves were not drawn.
    std::function<std::string(const std::string &runDir, const std::string &pngPath)> drawCurves;
};

struct ExportedFile {
    std::string format;                 // torchscript | onnx | safetensors | card (the card and its figures)
    std::string path;                   // final path; empty when the file was not written
    std::string checkedWith;            // how it was loaded back
    double maxAbsDifference = -1.0;     // largest |exported - in Distillery| over the batch; -1: not compared
    double bound = 0.0;                 // what the difference must not exceed: the format's relative bound
                                        // times the largest absolute logit (at least 1)
    int samples = 0;                    // rows of the check batch
    int agreeingPredictions = 0;        // rows whose predicted class is the same
    bool ok = false;
    std::string message;                // why it failed, or a note
};

struct ExportReport {
    std::vector<ExportedFile> files;
    std::string batchDescription;       // what the check batch was
    std::string note;                   // e.g. that the stage did not finish
    bool ok() const;
};

// torchscript, onnx (when built with libonnx), safetensors, card.
std::vector<std::string> exportFormats();

// Writes the requested files to outDir. A file is written under a temporary
// name, loaded back and compared, and only then renamed to its final name; a
// file whose difference exceeds its bound is removed and reported as failed.
// Throws ExportError for a request that cannot start.
ExportReport exportRun(const ExportRequest &request);

// The files an export writes for `model` (for front ends that list them).
std::string exportFileName(const std::string &model, const std::string &format);

} // namespace distillery
