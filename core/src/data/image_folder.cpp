#include "data/image_folder.h"

#include "data/image_files.h"
#include "distillery/data.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <new>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>

namespace distillery::detail {
namespace {

namespace fs = std::filesystem;

// The largest file read as one image: an uncompressed 16384 x 16384 RGB PNG
// is 768 MiB. Anything larger cannot be an image Distillery reads.
constexpr std::uint64_t kMaxImageFileBytes = std::uint64_t(1) << 30;
// The most the decoded images may take together, checked before allocating.
constexpr std::uint64_t kMaxTotalBytes = std::uint64_t(16) << 30;

[[noreturn]] void fail(const std::string &path, const std::string &what)
{
    throw DataError(path + ": " + what);
}

// errno's text; std::strerror is not safe on the decoding threads.
std::string systemError(int code)
{
    return std::error_code(code, std::generic_category()).message();
}

bool isHidden(const fs::path &p)
{
    const std::string name = p.filename().string();
    return !name.empty() && name[0] == '.';
}

bool isImageName(const fs::path &p)
{
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

struct Entries {
    std::vector<fs::path> folders, files;   // visible ones, sorted by name
};

Entries listEntries(const std::string &dir)
{
    std::error_code ec;
    if (!fs::exists(dir, ec))
        fail(dir, "no such folder");
    if (!fs::is_directory(dir, ec))
        fail(dir, "not a folder");
    Entries e;
    fs::directory_iterator it(dir, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        if (isHidden(it->path()))
            continue;
        std::error_code kind;
        (it->is_directory(kind) ? e.folders : e.files).push_back(it->path());
    }
    if (ec)
        fail(dir, "cannot read the folder: " + ec.message());
    std::sort(e.folders.begin(), e.folders.end());
    std::sort(e.files.begin(), e.files.end());
    return e;
}

ImageFolderFile describeFile(const fs::path &path, std::int64_t label)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        fail(path.string(), "cannot read: " + systemError(errno));
    ImageFolderFile f;
    f.path = path.string();
    f.label = label;
    f.size = std::uint64_t(st.st_size);
    f.mtime = std::int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    f.ctime = std::int64_t(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
    f.inode = std::uint64_t(st.st_ino);
    return f;
}

// One folder of class folders.
ImageFolderListing listClasses(const std::string &root)
{
    const Entries top = listEntries(root);
    for (const auto &f : top.files)
        if (isImageName(f))
            fail(root, "holds images directly (" + f.filename().string() +
                           "); put them in one subfolder per class, named after the class");
    if (top.folders.empty())
        fail(root, "has no class folders (expected one subfolder per class, holding its PNG or JPEG images)");
    ImageFolderListing listing;
    listing.root = root;
    std::vector<std::pair<std::string, ImageFolderFile>> named;   // file name, file
    for (const auto &folder : top.folders) {
        const auto label = std::int64_t(listing.classNames.size());
        listing.classNames.push_back(folder.filename().string());
        const Entries inside = listEntries(folder.string());
        if (!inside.folders.empty())
            fail(inside.folders.front().string(), "is a folder inside a class folder (class folders hold "
                                                  "PNG and JPEG files only)");
        if (inside.files.empty())
            fail(folder.string(), "is an empty class folder (each class needs at least one image)");
        for (const auto &f : inside.files) {
            if (!isImageName(f))
                fail(f.string(), "is not a PNG or JPEG file (class folders hold .png, .jpg and .jpeg files only)");
            named.emplace_back(f.filename().string(), describeFile(f, label));
        }
    }
    // By file name, then class: indices as file names keep a data set's order.
    std::stable_sort(named.begin(), named.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
    listing.files.reserve(named.size());
    for (auto &n : named)
        listing.files.push_back(std::move(n.second));
    return listing;
}

// The test classes take the train labels of the same names.
void relabelAsTrain(ImageFolderListing &test, const ImageFolderListing &train)
{
    std::vector<std::int64_t> map;
    for (const auto &name : test.classNames) {
        const auto it = std::find(train.classNames.begin(), train.classNames.end(), name);
        if (it == train.classNames.end()) {
            std::string known;
            for (const auto &n : train.classNames)
                known += (known.empty() ? "" : ", ") + n;
            fail((fs::path(test.root) / name).string(),
                 "class \"" + name + "\" is not among the training classes (" + known + ")");
        }
        map.push_back(std::int64_t(it - train.classNames.begin()));
    }
    for (auto &f : test.files)
        f.label = map[std::size_t(f.label)];
    test.classNames = train.classNames;
}

std::vector<std::uint8_t> readImageFile(const std::string &path)
{
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f)
        fail(path, "cannot open: " + systemError(errno));
    const std::streamoff end = f.tellg();
    if (end < 0)
        fail(path, "cannot read its size");
    const auto size = std::uint64_t(end);
    if (size > kMaxImageFileBytes)
        fail(path, "is larger than any image Distillery reads (" + std::to_string(size) + " bytes, at most 1 GiB)");
    std::vector<std::uint8_t> bytes(size);
    f.seekg(0);
    f.read(reinterpret_cast<char *>(bytes.data()), std::streamsize(size));
    if (std::uint64_t(f.gcount()) != size)
        fail(path, "read error (the file changed while it was read?)");
    return bytes;
}

std::string sizeText(int width, int height)
{
    return std::to_string(width) + " x " + std::to_string(height);
}

std::string gibText(double bytes)
{
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << bytes / double(std::uint64_t(1) << 30) << " GiB";
    return s.str();
}

// What the decoding threads share. Each image's rows are its own: the threads
// take images by an atomic counter and need a lock only to report an error.
struct DecodeWork {
    const ImageFolderListing &listing;
    const ImageFolderSettings &settings;
    std::uint8_t *pixels;
    std::size_t imageBytes;
    std::atomic<std::int64_t> next{0}, done{0};
    std::atomic<bool> stop{false};
    std::mutex mutex;
    std::condition_variable finished;
    int running = 0;
    std::exception_ptr error;   // the first one

    DecodeWork(const ImageFolderListing &l, const ImageFolderSettings &s, std::uint8_t *p, std::size_t bytes)
        : listing(l), settings(s), pixels(p), imageBytes(bytes)
    {
    }

    void failed(std::exception_ptr e)
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error)
            error = std::move(e);
        stop = true;
    }
};

void decodeOne(DecodeWork &w, std::size_t i)
{
    const ImageFolderSettings &s = w.settings;
    const ImageFolderFile &file = w.listing.files[i];
    const auto bytes = readImageFile(file.path);
    Image image = decodeImage(bytes.data(), bytes.size(), s.channels, file.path);
    if (image.width != s.width || image.height != s.height) {
        if (!s.resize)
            fail(file.path, "is " + sizeText(image.width, image.height) + " pixels, not " +
                                sizeText(s.width, s.height) + " as the images are read (resizing is off)");
        try {
            image = resizeImage(image, s.width, s.height);
        } catch (const DataError &e) {
            fail(file.path, e.what());
        }
    }
    // Height x width x channels to channels x height x width.
    std::uint8_t *out = w.pixels + i * w.imageBytes;
    const std::size_t plane = std::size_t(s.width) * std::size_t(s.height);
    const auto channels = std::size_t(s.channels);
    for (std::size_t c = 0; c < channels; ++c)
        for (std::size_t p = 0; p < plane; ++p)
            out[c * plane + p] = image.pixels[p * channels + c];
}

void decodeWorker(DecodeWork &w)
{
    const auto total = std::int64_t(w.listing.files.size());
    while (!w.stop) {
        const std::int64_t i = w.next++;
        if (i >= total)
            break;
        try {
            decodeOne(w, std::size_t(i));
        } catch (const DataError &) {
            w.failed(std::current_exception());
        } catch (const std::bad_alloc &) {
            w.failed(std::current_exception()); // the engine's out-of-memory message, not bad input
        } catch (const std::exception &e) {
            w.failed(std::make_exception_ptr(DataError(w.listing.files[std::size_t(i)].path + ": " + e.what())));
        }
        ++w.done;
    }
    std::lock_guard<std::mutex> lock(w.mutex);
    --w.running;
    w.finished.notify_all();
}

// Starts the threads, reports progress until they are done, joins them.
void runWorkers(DecodeWork &w, int count, const DecodeProgress &progress)
{
    const auto total = std::int64_t(w.listing.files.size());
    std::vector<std::thread> threads;
    std::exception_ptr stopped;   // from starting a thread or from `progress`
    threads.reserve(std::size_t(count));
    w.running = count;
    for (int k = 0; k < count && !stopped; ++k) {
        try {
            threads.emplace_back(decodeWorker, std::ref(w));
        } catch (...) {
            stopped = std::current_exception();
            w.stop = true;
            std::lock_guard<std::mutex> lock(w.mutex);
            w.running -= count - k;
        }
    }
    {
        std::unique_lock<std::mutex> lock(w.mutex);
        const auto allDone = [&] { return w.running == 0; };
        while (!w.finished.wait_for(lock, std::chrono::milliseconds(100), allDone)) {
            if (!progress || stopped)
                continue;
            lock.unlock();
            try {
                progress(w.done, total);
            } catch (...) {
                stopped = std::current_exception();
                w.stop = true;
            }
            lock.lock();
        }
    }
    for (auto &t : threads)
        t.join();
    if (stopped)
        std::rethrow_exception(stopped);
    if (w.error)
        std::rethrow_exception(w.error);
}

} // namespace

