#include "data/sources.h"

#include "data/data_cache.h"
#include "data/image_folder.h"
#include "data/readers.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace distillery {

namespace fs = std::filesystem;

const std::vector<std::string> &dataSources()
{
    static const std::vector<std::string> s{"fashion-mnist", "mnist",  "kmnist",           "idx",
                                            "cifar10",       "cifar100", "folder", "csv",    "synthetic-vectors", "synthetic-images"};
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

std::vector<std::string> numberedClasses(int k)
{
    std::vector<std::string> names;
    for (int i = 0; i < k; ++i)
        names.push_back("class " + std::to_string(i));
    return names;
}

namespace {



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

RawData loadIdxSet(const std::string &dir, const std::string &label)
{
    if (!fs::is_directory(dir))
        throw DataError(dir + ": data folder not found (data.path)" +
                        (dir.rfind("/usr/share/datasets/", 0) == 0
                             ? std::string("; install it with: apt-get install dataset-") + fs::path(dir).filename().string()
                             : std::string()));
    RawData r;
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

torch::Tensor imagesToTensor(ByteImages &&b)
{
    return bytesToTensor(std::move(b.pixels), {b.count, b.channels, b.height, b.width}, torch::kFloat32).div_(255.0);
}

torch::Tensor labelsToTensor(const ByteImages &b)
{
    return torch::from_blob(const_cast<std::int64_t *>(b.labels.data()), {b.count}, torch::kInt64).clone();
}

RawData loadCifar(const std::string &dir)
{
    if (!fs::is_directory(dir))
        throw DataError(dir + ": CIFAR-10 folder not found (data.path)");
    std::vector<std::string> train;
    for (int i = 1; i <= 5; ++i)
        train.push_back(findFile(dir, {"data_batch_" + std::to_string(i) + ".bin"}));
    auto tr = readCifarBatches(train);
    auto te = readCifarBatches({findFile(dir, {"test_batch.bin"})});
    RawData r;
    r.description = "CIFAR-10 (" + dir + ")";
    r.trainX = bytesToTensor(std::move(tr.pixels), {tr.count, 3, 32, 32}, torch::kFloat32).div_(255.0);
    r.trainY = labelsToTensor(tr);
    r.testX = bytesToTensor(std::move(te.pixels), {te.count, 3, 32, 32}, torch::kFloat32).div_(255.0);
    r.testY = labelsToTensor(te);
    r.classNames = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
    return r;
}

// Without a test set of its own: a fixed fifth of the rows (seeded) is held
// out as the test set.
void holdOutTest(RawData &r, const torch::Tensor &x, const torch::Tensor &y, std::uint64_t seed,
                 const std::string &origin)
{
    const std::int64_t rows = y.size(0);
    auto gen = at::detail::createCPUGenerator(seed + 7919);
    auto perm = torch::randperm(rows, gen, torch::kInt64);
    const std::int64_t nTest = std::max<std::int64_t>(1, rows / 5);
    if (rows - nTest < 2)
        throw DataError(origin + ": too few samples to hold out a test set");
    r.testX = x.index_select(0, perm.slice(0, 0, nTest));
    r.testY = y.index_select(0, perm.slice(0, 0, nTest));
    r.trainX = x.index_select(0, perm.slice(0, nTest));
    r.trainY = y.index_select(0, perm.slice(0, nTest));
}

RawData loadCsv(const DataConfig &c)
{
    if (c.path.empty())
        throw ConfigError("data.path: a CSV source needs the path of its file");
    auto tr = readCsv(c.path, c.labelColumn);
    RawData r;
    r.description = "CSV (" + c.path + ")";
    r.classNames = tr.classNames;
    auto x = torch::from_blob(tr.values.data(), {tr.rows, tr.features}, torch::kFloat32).clone();
    auto y = torch::from_blob(tr.labels.data(), {tr.rows}, torch::kInt64).clone();
    if (c.testPath.empty()) {
        holdOutTest(r, x, y, c.seed, c.path);
        return r;
    }
    auto te = readCsv(c.testPath, c.labelColumn, tr.classNames);
    if (te.features != tr.features)
        throw DataError(c.testPath + ": has " + std::to_string(te.features) + " feature columns, " + c.path + " has " +
                        std::to_string(tr.features));
    r.trainX = x;
    r.trainY = y;
    r.testX = torch::from_blob(te.values.data(), {te.rows, te.features}, torch::kFloat32).clone();
    r.testY = torch::from_blob(te.labels.data(), {te.rows}, torch::kInt64).clone();
    return r;
}

// Class names from a file of one name per line (CIFAR-100's *_label_names.txt),
// or numbered when the file is missing or does not have `k` names.
std::vector<std::string> namesFromFile(const fs::path &file, int k)
{
    std::ifstream in(file);
    std::vector<std::string> names;
    for (std::string line; std::getline(in, line);) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
            line.pop_back();
        if (!line.empty())
            names.push_back(line);
    }
    return int(names.size()) == k ? names : numberedClasses(k);
}

RawData loadCifar100(const std::string &dir, const std::string &labels)
{
    if (!fs::is_directory(dir))
        throw DataError(dir + ": CIFAR-100 folder not found (data.path)");
    const bool coarse = labels == "coarse";
    const auto layout = coarse ? CifarLayout::Cifar100Coarse : CifarLayout::Cifar100Fine;
    auto tr = readCifarBatches({findFile(dir, {"train.bin"})}, layout);
    auto te = readCifarBatches({findFile(dir, {"test.bin"})}, layout);
    RawData r;
    r.description = std::string("CIFAR-100, ") + (coarse ? "20 superclasses" : "100 classes") + " (" + dir + ")";
    r.trainY = labelsToTensor(tr);
    r.testY = labelsToTensor(te);
    r.trainX = imagesToTensor(std::move(tr));
    r.testX = imagesToTensor(std::move(te));
    r.classNames = namesFromFile(fs::path(dir) / (coarse ? "coarse_label_names.txt" : "fine_label_names.txt"),
                                 coarse ? 20 : 100);
    return r;
}

// Synthetic classes, deterministic from the seed. Vectors: each class is two
// Gaussian clusters (so a linear model is not enough for all of it). Images: each
// class is a smooth random pattern, shifted by up to a pixel and drowned in noise.
RawData makeSynthetic(const DataConfig &c, bool images)
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
    RawData r;
    r.description = std::string("synthetic ") + (images ? "images" : "vectors") + " (" + std::to_string(k) +
                    " classes, seed " + std::to_string(c.seed) + ")";
    r.trainX = x.slice(0, 0, c.syntheticTrain);
    r.trainY = labels.slice(0, 0, c.syntheticTrain);
    r.testX = x.slice(0, c.syntheticTrain);
    r.testY = labels.slice(0, c.syntheticTrain);
    r.classNames = numberedClasses(k);
    return r;
}

// Decodes the folder (train, then test), reporting progress over both.
DecodedSet decodeFolder(const ImageFolderLayout &layout, const ImageFolderSettings &settings,
                        const DataLoadOptions &options)
{
    const std::int64_t trainFiles = std::int64_t(layout.train.files.size());
    const std::int64_t total = trainFiles + (layout.test ? std::int64_t(layout.test->files.size()) : 0);
    auto progress = [&](std::int64_t offset) -> DecodeProgress {
        if (!options.progress)
            return {};
        return [&options, offset, total](std::int64_t done, std::int64_t) { options.progress(offset + done, total); };
    };
    DecodedSet set;
    set.classNames = layout.train.classNames;
    set.train = decodeImageFolder(layout.train, settings, progress(0));
    if (layout.test)
        set.test = decodeImageFolder(*layout.test, settings, progress(trainFiles));
    return set;
}

RawData loadFolder(const DataConfig &c, const DataLoadOptions &options)
{
    if (c.path.empty())
        throw ConfigError("data.path: the folder source needs the folder holding one folder per class");
    const ImageFolderLayout layout = listImageFolders(c.path);
    ImageFolderSettings wanted;
    wanted.channels = c.color == "grayscale" ? 1 : c.color == "rgb" ? 3 : 0;
    wanted.width = c.imageWidth;
    wanted.height = c.imageHeight;
    wanted.resize = c.resize;
    const ImageFolderSettings settings = resolveImageFolderSettings(layout.train, wanted);
    const std::string key = imageFolderCacheKey(layout, settings);
    // The file is named by the folder and the settings, not by the files: a
    // changed folder replaces its cache file instead of leaving the old one.
    const std::string name = "folder " + fs::absolute(c.path).lexically_normal().string() + " " +
                             std::to_string(settings.channels) + " " + std::to_string(settings.height) + "x" +
                             std::to_string(settings.width) + " " + std::to_string(settings.resize);
    const std::string cacheFile = options.cacheDir.empty() ? std::string() : cacheFilePath(options.cacheDir, name);
    std::optional<DecodedSet> set = cacheFile.empty() ? std::nullopt : loadCachedSet(cacheFile, key);
    if (!set) {
        set = decodeFolder(layout, settings, options);
        if (!cacheFile.empty()) {
            try {
                saveCachedSet(cacheFile, key, *set);
            } catch (const std::exception &) {
                // A cache that cannot be written (a full disk, a read-only
                // workspace) costs the next run its decoding, nothing more.
            }
        }
    }
    RawData r;
    r.description = "image folder, " + std::to_string(set->classNames.size()) + " classes, " +
                    std::to_string(settings.height) + "x" + std::to_string(settings.width) +
                    (settings.channels == 1 ? " grayscale" : " RGB") + " (" + c.path + ")";
    r.classNames = set->classNames;
    auto y = labelsToTensor(set->train);
    auto x = imagesToTensor(std::move(set->train));
    if (!set->test) {
        holdOutTest(r, x, y, c.seed, c.path);
        return r;
    }
    r.trainX = x;
    r.trainY = y;
    r.testY = labelsToTensor(*set->test);
    r.testX = imagesToTensor(std::move(*set->test));
    return r;
}

} // namespace

