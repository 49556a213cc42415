// datasetExamples (distillery/data.h): the examples at given rows of a split,
// as the Insight tab's example browser shows them.
#include "data/torch_data.h"

#include <stdexcept>

namespace distillery {

namespace {

void checkSplitName(const std::string &split)
{
    if (split != "test" && split != "train" && split != "validation")
        throw std::invalid_argument("datasetExamples: unknown split '" + split + "' (test, train or validation)");
}

const detail::Split &splitNamed(const detail::LoadedData &d, const std::string &split)
{
    return split == "test" ? d.test : split == "train" ? d.train : d.validation;
}

} // namespace

DatasetExamples datasetExamples(const DataConfig &config, const std::string &split,
                                const std::vector<std::int64_t> &rows, const DataLoadOptions &options)
{
    checkSplitName(split); // before the data set is loaded
    const detail::LoadedData d = detail::loadData(config, torch::kCPU, options);
    const detail::Split &s = splitNamed(d, split);
    for (std::int64_t r : rows)
        if (r < 0 || r >= s.size())
            throw DataError(d.summary.description + ": no row " + std::to_string(r) + " in the " + split +
                            " split (" + std::to_string(s.size()) + " rows)");
    DatasetExamples out;
    out.summary = d.summary;
    out.rows = rows;
    const auto index = torch::tensor(rows, torch::kInt64);
    const auto labels = rows.empty() ? torch::empty({0}, torch::kInt64) : s.y.index_select(0, index).contiguous();
    out.labels.assign(labels.data_ptr<std::int64_t>(), labels.data_ptr<std::int64_t>() + labels.numel());
    if (rows.empty())
        return out;
    if (s.x.dim() == 4) {
        out.images = detail::sampleImages(d, s, index, config.source.rfind("synthetic", 0) == 0);
        return out;
    }
    // Vectors: the normalisation undone, feature by feature.
    auto mean = torch::tensor(d.mean).to(torch::kFloat32), stdev = torch::tensor(d.stdev).to(torch::kFloat32);
    const auto x = (s.x.index_select(0, index).flatten(1) * stdev + mean).contiguous();
    const std::int64_t width = x.size(1);
    const float *from = x.data_ptr<float>();
    out.features.reserve(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i)
        out.features.emplace_back(from + std::int64_t(i) * width, from + std::int64_t(i + 1) * width);
    return out;
}

} // namespace distillery
