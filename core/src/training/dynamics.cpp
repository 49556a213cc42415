#include "training/dynamics.h"

#include <cmath>

namespace distillery::detail {

DynamicsRecorder::DynamicsRecorder(std::filesystem::path path, const Split &split, const torch::Tensor &trainRows)
    : path_(std::move(path))
{
    std::error_code ec; // a folder that cannot be made fails the first write, naming the file
    std::filesystem::create_directory(path_.parent_path(), ec); // never the run folder itself: a vanished run stays gone
    d_.rows = split.size();
    const auto rows = trainRows.defined() ? trainRows.to(torch::kCPU).to(torch::kInt64).contiguous()
                                          : torch::arange(d_.rows, torch::kInt64);
    const auto labels = split.y.to(torch::kCPU).contiguous();
    d_.trainRows.assign(rows.data_ptr<std::int64_t>(), rows.data_ptr<std::int64_t>() + d_.rows);
    d_.labels.assign(labels.data_ptr<std::int64_t>(), labels.data_ptr<std::int64_t>() + d_.rows);
    labels_ = split.y;
}

void DynamicsRecorder::beginEpoch()
{
    if (logits_.defined())
        logits_.fill_(std::nan(""));
}

void DynamicsRecorder::record(const torch::Tensor &idx, const torch::Tensor &logits)
{
    torch::NoGradGuard guard;
    if (!logits_.defined()) // N × K, K known from the first batch
        logits_ = torch::full({d_.rows, logits.size(1)}, std::nan(""),
                              torch::TensorOptions().dtype(torch::kFloat).device(logits.device()));
    logits_.index_copy_(0, idx, logits.detach().to(torch::kFloat));
}

void DynamicsRecorder::merge(const std::function<void(std::vector<torch::Tensor> &)> &allreduceSum)
{
    torch::NoGradGuard guard;
    // Every process has the tensor once any has trained a step; one that has
    // not (no rows of its own yet) takes part with nothing seen.
    const bool has = logits_.defined();
    std::vector<torch::Tensor> shape{torch::tensor({has ? double(logits_.size(1)) : 0.0, has ? 1.0 : 0.0})};
    allreduceSum(shape);
    const double holders = shape[0][1].item<double>();
    if (holders == 0)
        return;
    const auto classes = std::int64_t(shape[0][0].item<double>() / holders + 0.5);
    if (!logits_.defined())
        logits_ = torch::full({d_.rows, classes}, std::nan(""), torch::TensorOptions().dtype(torch::kFloat).device(labels_.device()));
    const auto seen = logits_.isnan().any(1).logical_not();
    std::vector<torch::Tensor> parts{logits_.masked_fill(seen.logical_not().unsqueeze(1), 0.0).cpu(),
                                     seen.to(torch::kFloat).cpu()};
    allreduceSum(parts);
    logits_ = parts[0].masked_fill(parts[1].eq(0).unsqueeze(1), std::nan("")).to(logits_.device());
}

void DynamicsRecorder::endEpoch()
{
    torch::Tensor p = torch::full({d_.rows}, std::nan(""), torch::kFloat);
    torch::Tensor c = torch::full({d_.rows}, int(TrainingDynamics::kUnseen), torch::kUInt8);
    if (logits_.defined()) { // else no step this epoch: every example unseen
        torch::NoGradGuard guard;
        const auto unseen = logits_.isnan().any(1);
        p = logits_.softmax(1).gather(1, labels_.unsqueeze(1)).squeeze(1).to(torch::kCPU).contiguous();
        c = logits_.argmax(1)
                .eq(labels_)
                .to(torch::kUInt8)
                .masked_fill(unseen, int(TrainingDynamics::kUnseen))
                .to(torch::kCPU)
                .contiguous();
    }
    d_.probability.insert(d_.probability.end(), p.data_ptr<float>(), p.data_ptr<float>() + d_.rows);
    d_.correct.insert(d_.correct.end(), c.data_ptr<std::uint8_t>(), c.data_ptr<std::uint8_t>() + d_.rows);
    ++d_.epochs;
    try {
        writeTrainingDynamics(path_.string(), d_);
    } catch (const std::runtime_error &e) {
        throw std::runtime_error(std::string(e.what()) + " (disk full or folder gone?)");
    }
}

void DynamicsRecorder::resume(int epochsDone)
{
    TrainingDynamics before;
    try {
        before = readTrainingDynamics(path_.string());
    } catch (const AnalysisError &) {
        before = {}; // missing (a run from before the file) or damaged: those epochs count as unseen
    }
    const bool same = before.rows == d_.rows && before.trainRows == d_.trainRows && before.labels == d_.labels;
    const auto n = std::size_t(d_.rows);
    const auto kept = std::size_t(same ? std::min<std::int64_t>(before.epochs, epochsDone) : 0);
    d_.probability.assign(before.probability.begin(), before.probability.begin() + std::ptrdiff_t(kept * n));
    d_.correct.assign(before.correct.begin(), before.correct.begin() + std::ptrdiff_t(kept * n));
    d_.probability.resize(std::size_t(epochsDone) * n, std::nanf(""));
    d_.correct.resize(std::size_t(epochsDone) * n, TrainingDynamics::kUnseen);
    d_.epochs = epochsDone;
    // An epoch written after the checkpoint (a kill between the two) goes at
    // once, not only when the next epoch ends: the session may stop before.
    if (!same || before.epochs != epochsDone)
        writeTrainingDynamics(path_.string(), d_);
}

} // namespace distillery::detail
