#include "export/model_card.h"

#include "distillery/methods.h"

#include "distillery/architecture.h"
#include "export/card_figures.h"
#include "runs/atomic_file.h"

#include <cmath>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <sstream>

namespace distillery::detail {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

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

// The title and the paragraph under it.
void writeIntro(std::ostream &md, const Experiment &c, const json &data, const std::string &stage,
                const std::string &note)
{
    const std::string title = stage == "student" ? "distilled student" : stage == "baseline" ? "baseline student" : "teacher";
    md << "# " << c.name << ": " << title << "\n\n";
    md << "A " << modelDescription(c, stage) << " classifier for " << data.value("description", std::string("its data"))
       << ", exported by Distillery " << DISTILLERY_VERSION << " on " << today() << ".";
    const MethodInfo *method = findMethod(c.distillation.method);
    if (stage == "student" && trainsWithoutTeacher(c.distillation))
        md << " It was trained by " << method->title << " with "
           << std::lround(methodParam(c.distillation, "students")) - 1
           << " more students of its kind, each learning from the others, without a teacher.";
    else if (stage == "student")
        md << " It was trained by " << (method ? method->title : c.distillation.method) << " from a "
           << modelDescription(c, "teacher") << " teacher.";
    md << "\n\n";
    if (!note.empty())
        md << "**Note:** " << note << ".\n\n";
}

void writeResults(std::ostream &md, const Experiment &c, const json &stages, const ArchitectureReport &student,
                  std::int64_t teacherParams, std::int64_t teacherMacs)
{
    md << "## Results\n\n";
    md << "| Model | Architecture | Parameters | Multiply-adds per sample | Test accuracy |\n";
    md << "|---|---|---:|---:|---:|\n";
    if (stages.contains("teacher"))
        md << "| Teacher | " << modelDescription(c, "teacher") << " | " << groupDigits(teacherParams) << " | "
       << (teacherMacs ? groupDigits(teacherMacs) : std::string("-")) << " | " << percent(stages.value("teacher", json())) << " |\n";
    if (stages.contains("baseline"))
        md << "| Baseline student (labels only) | " << modelDescription(c, "student") << " | "
           << groupDigits(student.parameters) << " | " << groupDigits(student.multiplyAdds) << " | "
           << percent(stages["baseline"]) << " |\n";
    md << "| Distilled student | " << modelDescription(c, "student") << " | " << groupDigits(student.parameters)
       << " | " << groupDigits(student.multiplyAdds) << " | " << percent(stages.value("student", json())) << " |\n\n";
    if (student.parameters > 0 && teacherParams > 0)
        md << "The student has " << fixed(double(teacherParams) / double(student.parameters), 1)
           << "\u00d7 fewer parameters than the teacher"
           << (teacherMacs ? " and needs " + fixed(double(student.multiplyAdds) / double(teacherMacs), 2) +
                                 "\u00d7 the teacher's multiply-adds per sample"
                           : std::string())
           << ". Accuracies are on the test split, for the epoch with the best validation accuracy.\n\n";
}

void writeData(std::ostream &md, const json &data, const PortableModel &p, const std::string &stage)
{
    md << "## Data\n\n";
    md << "- " << data.value("description", std::string("-")) << "; input " << shapeToString(p.input) << ", "
       << p.classes << " classes";
    if (!p.classNames.empty()) {
        md << " (";
        for (std::size_t i = 0; i < p.classNames.size(); ++i)
            md << (i ? ", " : "") << p.classNames[i];
        md << ")";
    }
    md << ".\n";
    md << "- Training samples: " << data.value("train_samples", 0) << " (students: " << data.value("student_train_samples", 0)
       << "), validation " << data.value("validation_samples", 0) << ", test " << data.value("test_samples", 0) << ".\n";
    md << "- Input: raw values as Distillery reads them (image pixels scaled to [0, 1]). The TorchScript and ONNX "
          "models normalise inside, per channel, with the training set's mean and standard deviation; the "
          "safetensors weights do not, and " << exportFileName(stage, "architecture") << " gives the mean and std.\n\n";
}

void writeTraining(std::ostream &md, const Experiment &c, const json &sum)
{
    md << "## Distillation and training\n\n";
    const MethodInfo *method = findMethod(c.distillation.method);
    md << "- Method: " << c.distillation.method << ", temperature T = " << c.distillation.temperature;
    if (!method || method->usesAlpha)
        md << ", \u03b1 = " << c.distillation.alpha << " (weight of the soft-target term, scaled by T\u00b2)";
    for (const auto &p : method ? method->params : std::vector<MethodParam>{})
        md << ", " << p.key << " = " << methodParam(c.distillation, p.key);
    md << ".\n";
    md << "- Seed " << c.seed << ", device " << sum.value("device", std::string("-")) << ", LibTorch "
       << sum.value("libtorch", std::string("-")) << ".\n\n";
    md << "| Stage | Epochs | Batch | Optimiser | Learning rate | Schedule | Weight decay |\n";
    md << "|---|---:|---:|---|---:|---|---:|\n";
    if (c.teacher.source == "train" && !trainsWithoutTeacher(c.distillation))
        md << trainingRow("Teacher", c.teacher.train);
    md << trainingRow("Students", c.studentTrain) << "\n";
}

void writeArchitecture(std::ostream &md, const ArchitectureReport &student)
{
    md << "## Architecture of the exported model\n\n";
    md << "| # | Layer | Output | Parameters | Multiply-adds |\n|---:|---|---|---:|---:|\n";
    for (std::size_t i = 0; i < student.layers.size(); ++i) {
        const auto &l = student.layers[i];
        md << "| " << i + 1 << " | " << l.description << " | " << shapeToString(l.output) << " | "
           << groupDigits(l.parameters) << " | " << groupDigits(l.multiplyAdds) << " |\n";
    }
    md << "\n";
}

// The exported files, how each was checked, and how to load them.
void writeFiles(std::ostream &md, const ExportSubject &s, const std::vector<ExportedFile> &files,
                const std::string &stage)
{
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
}

void writeProvenance(std::ostream &md, const ExportRequest &r, const Experiment &c, const json &sum, const json &stages)
{
    const std::string stage = r.model;
    md << "## Provenance\n\n";
    md << "- Run: `" << fs::absolute(r.runDir).lexically_normal().string() << "` (started "
       << sum.value("started", std::string("-")) << ")\n";
    md << "- Weights: `checkpoints/" << exportStage(stage) << ".pt` of that run, the epoch with the best validation accuracy ("
       << stages.value(stage, json::object()).value("best_epoch", 0) << ")\n";
    md << "- Configuration: `config.json` of that run (rerun with `distillery-run config.json`)\n";
    if (c.teacher.source == "torchscript")
        md << "- Teacher: imported from `" << c.teacher.path << "`\n";
    else if (c.teacher.source == "run" && c.teacher.stage == "student")
        md << "- Teacher: the distilled student of run `" << c.teacher.run << "` (born-again generation "
           << c.distillation.generation << " of " << c.distillation.generations << ")\n";
    else if (c.teacher.source == "run")
        md << "- Teacher: reused from run `" << c.teacher.run << "`\n";
}


// ---- The analysis section (docs/INSIGHT.md's figures of the exported stage) ----

std::string figure(double v, int digits)
{
    return std::isfinite(v) ? fixed(v, digits) : std::string("-");
}

std::string figurePercent(double v)
{
    return std::isfinite(v) ? fixed(100.0 * v, 2) + "%" : std::string("-");
}

double classAccuracy(const StageAnalysis *a, std::size_t k)
{
    return a && k < a->perClassAccuracy.size() ? a->perClassAccuracy[k] : std::nan("");
}

void writeKeyFigures(std::ostream &md, const StageAnalysis &a)
{
    md << "Figures of the exported model on the " << groupDigits(a.examples)
       << " test examples, from the run's `analysis/summary.json` (Distillery's docs/INSIGHT.md defines them):\n\n";
    md << "| Figure | Value |\n|---|---:|\n";
    md << "| Test accuracy | " << figurePercent(a.accuracy) << " |\n";
    md << "| Negative log-likelihood (NLL) | " << figure(a.nll, 4) << " |\n";
    md << "| Brier score | " << figure(a.brier, 4) << " |\n";
    md << "| Expected calibration error (ECE, " << a.calibration.bins.size() << " bins) | "
       << figure(a.calibration.ece, 4) << " |\n";
    if (a.teacher) {
        md << "| Agreement with the teacher | " << figurePercent(a.teacher->agreement) << " |\n";
        md << "| KL(teacher \u2016 model), T = 1 | " << figure(a.teacher->kl, 4) << " |\n";
    }
    if (a.baseline) {
        md << "| Fixed against the baseline (baseline wrong, student right) | " << a.baseline->fixed.count << " |\n";
        md << "| Broken against the baseline (baseline right, student wrong) | " << a.baseline->broken.count << " |\n";
    }
    if (a.latency.device == "cpu" && std::isfinite(a.latency.medianMs))
        md << "| Latency, batch of 1 (CPU, " << a.latency.threads << " threads, median of " << a.latency.passes
           << " passes) | " << figure(a.latency.medianMs, 3) << " ms |\n";
    else
        md << "| Latency, batch of 1 | not measured" << (a.latency.device.empty() ? "" : " on " + a.latency.device)
           << " |\n";
    md << "| Parameters | " << groupDigits(a.parameters) << " |\n";
    md << "| Multiply-adds per sample | " << groupDigits(a.multiplyAdds) << " |\n\n";
}

void writeClassTable(std::ostream &md, const AnalysisSummary &s)
{
    const StageAnalysis *teacher = s.stage("teacher"), *baseline = s.stage("baseline"), *student = s.stage("student");
    md << "Test accuracy per class; the gain is the distilled student's minus the baseline's, in points:\n\n";
    if (teacher) // mutual learning has none
        md << "| Class | Teacher | Baseline | Student | Gain |\n|---|---:|---:|---:|---:|\n";
    else
        md << "| Class | Baseline | Student | Gain |\n|---|---:|---:|---:|\n";
    for (std::size_t k = 0; k < std::size_t(std::max<std::int64_t>(s.classes, 0)); ++k) {
        const double gain = 100.0 * (classAccuracy(student, k) - classAccuracy(baseline, k));
        md << "| " << k;
        if (k < s.classNames.size() && !s.classNames[k].empty() && s.classNames[k] != std::to_string(k))
            md << " " << s.classNames[k];
        if (teacher)
            md << " | " << figurePercent(classAccuracy(teacher, k));
        md << " | " << figurePercent(classAccuracy(baseline, k))
           << " | " << figurePercent(classAccuracy(student, k)) << " | "
           << (std::isfinite(gain) && gain > 0 ? "+" : "") << figure(gain, 2) << " |\n";
    }
    md << "\n";
}

void writeAnalysis(std::ostream &md, const CardAnalysis &an, const std::string &stage)
{
    md << "## Analysis\n\n";
    if (!an.summary) {
        md << an.absent << "\n\n";
        return;
    }
    if (const StageAnalysis *a = an.summary->stage(stage))
        writeKeyFigures(md, *a);
    else
        md << "The run's analysis (`analysis/summary.json`) has no figures of the " << stage << ".\n\n";
    writeClassTable(md, *an.summary);
    if (!an.reliability.empty())
        md << "![Reliability diagram of the " << stage << ": accuracy against confidence in "
           << kCalibrationBins << " bins](" << an.reliability << ")\n\n";
    if (!an.perClass.empty())
        md << "![Test accuracy per class of the teacher, the baseline and the student](" << an.perClass << ")\n\n";
    if (!an.figuresNote.empty())
        md << "Figures not drawn: " << an.figuresNote << ".\n\n";
}

} // namespace

