#include "export/export_subject.h"

#include "distillery/architecture.h"
#include "distillery/data.h"
#include "models/model_io.h"
#include "data/torch_data.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace distillery::detail {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kCheckRows = 64;

json readJson(const fs::path &p)
{
    std::ifstream in(p);
    if (!in)
        throw ExportError(p.string() + ": cannot open (is this a run folder?)");
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw ExportError(p.string() + ": not a readable JSON object");
    return j;
}

// What summary.json says of the data the model was trained on.
struct TrainingData {
    Shape input;
    int classes = 0;
    std::vector<double> mean, stdev;
    std::vector<std::string> classNames;
};

// Reads the run's configuration and summary into `s`, checked to hold `stage`
// finished (or stopped, when the request allows it) and its checkpoint, whose
// path it returns.
fs::path readRun(const ExportRequest &r, const std::string &stage, ExportSubject &s)
{
    const fs::path run = r.runDir;
    if (!fs::is_directory(run))
        throw ExportError(r.runDir + ": no such run folder");
    try {
        s.config = loadExperiment((run / "config.json").string());
    } catch (const ConfigError &e) {
        throw ExportError(e.what());
    }
    s.summary = readJson(run / "summary.json");
    const json stages = s.summary.value("stages", json::object());
    const json st = stages.is_object() ? stages.value(stage, json()) : json();
    if (!st.is_object())
        throw ExportError(r.runDir + ": the run has no " + stage + " stage (it ended before it: " +
                          s.summary.value("status", std::string("unknown")) + ")");
    const std::string status = st.value("status", std::string("unknown"));
    if (status != "finished" && !r.allowUnfinished)
        throw ExportError(r.runDir + ": the " + stage + " stage did not finish (" + status + "), so there is no finished " +
                          r.model + " to export (its best epoch so far can be exported on purpose: --unfinished)");
    if (status != "finished")
        s.note = "the " + stage + " stage did not finish (" + status + "); this is its best epoch so far (" +
                 std::to_string(st.value("best_epoch", 0)) + " of " + std::to_string(st.value("epochs_done", 0)) + " done)";
    const fs::path checkpoint = run / "checkpoints" / (stage + ".pt");
    if (!fs::is_regular_file(checkpoint))
        throw ExportError(checkpoint.string() + ": missing (the " + stage + " was not trained in this run: " +
                          (stage == "teacher" ? "it was imported or reused" : "no checkpoint") + ")");
    return checkpoint;
}

TrainingData readTrainingData(const json &summary, const fs::path &run)
{
    const json data = summary.value("data", json::object());
    TrainingData d;
    try {
        d.input = data.at("input_shape").get<Shape>();
        d.classes = data.at("classes").get<int>();
        d.mean = data.at("normalisation").at("mean").get<std::vector<double>>();
        d.stdev = data.at("normalisation").at("std").get<std::vector<double>>();
        if (data.contains("class_names"))
            d.classNames = data.at("class_names").get<std::vector<std::string>>();
    } catch (const json::exception &e) {
        throw ExportError((run / "summary.json").string() + ": data: missing input shape, classes or normalisation (" +
                          e.what() + ")");
    }
    return d;
}

// The check batch into `s`: the first test samples when the data can still be
// read, else random inputs around the training mean; and `net`'s logits for it.
void runCheckBatch(ExportSubject &s, Net &net, const TrainingData &d)
{
    const auto meanT = torch::tensor(std::vector<float>(d.mean.begin(), d.mean.end()));
    const auto stdT = torch::tensor(std::vector<float>(d.stdev.begin(), d.stdev.end()));
    std::vector<std::int64_t> view(d.input.size() + 1, 1);
    view[1] = d.input[0];
    torch::Tensor normalised;
    try {
        DataConfig dc = s.config.data;
        const auto loaded = loadData(dc, torch::kCPU);
        normalised = loaded.test.x.slice(0, 0, kCheckRows).clone();
        s.batchDescription = "the first " + std::to_string(normalised.size(0)) + " test samples of " +
                             loaded.summary.description;
    } catch (const std::exception &e) {
        std::vector<std::int64_t> sizes{kCheckRows};
        sizes.insert(sizes.end(), d.input.begin(), d.input.end());
        auto gen = at::detail::createCPUGenerator(0);
        normalised = torch::randn(sizes, gen);
        s.batchDescription = std::to_string(kCheckRows) + " random inputs around the training mean (the data set could not be read: " +
                             std::string(e.what()) + ")";
    }
    s.raw = normalised * stdT.view(view) + meanT.view(view);
    {
        c10::InferenceMode guard;
        s.logits = net->forward((s.raw - meanT.view(view)) / stdT.view(view)).clone();
    }
}

} // namespace

std::string exportStage(const std::string &model)
{
    if (model == "student" || model == "baseline" || model == "teacher")
        return model;
    throw ExportError("model: must be student, baseline or teacher (got '" + model + "')");
}

ExportSubject loadSubject(const ExportRequest &r)
{
    ExportSubject s;
    const fs::path run = r.runDir;
    const std::string stage = exportStage(r.model);
    const fs::path checkpoint = readRun(r, stage, s);
    const TrainingData d = readTrainingData(s.summary, run);
    const Architecture layers = stage == "teacher" ? s.config.teacher.model.layers : s.config.student.layers;
    const auto report = analyseArchitecture(layers, d.input, d.classes);
    if (!report.ok)
        throw ExportError((run / "config.json").string() + ": " + stage + " model: " + report.error);

    torch::manual_seed(0);
    Net net(layers, d.input);
    try {
        loadCheckpoint(net, checkpoint.string(), torch::kCPU);
    } catch (const ModelFileError &e) {
        throw ExportError(e.what());
    }
    net->eval();
    s.portable = toPortable(net, d.input, d.classes, d.mean, d.stdev, d.classNames);
    runCheckBatch(s, net, d);
    return s;
}

void compareLogits(const ExportSubject &s, const torch::Tensor &out, ExportedFile &f)
{
    f.samples = int(s.logits.size(0));
    if (out.sizes() != s.logits.sizes()) {
        std::ostringstream msg;
        msg << "the loaded file gives logits of shape " << out.sizes() << ", expected " << s.logits.sizes();
        f.message = msg.str();
        f.maxAbsDifference = INFINITY;
        return;
    }
    // The bound is relative to the logits' size (at least 1): the file and
    // Distillery sum in different orders (oneDNN or OpenBLAS products, other
    // kernels), so rounding grows with the values, and a model that diverged
    // before its best epoch was kept can have logits in the thousands.
    f.bound *= std::max(1.0, s.logits.numel() > 0 ? s.logits.abs().max().item<double>() : 0.0);
    f.maxAbsDifference = (out.to(torch::kFloat32) - s.logits).abs().max().item<double>();
    f.agreeingPredictions = int(out.argmax(1).eq(s.logits.argmax(1)).sum().item<std::int64_t>());
    if (!(f.maxAbsDifference <= f.bound)) {
        std::ostringstream msg;
        msg << "largest difference " << f.maxAbsDifference << " exceeds the bound " << f.bound;
        f.message = msg.str();
    }
}

} // namespace distillery::detail
