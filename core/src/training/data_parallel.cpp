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

bool DataParallel::betweenSteps(RunControl &control, const std::function<void(bool)> &pausedChanged, bool &waited)
{
    auto agreed = comm_.agree(control.stopRequested(), control.pauseRequested());
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
