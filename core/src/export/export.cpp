#include "distillery/export.h"

#include "runs/atomic_file.h"
#include "distillery/architecture.h"
#include "distillery/data.h"
#include "distillery/engine.h"
#include "distillery/experiment.h"
#include "models/model_io.h"
#include "data/torch_data.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace distillery {

namespace fs = std::filesystem;
using nlohmann::json;

bool ExportReport::ok() const
{
    for (const auto &f : files)
        if (!f.ok)
            return false;
    return !files.empty();
}

std::vector<std::string> exportFormats()
{
    std::vector<std::string> f{"torchscript"};
    if (detail::onnxAvailable())
        f.push_back("onnx");
    f.push_back("safetensors");
    f.push_back("card");
    return f;
}

std::string exportFileName(const std::string &model, const std::string &format)
{
    if (format == "torchscript")
        return model + ".torchscript.pt";
    if (format == "onnx")
        return model + ".onnx";
    if (format == "safetensors")
        return model + ".safetensors";
    if (format == "architecture")
        return model + ".architecture.json";
    if (format == "card")
        return model + "-model-card.md";
    if (format == "curves")
        return model + "-curves.png";
    if (format == "check")
        return model + "-check.safetensors";
    return model + "." + format;
}

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

std::string stageOf(const std::string &model)
{
    if (model == "student" || model == "baseline" || model == "teacher")
        return model;
    throw ExportError("model: must be student, baseline or teacher (got '" + model + "')");
}

std::string groupDigits(std::int64_t v)
{
    std::string s = std::to_string(v);
    for (int i = int(s.size()) - 3; i > 0; i -= 3)
        s.insert(std::size_t(i), ",");
    return s;
}

std::string percent(const json &stage)
{
    if (!stage.is_object() || !stage.contains("test_accuracy") || !stage["test_accuracy"].is_number())
        return "-";
    std::ostringstream s;
    s << std::fixed << std::setprecision(2) << 100.0 * stage["test_accuracy"].get<double>() << "%";
    return s.str();
}

std::string fixed(double v, int digits)
{
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << v;
    return s.str();
}

std::string today()
{
    const std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", std::localtime(&t));
    return buf;
}

// The model and the batch it is checked on.
struct Subject {
    Experiment config;
    json summary;
    detail::PortableModel portable;
    torch::Tensor raw;      // check inputs as the data reader gives them
    torch::Tensor logits;   // the model in Distillery on those inputs
    std::string batchDescription;
    std::string note;
};