CardAnalysis readCardAnalysis(const std::string &runDir)
{
    CardAnalysis a;
    std::error_code ec;
    if (!fs::exists(fs::path(runDir) / "analysis" / "summary.json", ec)) {
        a.absent = "No analysis: this run has no `analysis/summary.json` (runs made before Distillery analysed "
                   "its stages have none; run it again for the test-set figures).";
        return a;
    }
    try {
        a.summary = readAnalysisSummary(runDir);
    } catch (const std::exception &e) {
        a.absent = std::string("No analysis: ") + e.what() + ".";
    }
    return a;
}

std::vector<ExportedFile> writeCardFigures(CardAnalysis &analysis, const std::string &stage, const fs::path &out)
{
    std::vector<ExportedFile> files;
    if (!analysis.summary)
        return files;
    const AnalysisSummary &s = *analysis.summary;
    auto write = [&](const std::string &format, const std::string &svg, std::string &name) {
        ExportedFile f;
        f.format = "card";
        f.checkedWith = "-";
        const fs::path path = out / exportFileName(stage, format);
        try {
            writeFileAtomically(path.string(), svg);
            f.path = path.string();
            f.ok = true;
            name = path.filename().string();
        } catch (const std::exception &e) {
            f.message = e.what();
            analysis.figuresNote += (analysis.figuresNote.empty() ? "" : "; ") + f.message;
        }
        files.push_back(f);
    };
    if (const StageAnalysis *a = s.stage(stage))
        write("reliability", reliabilitySvg(*a), analysis.reliability);
    if (!s.stages.empty())
        write("per-class", perClassSvg({s.stage("teacher"), s.stage("baseline"), s.stage("student")}, s.classNames),
              analysis.perClass);
    return files;
}

std::string modelCard(const ExportRequest &r, const ExportSubject &s, const std::vector<ExportedFile> &files,
                      const std::string &curves, const std::string &curvesNote, const CardAnalysis &analysis)
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

    std::ostringstream md;
    writeIntro(md, c, data, stage, s.note);
    writeResults(md, c, stages, studentReport, teacherParams, teacherMacs);
    writeData(md, data, s.portable, stage);
    writeTraining(md, c, sum);
    writeArchitecture(md, studentReport);
    md << "## Training curves\n\n";
    if (!curves.empty())
        md << "![Loss and accuracy curves](" << curves << ")\n\n";
    else
        md << "Not drawn: " << curvesNote << ".\n\n";
    writeAnalysis(md, analysis, stage);
    writeFiles(md, s, files, stage);
    writeProvenance(md, r, c, sum, stages);
    return md.str();
}

} // namespace distillery::detail
