#include "data/torch_data.h"

#include "data/readers.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <filesystem>

namespace distillery {

namespace fs = std::filesystem;

const std::vector<std::string> &dataSources()
{
    static const std::vector<std::string> s{"fashion-mnist", "mnist",  "kmnist",           "idx",
                                            "cifar10",       "csv",    "synthetic-vectors", "synthetic-images"};
    return s;
}

std::string defaultDataPath(const std::string &source)
{
    if (source == "fashion-mnist")
        return "/usr/share/datasets/fashion-mnist";
    if (source == "mnist")
        return "/usr/share/datasets/mnist";
    return {};
}

namespace detail {
namespace {

struct Raw {
    torch::Tensor trainX, trainY, testX, testY; // x float (unnormalised), y int64, on CPU
    std::vector<std::string> classNames;
    std::string description;
};

std::vector<std::string> numberedClasses(int k)
{
    std::vector<std::string> names;
    for (int i = 0; i < k; ++i)
        names.push_back("class " + std::to_string(i));
    return names;
}

// Finds `stem` or `stem.gz` in `dir`.
std::string findFile(const std::string &dir, const std::vector<std::string> &stems)
{
    for (const auto &stem : stems)
        for (const char *ext : {"", ".gz"}) {
            const fs::path p = fs::path(dir) / (stem + ext);
            if (fs::exists(p))
                return p.string();
        }
    throw DataError(dir + ": no " + stems.front() + "[.gz] here (data.path)");
}

torch::Tensor bytesToTensor(std::vector<std::uint8_t> &&bytes, std::vector<std::int64_t> sizes, torch::ScalarType type)
{
    // One conversion from the file's bytes to the working type, no per-sample copies.
    auto t = torch::from_blob(bytes.data(), {std::int64_t(bytes.size())}, torch::kUInt8);
    return t.to(type).reshape(sizes);
}

Raw loadIdxSet(const std::string &dir, const std::string &label)
{
    if (!fs::is_directory(dir))
        throw DataError(dir + ": data folder not found (data.path)" +
                        (dir.rfind("/usr/share/datasets/", 0) == 0
                             ? std::string("; install it with: apt-get install dataset-") + fs::path(dir).filename().string()
                             : std::string()));
    Raw r;
    r.description = label + " (" + dir + ")";
    auto readPair = [&](const std::string &images, const std::string &labels, torch::Tensor &x, torch::Tensor &y) {
        const std::string ip = findFile(dir, {images + "-idx3-ubyte", images + ".idx3-ubyte"});
        const std::string lp = findFile(dir, {labels + "-idx1-ubyte", labels + ".idx1-ubyte"});
        IdxArray img = readIdx(ip);
        IdxArray lab = readIdx(lp);
        if (img.dims.size() != 3)
            throw DataError(ip + ": expected images (3 dimensions: count, height, width), found " +
                            std::to_string(img.dims.size()));
        if (lab.dims.size() != 1)
            throw DataError(lp + ": expected labels (1 dimension), found " + std::to_string(lab.dims.size()));
        if (img.dims[0] != lab.dims[0])
            throw DataError(ip + " holds " + std::to_string(img.dims[0]) + " images but " + lp + " holds " +
                            std::to_string(lab.dims[0]) + " labels");
        if (img.dims[0] == 0 || img.dims[1] == 0 || img.dims[2] == 0)
            throw DataError(ip + ": holds no images");
        for (auto v : lab.values)
            if (v > 99)
                throw DataError(lp + ": label " + std::to_string(v) + " is out of range");
        const auto n = img.dims[0];
        x = bytesToTensor(std::move(img.values), {n, 1, img.dims[1], img.dims[2]}, torch::kFloat32).div_(255.0);
        y = bytesToTensor(std::move(lab.values), {n}, torch::kInt64);
    };
    readPair("train-images", "train-labels", r.trainX, r.trainY);
    readPair("t10k-images", "t10k-labels", r.testX, r.testY);
    if (r.trainX.sizes().slice(1) != r.testX.sizes().slice(1))
        throw DataError(dir + ": training and test images differ in size");
    return r;
}

Raw loadCifar(const std::string &dir)
{
    if (!fs::is_directory(dir))
        throw DataError(dir + ": CIFAR-10 folder not found (data.path)");
    std::vector<std::string> train;
    for (int i = 1; i <= 5; ++i)
        train.push_back(findFile(dir, {"data_batch_" + std::to_string(i) + ".bin"}));
    auto tr = readCifarBatches(train);
    auto te = readCifarBatches({findFile(dir, {"test_batch.bin"})});
    Raw r;
    r.description = "CIFAR-10 (" + dir + ")";
    r.trainX = bytesToTensor(std::move(tr.pixels), {tr.count, 3, 32, 32}, torch::kFloat32).div_(255.0);
    r.trainY = bytesToTensor(std::move(tr.labels), {tr.count}, torch::kInt64);
    r.testX = bytesToTensor(std::move(te.pixels), {te.count, 3, 32, 32}, torch::kFloat32).div_(255.0);
    r.testY = bytesToTensor(std::move(te.labels), {te.count}, torch::kInt64);
    r.classNames = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
    return r;
}

Raw loadCsv(const DataConfig &c)
{
    if (c.path.empty())
        throw ConfigError("data.path: a CSV source needs the path of its file");
    auto tr = readCsv(c.path, c.labelColumn);
    Raw r;
    r.description = "CSV (" + c.path + ")";
    r.classNames = tr.classNames;
    auto x = torch::from_blob(tr.values.data(), {tr.rows, tr.features}, torch::kFloat32).clone();
    auto y = torch::from_blob(tr.labels.data(), {tr.rows}, torch::kInt64).clone();
    if (!c.testPath.empty()) {
        auto te = readCsv(c.testPath, c.labelColumn, tr.classNames);
        if (te.features != tr.features)
            throw DataError(c.testPath + ": has " + std::to_string(te.features) + " feature columns, " + c.path +
                            " has " + std::to_string(tr.features));
        r.trainX = x;
        r.trainY = y;
        r.testX = torch::from_blob(te.values.data(), {te.rows, te.features}, torch::kFloat32).clone();
        r.testY = torch::from_blob(te.labels.data(), {te.rows}, torch::kInt64).clone();
    } else {
        // No test file: hold out a fixed fifth of the rows (seeded) as the test set.
        auto gen = at::detail::createCPUGenerator(c.seed + 7919);
        auto perm = torch::randperm(tr.rows, gen, torch::kInt64);
        const std::int64_t nTest = std::max<std::int64_t>(1, tr.rows / 5);
        if (tr.rows - nTest < 2)
            throw DataError(c.path + ": too few rows to hold out a test set (give data.test_path)");
        r.testX = x.index_select(0, perm.slice(0, 0, nTest));
        r.testY = y.index_select(0, perm.slice(0, 0, nTest));
        r.trainX = x.index_select(0, perm.slice(0, nTest));
        r.trainY = y.index_select(0, perm.slice(0, nTest));
    }
    return r;
}

// Synthetic classes, deterministic from the seed. Vectors: each class is two
// Gaussian clusters (so a linear model is not enough for all of it). Images: each
// class is a smooth random pattern, shifted by up to a pixel and drowned in noise.
Raw makeSynthetic(const DataConfig &c, bool images)
{
    auto gen = at::detail::createCPUGenerator(c.seed + 1000003);
    const int k = c.syntheticClasses;
    const std::int64_t total = c.syntheticTrain + c.syntheticTest;
    auto labels = torch::randint(k, {total}, gen, torch::kInt64);
    torch::Tensor x;
    if (!images) {
        const int d = c.syntheticFeatures;
        auto centers = torch::randn({k, 2, d}, gen);
        auto which = torch::randint(2, {total}, gen, torch::kInt64);
        x = centers.index({labels, which}) + torch::randn({total, d}, gen);
    } else {
        const int s = c.syntheticFeatures;
        auto coarse = torch::randn({k, 1, 4, 4}, gen);
        auto templates = torch::nn::functional::interpolate(
            coarse, torch::nn::functional::InterpolateFuncOptions()
                        .size(std::vector<std::int64_t>{s, s})
                        .mode(torch::kBilinear)
                        .align_corners(false));
        x = templates.index_select(0, labels) * 0.3 + torch::randn({total, 1, s, s}, gen);
        auto shifts = torch::randint(9, {total}, gen, torch::kInt64);
        for (int sh = 0; sh < 9; ++sh) {
            auto rows = (shifts == sh).nonzero().squeeze(1);
            if (rows.numel() == 0)
                continue;
            x.index_put_({rows}, torch::roll(x.index_select(0, rows), {sh / 3 - 1, sh % 3 - 1}, {2, 3}));
        }
    }
    Raw r;
    r.description = std::string("synthetic ") + (images ? "images" : "vectors") + " (" + std::to_string(k) +
                    " classes, seed " + std::to_string(c.seed) + ")";
    r.trainX = x.slice(0, 0, c.syntheticTrain);
    r.trainY = labels.slice(0, 0, c.syntheticTrain);
    r.testX = x.slice(0, c.syntheticTrain);
    r.testY = labels.slice(0, c.syntheticTrain);
    r.classNames = numberedClasses(k);
    return r;
}

Raw loadRaw(const DataConfig &c)
{
    const std::string path = c.path.empty() ? defaultDataPath(c.source) : c.path;
    if (c.source == "fashion-mnist") {
        Raw r = loadIdxSet(path, "Fashion-MNIST");
        r.classNames = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
        return r;
    }
    if (c.source == "mnist" || c.source == "kmnist" || c.source == "idx") {
        if (path.empty())
            throw ConfigError("data.path: the " + c.source + " source needs the folder holding its IDX files");
        Raw r = loadIdxSet(path, c.source == "mnist" ? "MNIST" : c.source == "kmnist" ? "KMNIST" : "IDX");
        if (c.source == "kmnist")
            r.classNames = {"o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"};
        return r;
    }
    if (c.source == "cifar10") {
        if (path.empty())
            throw ConfigError("data.path: the cifar10 source needs the folder holding its binary batches");
        return loadCifar(path);
    }
    if (c.source == "csv")
        return loadCsv(c);
    if (c.source == "synthetic-vectors" || c.source == "synthetic-images")
        return makeSynthetic(c, c.source == "synthetic-images");
    const auto near = nearestName(c.source, dataSources());
    throw ConfigError("data.source: unknown source '" + c.source + "'" +
                      (near.empty() ? std::string() : "; did you mean '" + near + "'?"));
}

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

LoadedData loadData(const DataConfig &c, const torch::Device &device)
{
    Raw raw = loadRaw(c);
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

Split studentSplit(const LoadedData &data)
{
    if (!data.studentIndices.defined())
        return data.train;
    return {data.train.x.index_select(0, data.studentIndices), data.train.y.index_select(0, data.studentIndices)};
}

} // namespace detail

DatasetSummary inspectDataset(const DataConfig &config)
{
    return detail::loadData(config, torch::kCPU).summary;
}

DatasetPreview previewDataset(const DataConfig &config)
{
    const detail::LoadedData d = detail::loadData(config, torch::kCPU);
    DatasetPreview p;
    p.summary = d.summary;
    if (d.test.x.dim() != 4)
        return p;
    const auto c = d.test.x.size(1);
    auto mean = torch::tensor(d.mean).to(torch::kFloat32).view({1, c, 1, 1});
    auto stdev = torch::tensor(d.stdev).to(torch::kFloat32).view({1, c, 1, 1});
    for (int k = 0; k < d.summary.classes; ++k) {
        auto rows = (d.test.y == k).nonzero();
        if (rows.size(0) == 0)
            continue;
        auto x = d.test.x.index_select(0, rows[0]) * stdev + mean;
        // Synthetic images are not in [0, 1]: stretch each to its own range.
        if (config.source.rfind("synthetic", 0) == 0)
            x = (x - x.min()) / (x.max() - x.min()).clamp_min(1e-6);
        auto bytes = (x.clamp(0, 1) * 255).round().to(torch::kUInt8).squeeze(0).permute({1, 2, 0}).contiguous();
        SampleImage img;
        img.channels = int(bytes.size(2));
        img.height = int(bytes.size(0));
        img.width = int(bytes.size(1));
        img.label = k;
        img.pixels.assign(bytes.data_ptr<std::uint8_t>(), bytes.data_ptr<std::uint8_t>() + bytes.numel());
        p.samples.push_back(std::move(img));
    }
    return p;
}

} // namespace distillery