ImageFolderLayout listImageFolders(const std::string &dir)
{
    const Entries top = listEntries(dir);
    const bool split = top.folders.size() == 2 && top.folders[0].filename() == "test" &&
                       top.folders[1].filename() == "train" &&
                       std::none_of(top.files.begin(), top.files.end(), isImageName);
    ImageFolderLayout layout;
    if (!split) {
        layout.train = listClasses(dir);
        return layout;
    }
    layout.train = listClasses(top.folders[1].string());
    layout.test = listClasses(top.folders[0].string());
    relabelAsTrain(*layout.test, layout.train);
    return layout;
}

ImageFolderSettings resolveImageFolderSettings(const ImageFolderListing &listing, ImageFolderSettings settings)
{
    if (settings.channels != 0 && settings.channels != 1 && settings.channels != 3)
        fail(listing.root, "images are read as 1 (grey) or 3 (RGB) channels, not " +
                               std::to_string(settings.channels));
    if (settings.width < 0 || settings.height < 0)
        fail(listing.root, "an image size of " + sizeText(settings.width, settings.height) + " is not possible");
    if (settings.channels == 0 || settings.width == 0 || settings.height == 0) {
        if (listing.files.empty())
            fail(listing.root, "holds no images");
        const std::string &first = listing.files.front().path;
        const auto bytes = readImageFile(first);
        const ImageHeader header = readImageHeader(bytes.data(), bytes.size(), first);
        if (settings.channels == 0)
            settings.channels = header.channels;
        if (settings.width == 0)
            settings.width = header.width;
        if (settings.height == 0)
            settings.height = header.height;
    }
    if (std::int64_t(settings.width) * settings.height > kMaxImagePixels)
        fail(listing.root, "images of " + sizeText(settings.width, settings.height) +
                               " pixels are more than Distillery reads (at most 16384 x 16384)");
    return settings;
}

