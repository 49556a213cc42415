#include "data/data_cache.h"

#include "runs/atomic_file.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace distillery::detail {

namespace fs = std::filesystem;

namespace {

// File layout (little-endian, as written by this machine's integers):
//   "DSTLDATA" version:u32
//   key:str  class count:u64  names:str...  has test:u8
//   split (train, then test when present): count:u64 channels:u32 height:u32 width:u32
//                                          labels:i64[count] pixels:u8[count·C·H·W]
//   crc32 of everything after the magic:u32
// where str is a u64 length and the bytes.
constexpr char kMagic[8] = {'D', 'S', 'T', 'L', 'D', 'A', 'T', 'A'};
constexpr std::uint32_t kVersion = 1;

class Writer {
public:
    template <typename T> void put(T v) { raw(&v, sizeof v); }
    void str(const std::string &s)
    {
        put<std::uint64_t>(s.size());
        raw(s.data(), s.size());
    }
    void raw(const void *p, std::size_t n) { out.append(static_cast<const char *>(p), n); }
    std::string out;
};

class Reader {
public:
    Reader(const std::string &bytes, std::size_t from, std::size_t to) : b_(bytes), pos_(from), end_(to) {}
    template <typename T> T get()
    {
        T v;
        std::memcpy(&v, take(sizeof v), sizeof v);
        return v;
    }
    std::string str()
    {
        const auto n = get<std::uint64_t>();
        return std::string(take(n), n);
    }
    // The next `n` bytes; throws when the file is shorter (a damaged file).
    const char *take(std::uint64_t n)
    {
        if (n > end_ - pos_)
            throw std::length_error("shorter than its sizes say");
        const char *p = b_.data() + pos_;
        pos_ += n;
        return p;
    }
    bool atEnd() const { return pos_ == end_; }

private:
    const std::string &b_;
    std::size_t pos_, end_;
};

void putSplit(Writer &w, const ByteImages &s)
{
    w.put<std::uint64_t>(std::uint64_t(s.count));
    w.put<std::uint32_t>(std::uint32_t(s.channels));
    w.put<std::uint32_t>(std::uint32_t(s.height));
    w.put<std::uint32_t>(std::uint32_t(s.width));
    w.raw(s.labels.data(), s.labels.size() * sizeof(std::int64_t));
    w.raw(s.pixels.data(), s.pixels.size());
}

ByteImages getSplit(Reader &r)
{
    ByteImages s;
    s.count = std::int64_t(r.get<std::uint64_t>());
    s.channels = int(r.get<std::uint32_t>());
    s.height = int(r.get<std::uint32_t>());
    s.width = int(r.get<std::uint32_t>());
    if (s.count < 0 || s.channels < 1 || s.channels > 4 || s.height < 1 || s.width < 1 || s.height > 65536 ||
        s.width > 65536)
        throw std::length_error("implausible sizes");
    // Sizes are checked against what is left of the file before anything is allocated.
    const auto labels = r.take(std::uint64_t(s.count) * sizeof(std::int64_t));
    const auto pixels = r.take(std::uint64_t(s.count) * std::uint64_t(s.channels) * s.height * s.width);
    s.labels.resize(std::size_t(s.count));
    std::memcpy(s.labels.data(), labels, s.labels.size() * sizeof(std::int64_t));
    s.pixels.assign(reinterpret_cast<const std::uint8_t *>(pixels),
                    reinterpret_cast<const std::uint8_t *>(pixels) + std::size_t(s.count) * s.channels * s.height * s.width);
    return s;
}

std::uint32_t checksum(const std::string &bytes, std::size_t from, std::size_t to)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    // zlib takes 32-bit lengths: in chunks.
    for (std::size_t i = from; i < to; i += std::size_t(1) << 30) {
        const std::size_t n = std::min(to - i, std::size_t(1) << 30);
        crc = crc32(crc, reinterpret_cast<const Bytef *>(bytes.data() + i), uInt(n));
    }
    return std::uint32_t(crc);
}

} // namespace

std::string cacheFilePath(const std::string &cacheDir, const std::string &key)
{
    std::uint64_t h = 1469598103934665603ull; // FNV-1a: stable across runs and builds, unlike std::hash
    for (unsigned char c : key) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char name[32];
    std::snprintf(name, sizeof name, "%016llx.dset", static_cast<unsigned long long>(h));
    return (fs::path(cacheDir) / "data" / name).string();
}

std::optional<DecodedSet> loadCachedSet(const std::string &path, const std::string &key, std::string *why)
{
    auto reject = [&](const std::string &reason) -> std::optional<DecodedSet> {
        if (why)
            *why = path + ": " + reason;
        return std::nullopt;
    };
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return reject("not cached yet");
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() < sizeof kMagic + 8 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
        return reject("not a Distillery data cache file");
    const std::size_t end = bytes.size() - 4;
    std::uint32_t stored;
    std::memcpy(&stored, bytes.data() + end, 4);
    if (stored != checksum(bytes, sizeof kMagic, end))
        return reject("damaged (checksum mismatch)");
    try {
        Reader r(bytes, sizeof kMagic, end);
        if (r.get<std::uint32_t>() != kVersion)
            return reject("written by another version");
        if (r.str() != key)
            return reject("stale (the files or the reader's settings changed)");
        DecodedSet set;
        const auto names = r.get<std::uint64_t>();
        for (std::uint64_t i = 0; i < names; ++i)
            set.classNames.push_back(r.str());
        const bool hasTest = r.get<std::uint8_t>() != 0;
        set.train = getSplit(r);
        if (hasTest)
            set.test = getSplit(r);
        if (!r.atEnd())
            return reject("damaged (bytes after the data)");
        return set;
    } catch (const std::exception &e) {
        return reject(std::string("damaged (") + e.what() + ")");
    }
}

void saveCachedSet(const std::string &path, const std::string &key, const DecodedSet &set)
{
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    if (ec)
        throw std::runtime_error(fs::path(path).parent_path().string() + ": cannot create: " + ec.message());
    Writer w;
    w.raw(kMagic, sizeof kMagic);
    w.put<std::uint32_t>(kVersion);
    w.str(key);
    w.put<std::uint64_t>(set.classNames.size());
    for (const auto &n : set.classNames)
        w.str(n);
    w.put<std::uint8_t>(set.test ? 1 : 0);
    putSplit(w, set.train);
    if (set.test)
        putSplit(w, *set.test);
    w.put<std::uint32_t>(checksum(w.out, sizeof kMagic, w.out.size()));
    writeFileAtomically(path, w.out, true); // the processes of one run may decode the same folder at once
}

} // namespace distillery::detail
