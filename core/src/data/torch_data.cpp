#include "data/torch_data.h"

#include "data/sources.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

namespace distillery {

namespace detail {
namespace {

// Class-balanced sample of `n` rows of `y`, in a seeded random order.
torch::Tensor balancedSubset(const torch::Tensor &y, const std::vector<int> &classes, std::int64_t n,
                             std::uint64_t seed)
{
    auto gen = at::detail::createCPUGenerator(seed + 104729);
    std::vector<torch::Tensor> perClass;
    for (int c : classes) {
        auto rows = (y == c).nonzero().squeeze(1);
        perClass.push_back(rows.index_select(0, torch::randperm(rows.size(0), gen, torch::kInt64)));
    }
    std::vector<torch::Tensor> picked;
    std::int64_t left = n;
    for (std::size_t i = 0; i < classes.size(); ++i) {
        const std::int64_t want = left / std::int64_t(classes.size() - i);
        const std::int64_t take = std::min(want, perClass[i].size(0));
        picked.push_back(perClass[i].slice(0, 0, take));
        left -= take;
    }
    auto all = torch::cat(picked);
    return all.index_select(0, torch::randperm(all.size(0), gen, torch::kInt64));
}

// The rows of the training split the students learn from: all of them, or a
// class-balanced subset (data.student_train_size), without the omitted
// classes (data.omit_classes). Undefined when that is every row.
torch::Tensor studentRows(const DataConfig &c, const torch::Tensor &trainY, int classes)
{
    std::vector<int> kept;
    for (int k = 0; k < classes; ++k)
        if (std::find(c.omitClasses.begin(), c.omitClasses.end(), k) == c.omitClasses.end())
            kept.push_back(k);
    for (int k : c.omitClasses)
        if (k >= classes)
            throw ConfigError("data.omit_classes: there is no class " + std::to_string(k) + " (the data set has " +
                              std::to_string(classes) + " classes, 0 to " + std::to_string(classes - 1) + ")");
    if (kept.empty())
        throw ConfigError("data.omit_classes: every class is omitted, so the students would have nothing to learn from");
    const std::int64_t candidates = c.omitClasses.empty()
                                        ? trainY.size(0)
                                        : torch::isin(trainY, torch::tensor(c.omitClasses, torch::kInt64))
                                              .logical_not().sum().item<std::int64_t>();
    if (c.studentTrainSize > 0 && c.studentTrainSize < candidates) {
        if (c.studentTrainSize < std::int64_t(kept.size()))
            throw ConfigError("data.student_train_size: " + std::to_string(c.studentTrainSize) +
                              " is fewer than one sample per class (" + std::to_string(kept.size()) + " classes)");
        return balancedSubset(trainY, kept, c.studentTrainSize, c.seed);
    }
    if (c.omitClasses.empty())
        return {};
    return torch::isin(trainY, torch::tensor(c.omitClasses, torch::kInt64)).logical_not().nonzero().squeeze(1);
}

} // namespace

LoadedData loadData(const DataConfig &c, const torch::Device &device, const DataLoadOptions &options)
{
    RawData raw = loadRawData(c, options);
    const auto classesFromLabels = [](const torch::Tensor &y) { return int(y.max().item<std::int64_t>()) + 1; };
    int classes = std::max(classesFromLabels(raw.trainY), int(raw.classNames.size()));
    if (raw.testY.size(0) > 0 && classesFromLabels(raw.testY) > classes)
        throw DataError(raw.description + ": the test set has labels the training set does not have");
    if (classes < 2)
        throw DataError(raw.description + ": needs at least two classes");
    if (raw.classNames.empty())
        raw.classNames = numberedClasses(classes);
    while (int(raw.classNames.size()) < classes)
        raw.classNames.push_back("class " + std::to_string(raw.classNames.size()));

    if (c.trainLimit > 0 && c.trainLimit < raw.trainY.size(0)) {
        raw.trainX = raw.trainX.slice(0, 0, c.trainLimit);
        raw.trainY = raw.trainY.slice(0, 0, c.trainLimit);
    }
    const std::int64_t n = raw.trainY.size(0);
    const std::int64_t nVal = std::int64_t(double(n) * c.validationFraction);
    if (n - nVal < 2)
        throw DataError(raw.description + ": too few training samples (" + std::to_string(n) + ")");

    LoadedData d;
    auto gen = at::detail::createCPUGenerator(c.seed + 15485863);
    auto perm = torch::randperm(n, gen, torch::kInt64);
    auto trainRows = perm.slice(0, nVal);
    auto valRows = perm.slice(0, 0, nVal);
    auto trainX = raw.trainX.index_select(0, trainRows);
    auto trainY = raw.trainY.index_select(0, trainRows);

    // Normalise with the training split's statistics: per channel for images,
    // per feature for vectors.
    const bool images = trainX.dim() == 4;
    const std::vector<std::int64_t> reduce = images ? std::vector<std::int64_t>{0, 2, 3} : std::vector<std::int64_t>{0};
    auto mean = trainX.mean(reduce, /*keepdim=*/true);
    auto stdev = trainX.std(reduce, /*unbiased=*/false, /*keepdim=*/true).clamp_min(1e-6);
    auto normalise = [&](torch::Tensor x) { return ((x - mean) / stdev).contiguous().to(device); };
    d.train = {normalise(trainX), trainY.to(device)};
    if (nVal > 0)
        d.validation = {normalise(raw.trainX.index_select(0, valRows)), raw.trainY.index_select(0, valRows).to(device)};
    d.test = {normalise(raw.testX), raw.testY.to(device)};
    auto flatMean = mean.flatten(), flatStd = stdev.flatten();
    d.mean.assign(flatMean.data_ptr<float>(), flatMean.data_ptr<float>() + flatMean.numel());
    d.stdev.assign(flatStd.data_ptr<float>(), flatStd.data_ptr<float>() + flatStd.numel());

    auto &s = d.summary;
    s.description = raw.description;
    s.inputShape.assign(trainX.sizes().begin() + 1, trainX.sizes().end());
    s.classes = classes;
    s.classNames = raw.classNames;
    s.trainSamples = d.train.size();
    s.validationSamples = d.validation.size();
    s.testSamples = d.test.size();
    auto counts = torch::bincount(trainY, {}, classes);
    s.trainClassCounts.assign(counts.data_ptr<std::int64_t>(), counts.data_ptr<std::int64_t>() + classes);
    const torch::Tensor rows = studentRows(c, trainY, classes);
    if (rows.defined())
        d.studentIndices = rows.to(device);
    s.studentTrainSamples = rows.defined() ? rows.size(0) : s.trainSamples;
    return d;
}

std::vector<SampleImage> sampleImages(const LoadedData &data, const Split &split, const torch::Tensor &rows,
                                      bool stretch)
{
    std::vector<SampleImage> out;
    if (split.x.dim() != 4 || rows.numel() == 0)
        return out;
    const auto c = split.x.size(1);
    auto mean = torch::tensor(data.mean).to(torch::kFloat32).view({1, c, 1, 1});
    auto stdev = torch::tensor(data.stdev).to(torch::kFloat32).view({1, c, 1, 1});
    auto x = split.x.index_select(0, rows).to(torch::kCPU) * stdev + mean;
    // Synthetic images are not in [0, 1]: stretch each to its own range.
    if (stretch) {
        auto low = x.amin({1, 2, 3}, /*keepdim=*/true), high = x.amax({1, 2, 3}, /*keepdim=*/true);
        x = (x - low) / (high - low).clamp_min(1e-6);
    }
    auto bytes = (x.clamp(0, 1) * 255).round().to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
    const auto labels = split.y.index_select(0, rows).to(torch::kCPU).contiguous();
    const std::int64_t *label = labels.data_ptr<std::int64_t>();
    const std::int64_t size = bytes[0].numel();
    const std::uint8_t *from = bytes.data_ptr<std::uint8_t>();
    out.resize(std::size_t(rows.numel()));
    for (std::size_t i = 0; i < out.size(); ++i) {
        SampleImage &img = out[i];
        img.height = int(bytes.size(1));
        img.width = int(bytes.size(2));
        img.channels = int(bytes.size(3));
        img.label = int(label[i]);
        img.pixels.assign(from + std::int64_t(i) * size, from + std::int64_t(i + 1) * size);
    }
    return out;
}

Split studentSplit(const LoadedData &data)
{
    if (!data.studentIndices.defined())
        return data.train;
    return {data.train.x.index_select(0, data.studentIndices), data.train.y.index_select(0, data.studentIndices)};
}

} // namespace detail

DatasetSummary inspectDataset(const DataConfig &config, const DataLoadOptions &options)
{
    return detail::loadData(config, torch::kCPU, options).summary;
}

DatasetPreview previewDataset(const DataConfig &config, const DataLoadOptions &options)
{
    const detail::LoadedData d = detail::loadData(config, torch::kCPU, options);
    DatasetPreview p;
    p.summary = d.summary;
    if (d.test.x.dim() != 4)
        return p;
    std::vector<std::int64_t> firsts; // the first test row of each class present
    for (int k = 0; k < d.summary.classes; ++k) {
        auto rows = (d.test.y == k).nonzero();
        if (rows.size(0) > 0)
            firsts.push_back(rows[0][0].item<std::int64_t>());
    }
    p.samples = detail::sampleImages(d, d.test, torch::tensor(firsts, torch::kInt64),
                                     config.source.rfind("synthetic", 0) == 0);
    return p;
}

} // namespace distillery
