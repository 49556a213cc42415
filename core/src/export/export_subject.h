// The model an export takes from a run, and the batch every exported file is
// checked on (internal to core).
#pragma once

#include "distillery/experiment.h"
#include "distillery/export.h"
#include "models/portable_model.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>

namespace distillery::detail {

struct ExportSubject {
    Experiment config;
    nlohmann::json summary;
    PortableModel portable;
    torch::Tensor raw;      // check inputs as the data reader gives them
    torch::Tensor logits;   // the model in Distillery on those inputs
    std::string batchDescription;
    std::string note;
};

// The stage that trained `model`: the model's own name, checked. Throws ExportError.
std::string exportStage(const std::string &model);

// Loads `r.model` from its run's checkpoint and runs it on the check batch: the
// first test samples when the data can still be read, else random inputs
// around the training mean. Throws ExportError when the run has no such model
// to export, and nlohmann::json's exceptions for a damaged summary.json.
ExportSubject loadSubject(const ExportRequest &r);

// Compares an exported file's logits on the check batch with Distillery's.
void compareLogits(const ExportSubject &s, const torch::Tensor &out, ExportedFile &f);

} // namespace distillery::detail
