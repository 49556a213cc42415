#include "training/dynamics.h"

#include <cmath>

namespace distillery::detail {

DynamicsRecorder::DynamicsRecorder(std::filesystem::path path, const Split &split, const torch::Tensor &trainRows)
    : path_(std::move(path))
{
    std::error_code ec; // a folder that cannot be made fails the first write, naming the file
    std::filesystem::create_directories(path_.parent_path(), ec);
    d_.rows = split.size();
    const auto rows = trainRows.defined() ? trainRows.to(torch::kCPU).to(torch::kInt64).contiguous()
                                          : torch::arange(d_.rows, torch::kInt64);
    const auto labels = split.y.to(torch::kCPU).contiguous();
    d_.trainRows.assign(rows.data_ptr<std::int64_t>(), rows.data_ptr<std::int64_t>() + d_.rows);
    d_.labels.assign(labels.data_ptr<std::int64_t>(), labels.data_ptr<std::int64_t>() + d_.rows);
    const auto device = split.y.device();
    probability_ = torch::empty({d_.rows}, torch::TensorOptions().dtype(torch::kFloat).device(device));
    correct_ = torch::empty({d_.rows}, torch::TensorOptions().dtype(torch::kUInt8).device(device));
}

void DynamicsRecorder::beginEpoch()
{
    probability_.fill_(std::nan(""));
    correct_.fill_(int(TrainingDynamics::kUnseen));
}

void DynamicsRecorder::record(const torch::Tensor &idx, const torch::Tensor &logits, const torch::Tensor &labels)
{
    torch::NoGradGuard guard;
    const auto z = logits.detach().to(torch::kFloat);
    probability_.index_copy_(0, idx, z.softmax(1).gather(1, labels.unsqueeze(1)).squeeze(1));
    correct_.index_copy_(0, idx, z.argmax(1).eq(labels).to(torch::kUInt8));
}

void DynamicsRecorder::endEpoch()
{
    const auto p = probability_.to(torch::kCPU).contiguous();
    const auto c = correct_.to(torch::kCPU).contiguous();
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
}

} // namespace distillery::detail