Subject loadSubject(const ExportRequest &r)
{
    Subject s;
    const fs::path run = r.runDir;
    const std::string stage = stageOf(r.model);
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

    const json data = s.summary.value("data", json::object());
    Shape input;
    int classes = 0;
    std::vector<double> mean, stdev;
    std::vector<std::string> classNames;
    try {
        input = data.at("input_shape").get<Shape>();
        classes = data.at("classes").get<int>();
        mean = data.at("normalisation").at("mean").get<std::vector<double>>();
        stdev = data.at("normalisation").at("std").get<std::vector<double>>();
        if (data.contains("class_names"))
            classNames = data.at("class_names").get<std::vector<std::string>>();
    } catch (const json::exception &e) {
        throw ExportError((run / "summary.json").string() + ": data: missing input shape, classes or normalisation (" +
                          e.what() + ")");
    }
    const Architecture layers = stage == "teacher" ? s.config.teacher.model.layers : s.config.student.layers;
    const auto report = analyseArchitecture(layers, input, classes);
    if (!report.ok)
        throw ExportError((run / "config.json").string() + ": " + stage + " model: " + report.error);

    torch::manual_seed(0);
    detail::Net net(layers, input);
    try {
        detail::loadCheckpoint(net, checkpoint.string(), torch::kCPU);
    } catch (const detail::ModelFileError &e) {
        throw ExportError(e.what());
    }
    net->eval();
    s.portable = detail::toPortable(net, input, classes, mean, stdev, classNames);

    // The check batch: the first test samples when the data can still be read,
    // else random inputs around the training mean.
    const auto meanT = torch::tensor(std::vector<float>(mean.begin(), mean.end()));
    const auto stdT = torch::tensor(std::vector<float>(stdev.begin(), stdev.end()));
    std::vector<std::int64_t> view(input.size() + 1, 1);
    view[1] = input[0];
    torch::Tensor normalised;
    try {
        DataConfig dc = s.config.data;
        const auto loaded = detail::loadData(dc, torch::kCPU);
        normalised = loaded.test.x.slice(0, 0, kCheckRows).clone();
        s.batchDescription = "the first " + std::to_string(normalised.size(0)) + " test samples of " +
                             loaded.summary.description;
    } catch (const std::exception &e) {
        std::vector<std::int64_t> sizes{kCheckRows};
        sizes.insert(sizes.end(), input.begin(), input.end());
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
    return s;
}

// Compares an exported file's logits on the check batch with Distillery's.
void compare(const Subject &s, const torch::Tensor &out, ExportedFile &f)
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

// Writes one file through `write(tmp)`, checks it with `check(tmp, file)`, and
// renames it into place when the check passes; otherwise removes it.
template <typename Write, typename Check>
ExportedFile exportOne(const std::string &format, const fs::path &final, double bound, Write write, Check check)
{
    ExportedFile f;
    f.format = format;
    f.bound = bound;
    const fs::path tmp = final.string() + ".partial";
    try {
        write(tmp.string());
        check(tmp.string(), f);
        f.ok = f.message.empty();
        if (f.ok) {
            detail::commitFile(tmp.string(), final.string());
            f.path = final.string();
        }
    } catch (const std::exception &e) {
        std::string why = e.what();
        if (const auto *c = dynamic_cast<const c10::Error *>(&e))
            why = c->what_without_backtrace();
        f.ok = false;
        f.message = why.substr(0, why.find('\n'));
    }
    std::error_code ec;
    fs::remove(tmp, ec);
    return f;
}

std::string modelDescription(const Experiment &c, const std::string &stage)
{
    const ModelSpec &m = stage == "teacher" ? c.teacher.model : c.student;
    if (stage == "teacher" && c.teacher.source == "torchscript")
        return "TorchScript file " + fs::path(c.teacher.path).filename().string();
    if (m.preset.empty())
        return "custom (" + std::to_string(m.layers.size()) + " layers)";
    std::string s = m.preset;
    if (m.preset == "mlp")
        for (auto h : m.hidden)
            s += "-" + std::to_string(h);
    return s;
}

std::string trainingRow(const std::string &who, const TrainConfig &t)
{
    std::ostringstream s;
    s << "| " << who << " | " << t.epochs << " | " << t.batchSize << " | " << t.optimizer << " | " << t.lr << " | "
      << t.schedule << (t.warmupEpochs > 0 ? " (warm-up " + fixed(t.warmupEpochs, 1) + ")" : "") << " | "
      << t.weightDecay << " |\n";
    return s.str();
}

std::string modelCard(const ExportRequest &r, const Subject &s, const std::vector<ExportedFile> &files,
                      const std::string &curves, const std::string &curvesNote)
{
    const Experiment &c = s.config;
    const json &sum = s.summary;
    const json stages = sum.value("stages", json::object());
    const json data = sum.value("data", json::object());
    const auto studentReport = analyseArchitecture(s.portable.layers, s.portable.input, s.portable.classes);
    const auto teacherReport = analyseArchitecture(c.teacher.model.layers, s.portable.input, s.portable.classes);
    const std::int64_t teacherParams = sum.value("teacher", json::object()).value("parameters", std::int64_t(0));
    const std::int64_t teacherMacs = teacherReport.ok ? teacherReport.multiplyAdds : 0;
    const std::string stage = r.model;
    const std::string title = stage == "student" ? "distilled student" : stage == "baseline" ? "baseline student" : "teacher";

    std::ostringstream md;
    md << "# " << c.name << ": " << title << "\n\n";
    md << "A " << modelDescription(c, stage) << " classifier for " << data.value("description", std::string("its data"))
       << ", exported by Distillery " << DISTILLERY_VERSION << " on " << today() << ".";
    if (stage == "student")
        md << " It was trained by knowledge distillation (Hinton, Vinyals and Dean, 2015) from a "
           << modelDescription(c, "teacher") << " teacher.";
    md << "\n\n";
    if (!s.note.empty())
        md << "**Note:** " << s.note << ".\n\n";

    md << "## Results\n\n";
    md << "| Model | Architecture | Parameters | Multiply-adds per sample | Test accuracy |\n";
    md << "|---|---|---:|---:|---:|\n";
    md << "| Teacher | " << modelDescription(c, "teacher") << " | " << groupDigits(teacherParams) << " | "
       << (teacherMacs ? groupDigits(teacherMacs) : std::string("-")) << " | " << percent(stages.value("teacher", json())) << " |\n";
    if (stages.contains("baseline"))
        md << "| Baseline student (labels only) | " << modelDescription(c, "student") << " | "
           << groupDigits(studentReport.parameters) << " | " << groupDigits(studentReport.multiplyAdds) << " | "
           << percent(stages["baseline"]) << " |\n";
    md << "| Distilled student | " << modelDescription(c, "student") << " | " << groupDigits(studentReport.parameters)
       << " | " << groupDigits(studentReport.multiplyAdds) << " | " << percent(stages.value("student", json())) << " |\n\n";
    if (studentReport.parameters > 0 && teacherParams > 0)
        md << "The student has " << fixed(double(teacherParams) / double(studentReport.parameters), 1)
           << "\u00d7 fewer parameters than the teacher"
           << (teacherMacs ? " and needs " + fixed(double(studentReport.multiplyAdds) / double(teacherMacs), 2) +
                                 "\u00d7 the teacher's multiply-adds per sample"
                           : std::string())
           << ". Accuracies are on the test split, for the epoch with the best validation accuracy.\n\n";

    md << "## Data\n\n";
    md << "- " << data.value("description", std::string("-")) << "; input " << shapeToString(s.portable.input) << ", "
       << s.portable.classes << " classes";
    if (!s.portable.classNames.empty()) {
        md << " (";
        for (std::size_t i = 0; i < s.portable.classNames.size(); ++i)
            md << (i ? ", " : "") << s.portable.classNames[i];
        md << ")";
    }
    md << ".\n";
    md << "- Training samples: " << data.value("train_samples", 0) << " (students: " << data.value("student_train_samples", 0)
       << "), validation " << data.value("validation_samples", 0) << ", test " << data.value("test_samples", 0) << ".\n";
    md << "- Input: raw values as Distillery reads them (image pixels scaled to [0, 1]). The TorchScript and ONNX "
          "models normalise inside, per channel, with the training set's mean and standard deviation; the "
          "safetensors weights do not, and " << exportFileName(stage, "architecture") << " gives the mean and std.\n\n";

    md << "## Distillation and training\n\n";
    md << "- Method: " << c.distillation.method << ", temperature T = " << c.distillation.temperature
       << ", \u03b1 = " << c.distillation.alpha << " (weight of the soft-target term, scaled by T\u00b2).\n";
    md << "- Seed " << c.seed << ", device " << sum.value("device", std::string("-")) << ", LibTorch "
       << sum.value("libtorch", std::string("-")) << ".\n\n";
    md << "| Stage | Epochs | Batch | Optimiser | Learning rate | Schedule | Weight decay |\n";
    md << "|---|---:|---:|---|---:|---|---:|\n";
    if (c.teacher.source == "train")
        md << trainingRow("Teacher", c.teacher.train);
    md << trainingRow("Students", c.studentTrain) << "\n";

    md << "## Architecture of the exported model\n\n";
    md << "| # | Layer | Output | Parameters | Multiply-adds |\n|---:|---|---|---:|---:|\n";
    for (std::size_t i = 0; i < studentReport.layers.size(); ++i) {
        const auto &l = studentReport.layers[i];
        md << "| " << i + 1 << " | " << l.description << " | " << shapeToString(l.output) << " | "
           << groupDigits(l.parameters) << " | " << groupDigits(l.multiplyAdds) << " |\n";
    }
    md << "\n";

    md << "## Training curves\n\n";
    if (!curves.empty())
        md << "![Loss and accuracy curves](" << curves << ")\n\n";
    else
        md << "Not drawn: " << curvesNote << ".\n\n";

    md << "## Files\n\n";
    md << "Each file was loaded back after writing and run on " << s.batchDescription
       << "; the difference is the largest absolute difference of its logits from the model in Distillery.\n\n";
    md << "| File | Format | Checked with | Largest difference | Same predictions |\n|---|---|---|---:|---:|\n";
    for (const auto &f : files) {
        if (f.format == "card" || f.path.empty())
            continue;
        std::ostringstream diff;
        diff << std::setprecision(2) << f.maxAbsDifference;
        md << "| " << fs::path(f.path).filename().string() << " | " << f.format << " | " << f.checkedWith << " | "
           << diff.str() << " | " << f.agreeingPredictions << "/" << f.samples << " |\n";
    }
    md << "\nLoading them:\n\n```python\n";
    md << "import torch\nmodel = torch.jit.load(\"" << exportFileName(stage, "torchscript")
       << "\")   # raw input, e.g. a batch of shape [N, " ;
    for (std::size_t i = 0; i < s.portable.input.size(); ++i)
        md << (i ? ", " : "") << s.portable.input[i];
    md << "]\nlogits = model(x)\n\nimport cv2   # or any ONNX runtime\nnet = cv2.dnn.readNetFromONNX(\""
       << exportFileName(stage, "onnx") << "\")\n```\n\n";
    md << exportFileName(stage, "check") << " holds the check batch (`input`) and Distillery's logits for it (`logits`), "
          "to test a deployment against.\n\n";

    md << "## Provenance\n\n";
    md << "- Run: `" << fs::absolute(r.runDir).lexically_normal().string() << "` (started "
       << sum.value("started", std::string("-")) << ")\n";
    md << "- Weights: `checkpoints/" << stageOf(stage) << ".pt` of that run, the epoch with the best validation accuracy ("
       << stages.value(stage, json::object()).value("best_epoch", 0) << ")\n";
    md << "- Configuration: `config.json` of that run (rerun with `distillery-run config.json`)\n";
    if (c.teacher.source == "torchscript")
        md << "- Teacher: imported from `" << c.teacher.path << "`\n";
    else if (c.teacher.source == "run")
        md << "- Teacher: reused from run `" << c.teacher.run << "`\n";
    return md.str();
}

} // namespace

