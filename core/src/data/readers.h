// File readers for outside data. No LibTorch here: they return plain buffers,
// check every size against the file's real length before trusting it, and throw
// DataError naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace distillery::detail {

struct IdxArray {
    std::vector<std::int64_t> dims;     // as in the header
    std::vector<std::uint8_t> values;   // unsigned bytes (the only type the data sets use)
};

// An IDX file, raw or gzip-compressed (detected from its first bytes).
IdxArray readIdx(const std::string &path);

struct ByteImages {
    std::int64_t count = 0;
    int channels = 0, height = 0, width = 0;
    std::vector<std::uint8_t> pixels;   // count x C x H x W
    std::vector<std::int64_t> labels;   // class indices
};

enum class CifarLayout { Cifar10, Cifar100Fine, Cifar100Coarse };

// CIFAR binary files: CIFAR-10 batches (1 label byte, then 3072 pixel bytes
// per record), or CIFAR-100's train.bin/test.bin (a coarse and a fine label
// byte, then the pixels), keeping the labels `layout` asks for.
ByteImages readCifarBatches(const std::vector<std::string> &paths, CifarLayout layout = CifarLayout::Cifar10);

struct CsvTable {
    std::int64_t rows = 0;
    int features = 0;
    std::vector<float> values;          // rows x features
    std::vector<std::int64_t> labels;   // class indices 0..classes-1
    std::vector<std::string> classNames;
};

// A CSV file with a header row: numeric feature columns and one label column
// (`labelColumn` is its name or 0-based index). Labels may be integers or names;
// `knownClasses` (when non-empty) fixes the label vocabulary, e.g. for a test file.
CsvTable readCsv(const std::string &path, const std::string &labelColumn,
                 const std::vector<std::string> &knownClasses = {});

// Reads a whole file, gunzipping it when it starts with the gzip magic. Stops
// with DataError once more than `limit` bytes have come out.
std::vector<std::uint8_t> readFileBytes(const std::string &path, std::uint64_t limit);

} // namespace distillery::detail
