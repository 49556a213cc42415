#include "distillery/export.h"

#include "export/export_subject.h"
#include "export/model_card.h"
#include "runs/atomic_file.h"
#include "models/model_io.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace distillery {

namespace fs = std::filesystem;
using nlohmann::json;
using detail::ExportSubject;

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
    if (format == "reliability")
        return model + "-reliability.svg";
    if (format == "per-class")
        return model + "-per-class.svg";
    if (format == "check")
        return model + "-check.safetensors";
    return model + "." + format;
}

namespace {

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

// Throws ExportError naming the first format this build does not write.
void checkFormats(const std::vector<std::string> &formats)
{
    const auto known = exportFormats();
    for (const auto &f : formats)
        if (std::find(known.begin(), known.end(), f) == known.end()) {
            std::string list;
            for (const auto &k : known)
                list += (list.empty() ? "" : ", ") + k;
            throw ExportError("format: '" + f + "' is not one of " + list +
                              (f == "onnx" ? " (this build has no ONNX support)" : ""));
        }
}

// Creates `out` when missing; throws ExportError unless a file can be written in it.
void prepareOutputFolder(const fs::path &out)
{
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec || !fs::is_directory(out))
        throw ExportError(out.string() + ": cannot create the output folder" + (ec ? " (" + ec.message() + ")" : ""));
    const fs::path probe = out / ".distillery-write-test";
    std::ofstream test(probe);
    const bool writable = bool(test << "x");
    test.close();
    fs::remove(probe, ec);
    if (!writable)
        throw ExportError(out.string() + ": the output folder is not writable");
}

ExportedFile exportTorchScript(const ExportSubject &s, const fs::path &path, const std::string &architecture)
{
    return exportOne(
        "torchscript", path, 1e-5,
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
            detail::compareLogits(s, loaded.module.forward({s.raw}).toTensor(), f);
        });
}

ExportedFile exportOnnx(const ExportSubject &s, const fs::path &path)
{
    return exportOne(
        "onnx", path, 1e-4, [&](const std::string &tmp) { detail::writeOnnx(tmp, s.portable, DISTILLERY_VERSION); },
        [&](const std::string &tmp, ExportedFile &f) {
            f.checkedWith = "ONNX graph run by LibTorch";
            detail::compareLogits(s, detail::runOnnx(tmp, s.raw), f);
        });
}

// The weights as safetensors and, beside them, the architecture they need;
// the architecture is kept only when the weights pass their check.
ExportedFile exportSafetensors(const ExportSubject &s, const fs::path &path, const fs::path &archPath,
                               const std::string &architecture, const json &meta)
{
    ExportedFile file = exportOne(
        "safetensors", path, 1e-5,
        [&](const std::string &tmp) {
            detail::writeSafetensors(tmp, s.portable.tensors, {{"format", "pt"}, {"distillery", meta.dump()}});
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
            detail::compareLogits(s, net->forward((s.raw - meanT.view(view)) / stdT.view(view)), f);
        });
    const std::string archTmp = archPath.string() + ".partial";
    if (file.ok)
        detail::commitFile(archTmp, archPath.string());
    std::error_code ec;
    fs::remove(archTmp, ec);
    return file;
}

// The check batch beside the models, for testing a deployment.
void writeCheckBatch(const ExportSubject &s, const fs::path &path)
{
    auto named = [](const std::string &name, const torch::Tensor &t) {
        detail::NamedTensor n;
        n.name = name;
        n.shape.assign(t.sizes().begin(), t.sizes().end());
        const auto c = t.contiguous();
        n.values.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
        return n;
    };
    detail::writeSafetensors(path.string(), {named("input", s.raw), named("logits", s.logits)},
                             {{"batch", s.batchDescription}});
}

// The model card, with the training curves when the request can draw them
// and the figures of the run's analysis: the card first, then its figures.
std::vector<ExportedFile> exportCard(const ExportRequest &request, const ExportSubject &s,
                                     const std::vector<ExportedFile> &files, const fs::path &out)
{
    ExportedFile f;
    f.format = "card";
    f.checkedWith = "-";
    std::string curves, note = "no plotter in this program (distillery-export built without Qt)";
    if (request.drawCurves) {
        const fs::path png = out / exportFileName(request.model, "curves");
        note = request.drawCurves(request.runDir, png.string());
        if (note.empty())
            curves = png.filename().string();
    }
    detail::CardAnalysis analysis = detail::readCardAnalysis(request.runDir);
    std::vector<ExportedFile> figures = detail::writeCardFigures(analysis, request.model, out);
    try {
        const fs::path card = out / exportFileName(request.model, "card");
        std::string text;
        try {
            text = detail::modelCard(request, s, files, curves, note, analysis);
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
    figures.insert(figures.begin(), f);
    return figures;
}

} // namespace

ExportReport exportRun(const ExportRequest &request)
{
    std::vector<std::string> formats = request.formats.empty() ? exportFormats() : request.formats;
    checkFormats(formats);
    if (request.outDir.empty())
        throw ExportError("output folder: none given");

    ExportSubject s;
    try {
        s = detail::loadSubject(request);
    } catch (const nlohmann::json::exception &e) {
        throw ExportError(request.runDir + ": damaged summary.json (" + std::string(e.what()) + ")");
    }

    const fs::path out = request.outDir;
    prepareOutputFolder(out);

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
        report.files.push_back(exportTorchScript(s, out / exportFileName(model, "torchscript"), architecture));
    if (has("onnx"))
        report.files.push_back(exportOnnx(s, out / exportFileName(model, "onnx")));
    if (has("safetensors"))
        report.files.push_back(exportSafetensors(s, out / exportFileName(model, "safetensors"),
                                                 out / exportFileName(model, "architecture"), architecture, meta));
    if (has("torchscript") || has("onnx") || has("safetensors"))
        writeCheckBatch(s, out / exportFileName(model, "check"));
    if (has("card"))
        for (auto &f : exportCard(request, s, report.files, out))
            report.files.push_back(std::move(f));
    return report;
}

} // namespace distillery
