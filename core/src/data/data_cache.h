// The decoded-data cache: an image folder decoded once is kept as one file in
// the workspace (<workspace>/cache/data/), so the next run starts in seconds.
// No LibTorch here. A cache file is trusted only when it is whole (its
// checksum matches) and its key, which names every source file with its size,
// times and inode and the reader's settings, equals the key of the
// files as they are now; otherwise the caller decodes again and replaces it.
#pragma once

#include "data/readers.h"

#include <optional>
#include <string>
#include <vector>

namespace distillery::detail {

struct DecodedSet {
    std::vector<std::string> classNames;
    ByteImages train;
    std::optional<ByteImages> test;     // absent: a test split is held out of `train`
};

// Where a set named `name` lives under `cacheDir` (a file name from a hash of
// the name; the file holds its whole key, so a collision reads as stale).
std::string cacheFilePath(const std::string &cacheDir, const std::string &name);

// The cached set, or nothing when the file is missing, stale (another key) or
// damaged (short, wrong checksum, sizes that disagree). `why` (when given)
// says which, for a log.
std::optional<DecodedSet> loadCachedSet(const std::string &path, const std::string &key, std::string *why = nullptr);

// Writes the set atomically (a temporary file renamed over `path`). Throws
// std::runtime_error naming the file when it cannot be written.
void saveCachedSet(const std::string &path, const std::string &key, const DecodedSet &set);

} // namespace distillery::detail