ByteImages decodeImageFolder(const ImageFolderListing &listing, const ImageFolderSettings &settings,
                             const DecodeProgress &progress)
{
    const ImageFolderSettings s = resolveImageFolderSettings(listing, settings);
    const auto total = std::int64_t(listing.files.size());
    const std::uint64_t imageBytes = std::uint64_t(s.channels) * std::uint64_t(s.width) * std::uint64_t(s.height);
    if (total > 0 && imageBytes > kMaxTotalBytes / std::uint64_t(total))
        fail(listing.root, std::to_string(total) + " images of " + std::to_string(s.channels) + " x " +
                               sizeText(s.width, s.height) + " bytes would take " +
                               gibText(double(imageBytes) * double(total)) +
                               ", more than Distillery reads at once (16 GiB)");
    ByteImages out;
    out.count = total;
    out.channels = s.channels;
    out.height = s.height;
    out.width = s.width;
    out.pixels.resize(std::size_t(imageBytes) * std::size_t(total));
    out.labels.reserve(std::size_t(total));
    for (const auto &f : listing.files)
        out.labels.push_back(f.label);

    const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    const auto threads = int(std::min<std::int64_t>(s.threads > 0 ? s.threads : cores, total));
    DecodeWork work(listing, s, out.pixels.data(), std::size_t(imageBytes));
    runWorkers(work, threads, progress);
    if (progress)
        progress(total, total);
    return out;
}

std::string imageFolderCacheKey(const ImageFolderLayout &layout, const ImageFolderSettings &s)
{
    std::string key = "folder v1 channels=" + std::to_string(s.channels) + " size=" + std::to_string(s.height) + "x" +
                      std::to_string(s.width) + " resize=" + std::to_string(s.resize) + "\n";
    auto addSplit = [&](const char *name, const ImageFolderListing &l) {
        key += std::string(name) + " " + l.root + "\n";
        for (const auto &n : l.classNames)
            key += "class " + n + "\n";
        for (const auto &f : l.files)
            key += f.path + "|" + std::to_string(f.label) + "|" + std::to_string(f.size) + "|" +
                   std::to_string(f.mtime) + "|" + std::to_string(f.ctime) + "|" + std::to_string(f.inode) + "\n";
    };
    addSplit("train", layout.train);
    if (layout.test)
        addSplit("test", *layout.test);
    return key;
}

} // namespace distillery::detail
