#include "runs/stage_state.h"

#include "runs/atomic_file.h"
#include "support/errors.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cstdio>
#include <mutex>

namespace distillery::detail {

namespace fs = std::filesystem;

void saveArchive(torch::serialize::OutputArchive &archive, const fs::path &path)
{
    std::string bytes;
    archive.save_to([&bytes](const void *data, std::size_t size) {
        bytes.append(static_cast<const char *>(data), size);
        return size;
    });
    try {
        writeFileAtomically(path.string(), bytes);
    } catch (const std::runtime_error &e) {
        throw std::runtime_error(std::string(e.what()) + " (disk full or folder gone?)");
    }
}

void saveStageState(const fs::path &path, Net &model, torch::optim::Optimizer &optimizer, at::Generator &shuffle,
                    const std::vector<torch::Tensor> &best, const StageProgress &p, torch::nn::Module *adapters)
{
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive modelArchive, optimizerArchive;
    model->save(modelArchive);
    optimizer.save(optimizerArchive);
    archive.write("model", modelArchive);
    archive.write("optimizer", optimizerArchive);
    if (adapters) {
        torch::serialize::OutputArchive adapterArchive;
        adapters->save(adapterArchive);
        archive.write("adapters", adapterArchive);
    }
    {
        auto defaultGenerator = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(defaultGenerator.mutex());
        archive.write("rng_default", defaultGenerator.get_state());
    }
    archive.write("rng_shuffle", shuffle.get_state());
    archive.write("best_count", torch::tensor(std::int64_t(best.size())));
    for (std::size_t i = 0; i < best.size(); ++i)
        archive.write("best_" + std::to_string(i), best[i]);
    archive.write("progress", torch::tensor(std::vector<double>{double(p.epoch), double(p.globalStep), p.bestScore,
                                                                double(p.bestEpoch), p.bestValAccuracy, p.testAccuracy,
                                                                p.finalTestAccuracy, p.seconds, p.lossScale.scale,
                                                                double(p.lossScale.finiteSteps),
                                                                double(p.lossScale.skippedSteps)},
                                            torch::kFloat64));
    saveArchive(archive, path);
}

fs::path epochStatePath(const fs::path &statePath, int epoch)
{
    std::string name = statePath.filename().string();
    const auto dot = name.find(".state.pt");
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".epoch-%04d.state.pt", epoch);
    return statePath.parent_path() / (name.substr(0, dot) + suffix);
}

void keepEpochState(const fs::path &statePath, int epoch)
{
    const fs::path kept = epochStatePath(statePath, epoch);
    std::error_code ec;
    fs::remove(kept, ec); // a resumed stage writes the epoch again
    fs::create_hard_link(statePath, kept, ec);
    if (ec)
        fs::copy_file(statePath, kept, fs::copy_options::overwrite_existing); // throws naming the file
}

int stateEpoch(const fs::path &path)
{
    if (!fs::is_regular_file(path))
        return 0;
    try {
        torch::serialize::InputArchive archive;
        archive.load_from(path.string());
        torch::Tensor progress;
        archive.read("progress", progress);
        return int(progress[0].item<double>());
    } catch (const c10::Error &e) {
        throw InvalidInput(path.string() + ": not a readable checkpoint (" + firstLine(e.what_without_backtrace()) + ")");
    }
}

namespace {

void restoreGenerators(torch::serialize::InputArchive &archive, at::Generator &shuffle)
{
    torch::Tensor state;
    archive.read("rng_default", state);
    {
        auto defaultGenerator = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(defaultGenerator.mutex());
        defaultGenerator.set_state(state.cpu());
    }
    torch::Tensor shuffleState;
    archive.read("rng_shuffle", shuffleState);
    shuffle.set_state(shuffleState.cpu());
}

StageProgress readProgress(torch::serialize::InputArchive &archive)
{
    torch::Tensor progress;
    archive.read("progress", progress);
    const auto v = progress.cpu().contiguous();
    const double *x = v.data_ptr<double>();
    // Eight values before the loss scale was kept (a checkpoint of an earlier version).
    if (v.numel() != 8 && v.numel() != 11)
        throw std::runtime_error("its progress record has " + std::to_string(v.numel()) + " values, not 11");
    StageProgress p{int(x[0]), std::int64_t(x[1]), x[2], int(x[3]), x[4], x[5], x[6], x[7]};
    if (v.numel() == 11)
        p.lossScale = LossScaleState{x[8], std::int64_t(x[9]), std::int64_t(x[10])};
    return p;
}

} // namespace

StageProgress loadStageState(const fs::path &path, Net &model, torch::optim::Optimizer &optimizer,
                             at::Generator &shuffle, std::vector<torch::Tensor> &best, torch::nn::Module *adapters)
{
    try {
        const auto device = model->parameters().empty() ? torch::Device(torch::kCPU) : model->parameters()[0].device();
        torch::serialize::InputArchive archive;
        archive.load_from(path.string(), device);
        torch::serialize::InputArchive modelArchive, optimizerArchive;
        archive.read("model", modelArchive);
        archive.read("optimizer", optimizerArchive);
        model->load(modelArchive);
        if (adapters) {
            torch::serialize::InputArchive adapterArchive;
            archive.read("adapters", adapterArchive);
            adapters->load(adapterArchive);
        }
        optimizer.load(optimizerArchive);
        restoreGenerators(archive, shuffle);
        torch::Tensor count;
        archive.read("best_count", count);
        best.assign(std::size_t(count.item<std::int64_t>()), torch::Tensor());
        for (std::size_t i = 0; i < best.size(); ++i)
            archive.read("best_" + std::to_string(i), best[i]);
        return readProgress(archive);
    } catch (const c10::Error &e) {
        throw InvalidInput(path.string() + ": cannot resume from it (" + firstLine(e.what_without_backtrace()) + ")");
    } catch (const std::runtime_error &e) {
        throw InvalidInput(path.string() + ": cannot resume from it (" + e.what() + ")");
    }
}

} // namespace distillery::detail