ExportReport exportRun(const ExportRequest &request)
{
    std::vector<std::string> formats = request.formats.empty() ? exportFormats() : request.formats;
    const auto known = exportFormats();
    for (const auto &f : formats)
        if (std::find(known.begin(), known.end(), f) == known.end()) {
            std::string list;
            for (const auto &k : known)
                list += (list.empty() ? "" : ", ") + k;
            throw ExportError("format: '" + f + "' is not one of " + list +
                              (f == "onnx" ? " (this build has no ONNX support)" : ""));
        }
    if (request.outDir.empty())
        throw ExportError("output folder: none given");

    Subject s;
    try {
        s = loadSubject(request);
    } catch (const nlohmann::json::exception &e) {
        throw ExportError(request.runDir + ": damaged summary.json (" + std::string(e.what()) + ")");
    }

    const fs::path out = request.outDir;
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec || !fs::is_directory(out))
        throw ExportError(out.string() + ": cannot create the output folder" + (ec ? " (" + ec.message() + ")" : ""));
    {
        const fs::path probe = out / ".distillery-write-test";
        std::ofstream test(probe);
        const bool writable = bool(test << "x");
        test.close();
        fs::remove(probe, ec);
        if (!writable)
            throw ExportError(out.string() + ": the output folder is not writable");
    }

    ExportReport report;
    report.batchDescription = s.batchDescription;
    report.note = s.note;
    const std::string model = request.model;
    const json meta{{"distillery_version", DISTILLERY_VERSION},
                    {"run", fs::absolute(request.runDir).lexically_normal().string()},
                    {"model", model}};
    const std::string architecture = detail::portableArchitectureJson(s.portable);
    auto has = [&](const char *f) { return std::find(formats.begin(), formats.end(), f) != formats.end(); };

    if (has("torchscript"))
        report.files.push_back(exportOne(
            "torchscript", out / exportFileName(model, "torchscript"), 1e-5,
            [&](const std::string &tmp) {
                auto module = detail::toTorchScript(s.portable);
                // Through memory: LibTorch's file writer aborts on a failed write.
                std::ostringstream bytes;
                module.save(bytes, {{"distillery.json", architecture}});
                detail::writeFileAtomically(tmp, bytes.str());
            },
            [&](const std::string &tmp, ExportedFile &f) {
                f.checkedWith = "torch::jit::load";
                auto loaded = detail::loadScript(tmp, torch::kCPU);
                c10::InferenceMode guard;
                compare(s, loaded.module.forward({s.raw}).toTensor(), f);
            }));
    if (has("onnx"))
        report.files.push_back(exportOne(
            "onnx", out / exportFileName(model, "onnx"), 1e-4,
            [&](const std::string &tmp) { detail::writeOnnx(tmp, s.portable, DISTILLERY_VERSION); },
            [&](const std::string &tmp, ExportedFile &f) {
                f.checkedWith = "ONNX graph run by LibTorch";
                compare(s, detail::runOnnx(tmp, s.raw), f);
            }));
    if (has("safetensors")) {
        const fs::path archPath = out / exportFileName(model, "architecture");
        report.files.push_back(exportOne(
            "safetensors", out / exportFileName(model, "safetensors"), 1e-5,
            [&](const std::string &tmp) {
                detail::writeSafetensors(tmp, s.portable.tensors,
                                         {{"format", "pt"}, {"distillery", meta.dump()}});
                detail::writeFileAtomically(archPath.string() + ".partial", architecture);
            },
            [&](const std::string &tmp, ExportedFile &f) {
                f.checkedWith = "safetensors and architecture read back";
                std::ifstream in(archPath.string() + ".partial");
                const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
                auto back = detail::parsePortableArchitecture(text, archPath.string());
                back.tensors = detail::readSafetensors(tmp);
                auto net = detail::fromPortable(back);
                const auto meanT = torch::tensor(std::vector<float>(back.mean.begin(), back.mean.end()));
                const auto stdT = torch::tensor(std::vector<float>(back.stdev.begin(), back.stdev.end()));
                std::vector<std::int64_t> view(back.input.size() + 1, 1);
                view[1] = back.input[0];
                c10::InferenceMode guard;
                compare(s, net->forward((s.raw - meanT.view(view)) / stdT.view(view)), f);
            }));
        const std::string archTmp = archPath.string() + ".partial";
        if (report.files.back().ok)
            detail::commitFile(archTmp, archPath.string());
        fs::remove(archTmp, ec);
    }
    // The check batch beside the models, for testing a deployment.
    if (has("torchscript") || has("onnx") || has("safetensors")) {
        auto named = [](const std::string &name, const torch::Tensor &t) {
            detail::NamedTensor n;
            n.name = name;
            n.shape.assign(t.sizes().begin(), t.sizes().end());
            const auto c = t.contiguous();
            n.values.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
            return n;
        };
        detail::writeSafetensors((out / exportFileName(model, "check")).string(),
                                 {named("input", s.raw), named("logits", s.logits)},
                                 {{"batch", s.batchDescription}});
    }
    if (has("card")) {
        ExportedFile f;
        f.format = "card";
        f.checkedWith = "-";
        std::string curves, note = "no plotter in this program (distillery-export built without Qt)";
        if (request.drawCurves) {
            const fs::path png = out / exportFileName(model, "curves");
            note = request.drawCurves(request.runDir, png.string());
            if (note.empty())
                curves = png.filename().string();
        }
        try {
            const fs::path card = out / exportFileName(model, "card");
            std::string text;
            try {
                text = modelCard(request, s, report.files, curves, note);
            } catch (const nlohmann::json::exception &e) {
                throw std::runtime_error(request.runDir + ": damaged summary.json (" + std::string(e.what()) + ")");
            }
            detail::writeFileAtomically(card.string(), text);
            f.path = card.string();
            f.ok = true;
            if (curves.empty())
                f.message = "curves not drawn: " + note;
        } catch (const std::exception &e) {
            f.message = e.what();
        }
        report.files.push_back(f);
    }
    return report;
}

} // namespace distillery