RawData loadRawData(const DataConfig &c, const DataLoadOptions &options)
{
    const std::string path = c.path.empty() ? defaultDataPath(c.source) : c.path;
    if (c.source == "fashion-mnist") {
        RawData r = loadIdxSet(path, "Fashion-MNIST");
        r.classNames = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
        return r;
    }
    if (c.source == "mnist" || c.source == "kmnist" || c.source == "idx") {
        if (path.empty())
            throw ConfigError("data.path: the " + c.source + " source needs the folder holding its IDX files");
        RawData r = loadIdxSet(path, c.source == "mnist" ? "MNIST" : c.source == "kmnist" ? "KMNIST" : "IDX");
        if (c.source == "kmnist")
            r.classNames = {"o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"};
        return r;
    }
    if (c.source == "cifar10") {
        if (path.empty())
            throw ConfigError("data.path: the cifar10 source needs the folder holding its binary batches");
        return loadCifar(path);
    }
    if (c.source == "cifar100") {
        if (path.empty())
            throw ConfigError("data.path: the cifar100 source needs the folder holding train.bin and test.bin");
        return loadCifar100(path, c.cifar100Labels);
    }
    if (c.source == "folder")
        return loadFolder(c, options);
    if (c.source == "csv")
        return loadCsv(c);
    if (c.source == "synthetic-vectors" || c.source == "synthetic-images")
        return makeSynthetic(c, c.source == "synthetic-images");
    const auto near = nearestName(c.source, dataSources());
    throw ConfigError("data.source: unknown source '" + c.source + "'" +
                      (near.empty() ? std::string() : "; did you mean '" + near + "'?"));
}

} // namespace detail
} // namespace distillery
