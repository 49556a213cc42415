// Data sets as the engine sees them, summarised in plain values.
#pragma once

#include "distillery/architecture.h"
#include "distillery/experiment.h"

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace distillery {

// A data set that is missing, unreadable or malformed. The message names the file.
class DataError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct DatasetSummary {
    std::string description;            // e.g. "Fashion-MNIST (/usr/share/datasets/fashion-mnist)"
    Shape inputShape;
    int classes = 0;
    std::vector<std::string> classNames;
    std::int64_t trainSamples = 0;      // after the validation split and train limit
    std::int64_t validationSamples = 0;
    std::int64_t testSamples = 0;
    std::int64_t studentTrainSamples = 0;
    std::vector<std::int64_t> trainClassCounts;
};

// A few samples as 8-bit pictures, for a preview strip.
struct SampleImage {
    int width = 0, height = 0, channels = 0;   // pixels are height x width x channels
    int label = 0;
    std::vector<std::uint8_t> pixels;
};

struct DatasetPreview {
    DatasetSummary summary;
    std::vector<SampleImage> samples;          // one per class from the test set; empty for vectors
};

// How a data set is loaded, beside what it is (DataConfig).
struct DataLoadOptions {
    // Where decoded image folders are kept between runs (<workspace>/cache);
    // empty: decoded every time.
    std::string cacheDir;
    // Image decoding's progress (files done of total), called on the loading
    // thread a few times a second; not called for cached or other sources.
    std::function<void(std::int64_t done, std::int64_t total)> progress;
};

// Loads the data set and picks one test image per class. Throws as inspectDataset.
DatasetPreview previewDataset(const DataConfig &config, const DataLoadOptions &options = {});

// Examples of a data set at given rows of one split, as a browser shows them.
struct DatasetExamples {
    DatasetSummary summary;
    std::vector<std::int64_t> rows;            // as asked
    std::vector<std::int64_t> labels;          // each row's true class
    // Images: one per row, 8-bit and un-normalised as previewDataset's
    // (synthetic images stretched each to its own range); empty for vectors.
    std::vector<SampleImage> images;
    // Vectors (CSV, synthetic-vectors): each row's features as read (the
    // normalisation undone); empty for images.
    std::vector<std::vector<float>> features;
};

// Loads the data set as the engine would and returns the examples at `rows` of
// `split`: "test" (rows of the test set, as analysis/<stage>.logits indexes
// them), "train" (rows of the training split, after the validation split has
// been held out) or "validation". Throws DataError or ConfigError as
// inspectDataset, and DataError for a row outside the split;
// std::invalid_argument for another split name.
DatasetExamples datasetExamples(const DataConfig &config, const std::string &split,
                                const std::vector<std::int64_t> &rows, const DataLoadOptions &options = {});

// Loads the data set as the engine would and describes it. Throws DataError or
// ConfigError (for a data setting that cannot work, such as an unknown source).
DatasetSummary inspectDataset(const DataConfig &config, const DataLoadOptions &options = {});

// Known sources, for pickers and error suggestions.
const std::vector<std::string> &dataSources();
// Where a source looks when `path` is empty (empty for sources that need a path).
std::string defaultDataPath(const std::string &source);

} // namespace distillery
