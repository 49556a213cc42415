#include "training/data_parallel.h"

#include "support/errors.h"

namespace distillery::detail {

DataParallel::DataParallel(Communicator &comm, torch::nn::Module &model, torch::nn::Module *adapters,
                           torch::optim::Optimizer &optimizer, bool syncBatchNorm)
    : comm_(comm)
{
    std::vector<torch::Tensor> state;
    for (auto *m : {&model, adapters}) {
        if (!m)
            continue;
        for (auto &p : m->parameters())
            state.push_back(p.data());
        for (auto &b : m->buffers())
            state.push_back(b);
    }
    comm_.broadcastFromLeader(state);
    std::vector<torch::Tensor> parameters;
    for (auto &group : optimizer.param_groups())
        for (auto &p : group.params())
            parameters.push_back(p);
    reducer_ = std::make_unique<GradientReducer>(comm_, parameters);
    if (syncBatchNorm)
        syncBatchNorm_ = std::make_unique<SyncBatchNormScope>(
            [this](torch::Tensor &t) {
                std::vector<torch::Tensor> one{t};
                comm_.allreduceSum(one);
            },
            &reducer_->share());
}

torch::Tensor DataParallel::globalSums(const torch::Tensor &acc)
{
    std::vector<torch::Tensor> all{acc.cpu().clone()};
    comm_.allreduceSum(all);
    return all[0];
}

namespace {

using Changes = std::vector<std::pair<std::string, double>>;

// Setting changes as numbers, for a collective: per change its value, the
// length of its key and the key's characters.
std::vector<double> encode(const Changes &changes)
{
    std::vector<double> out;
    for (const auto &[key, value] : changes) {
        out.push_back(value);
        out.push_back(double(key.size()));
        for (unsigned char c : key)
            out.push_back(double(c));
    }
    return out;
}

Changes decode(const torch::Tensor &numbers)
{
    const auto v = numbers.to(torch::kCPU, torch::kFloat64).contiguous();
    const double *x = v.data_ptr<double>();
    const std::size_t n = std::size_t(v.numel());
    Changes out;
    for (std::size_t i = 0; i + 1 < n;) {
        const double value = x[i];
        const auto length = std::size_t(x[i + 1]);
        i += 2;
        std::string key;
        for (std::size_t k = 0; k < length && i < n; ++k, ++i)
            key.push_back(char(int(x[i])));
        out.emplace_back(std::move(key), value);
    }
    return out;
}

} // namespace

bool DataParallel::betweenSteps(RunControl &control, const std::function<void(bool)> &pausedChanged, bool &waited)
{
    // Rank 0's setting changes (the window's, checked there) go to every
    // process, which make them before the same step.
    const std::vector<double> requested = encode(comm_.leader() ? control.takeRequested() : Changes{});
    auto agreed = comm_.agree(control.stopRequested(), control.pauseRequested(), std::int64_t(requested.size()));
    if (agreed.count > 0) {
        std::vector<torch::Tensor> shared{comm_.leader() ? torch::tensor(requested, torch::kFloat64)
                                                        : torch::zeros({agreed.count}, torch::kFloat64)};
        comm_.allreduceSum(shared); // the others add zeros
        control.deliver(decode(shared[0]));
    }
    waited = agreed.pause && !agreed.stop;
    if (waited) {
        pausedChanged(true);
        while (agreed.pause && !agreed.stop) {
            control.waitWhilePaused(std::chrono::seconds(1)); // the others wait in the collective
            agreed = comm_.agree(control.stopRequested(), control.pauseRequested());
        }
        pausedChanged(false);
    }
    return agreed.stop;
}

void DataParallel::seedEpoch(std::uint64_t stageSeed, int epoch)
{
    if (comm_.rank() > 0)
        torch::manual_seed(stageSeed ^ (0x9E3779B97F4A7C15ULL * std::uint64_t(comm_.rank() * 4096 + epoch)));
}

void DataParallel::beforeEvaluation(torch::nn::Module &model, DynamicsRecorder &dynamics)
{
    std::vector<torch::Tensor> buffers;
    for (auto &b : model.buffers())
        buffers.push_back(b);
    if (!buffers.empty())
        comm_.broadcastFromLeader(buffers);
    dynamics.merge([this](std::vector<torch::Tensor> &t) { comm_.allreduceSum(t); });
}

void checkSyncBatchNormRows(const std::string &stage, std::int64_t lastBatchRows, int processes)
{
    if (lastBatchRows >= 2 && lastBatchRows < processes)
        throw InvalidInput("distributed.sync_batch_norm: the " + stage + " stage's last batch of an epoch has " +
                           std::to_string(lastBatchRows) + " rows, fewer than the " + std::to_string(processes) +
                           " processes, and each needs one (change the batch size or the processes)");
}

} // namespace distillery::detail
