// Reading an image folder: Fashion-MNIST's 60,000 training images written out
// as PNG class folders, then listed and decoded on all cores (and on one), and
// loaded again from the decoded-data cache. Prints figures; judges nothing.
//   build/benchmarks/bench_image_folder [--folder DIR] [--keep] [--threads N]
// --folder reuses (or writes, when missing) the PNG folder at DIR.
#include "data/data_cache.h"
#include "data/image_files.h"
#include "data/image_folder.h"
#include "data/readers.h"
#include "distillery/data.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

namespace fs = std::filesystem;
using namespace distillery;
using namespace distillery::detail;

namespace {

double since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string idxFile(const std::string &dir, const std::string &stem)
{
    const fs::path plain = fs::path(dir) / stem;
    return fs::exists(plain) ? plain.string() : plain.string() + ".gz";
}

// Fashion-MNIST's training set as <folder>/<label>/<index>.png.
void writeFolder(const std::string &source, const fs::path &folder)
{
    const IdxArray x = readIdx(idxFile(source, "train-images-idx3-ubyte"));
    const IdxArray y = readIdx(idxFile(source, "train-labels-idx1-ubyte"));
    const int h = int(x.dims[1]), w = int(x.dims[2]);
    for (int k = 0; k < 10; ++k)
        fs::create_directories(folder / std::to_string(k));
    for (std::int64_t i = 0; i < x.dims[0]; ++i) {
        Image img;
        img.width = w;
        img.height = h;
        img.channels = 1;
        img.pixels.assign(x.values.begin() + i * h * w, x.values.begin() + (i + 1) * h * w);
        char name[32];
        std::snprintf(name, sizeof name, "%05lld.png", static_cast<long long>(i));
        writePng((folder / std::to_string(y.values[std::size_t(i)]) / name).string(), img);
    }
}

} // namespace

int main(int argc, char **argv)
{
    CLI::App app{"Times decoding an image folder and loading it from the cache (see docs/PERFORMANCE.md)."};
    std::string folder, source = "/usr/share/datasets/fashion-mnist";
    bool keep = false;
    int threads = int(std::thread::hardware_concurrency());
    app.add_option("--folder", folder, "The PNG folder to read (written first when missing)");
    app.add_option("--source", source, "Fashion-MNIST's IDX folder")->capture_default_str();
    app.add_option("--threads", threads, "Decoding threads")->capture_default_str();
    app.add_flag("--keep", keep, "Keep the written folder and cache");
    CLI11_PARSE(app, argc, argv);

    const bool temporary = folder.empty();
    const fs::path root = temporary ? fs::temp_directory_path() / "distillery-bench-folder" : fs::path(folder);
    const fs::path images = temporary ? root / "images" : root;
    const fs::path cache = temporary ? root / "cache" : fs::temp_directory_path() / "distillery-bench-cache";
    try {
        if (!fs::exists(images)) {
            const auto t0 = std::chrono::steady_clock::now();
            writeFolder(source, images);
            std::printf("wrote %s in %.1f s\n", images.c_str(), since(t0));
        }
        fs::remove_all(cache);

        auto t0 = std::chrono::steady_clock::now();
        const ImageFolderLayout layout = listImageFolders(images.string());
        const double listing = since(t0);
        const auto files = layout.train.files.size();
        std::printf("listed %zu files in %.2f s\n", files, listing);
        for (int n : {threads, 1}) {
            ImageFolderSettings s;
            s.threads = n;
            t0 = std::chrono::steady_clock::now();
            const ByteImages decoded = decodeImageFolder(layout.train, resolveImageFolderSettings(layout.train, s));
            const double t = since(t0);
            std::printf("decoded %lld images on %d thread%s: %.2f s (%.0f images/s)\n",
                        static_cast<long long>(decoded.count), n, n == 1 ? "" : "s", t, double(decoded.count) / t);
        }

        DataConfig c;
        c.source = "folder";
        c.path = images.string();
        DataLoadOptions o;
        o.cacheDir = cache.string();
        t0 = std::chrono::steady_clock::now();
        inspectDataset(c, o);
        const double first = since(t0);
        t0 = std::chrono::steady_clock::now();
        const DatasetSummary s = inspectDataset(c, o);
        const double second = since(t0);
        // The cache's own part: list the files, check the key, read the file.
        t0 = std::chrono::steady_clock::now();
        const ImageFolderLayout again = listImageFolders(images.string());
        const std::string key = imageFolderCacheKey(again, resolveImageFolderSettings(again.train, {}));
        const auto cached = loadCachedSet(cacheFilePath(cache.string(), key), key);
        const double fromCache = since(t0);
        if (!cached)
            throw std::runtime_error("the cache was not used");
        DataConfig idx;
        idx.source = "idx";
        idx.path = source;
        t0 = std::chrono::steady_clock::now();
        inspectDataset(idx);
        const double fromIdx = since(t0);
        std::printf("cached load (list, check, read %lld images): %.2f s\n",
                    static_cast<long long>(cached->train.count), fromCache);
        std::printf("whole load (and split, normalise): %.2f s the first time, %.2f s from the cache; "
                    "the IDX files: %.2f s\n",
                    first, second, fromIdx);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    if (temporary && !keep)
        fs::remove_all(root);
    return 0;
}
