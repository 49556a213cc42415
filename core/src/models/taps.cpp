// A model's taps (distillery/architecture.h): where feature methods read it.
#include "distillery/architecture.h"

#include "models/layer_geometry.h"

#include <algorithm>

namespace distillery {

namespace {

// The automatic taps' layers, by name, in layer order.
std::vector<std::pair<std::string, int>> automaticTaps(const Architecture &layers)
{
    std::vector<std::pair<std::string, int>> taps;
    int stages = 0, pools = 0;
    const int n = int(layers.size());
    for (int i = 0; i < n; ++i) {
        const LayerSpec &l = layers[std::size_t(i)];
        if (l.type == "residual") {
            const bool last = i + 1 == n || layers[std::size_t(i + 1)].type != "residual" ||
                              detail::convStride(layers[std::size_t(i + 1)]) != 1;
            if (last)
                taps.emplace_back("stage" + std::to_string(++stages), i);
        } else if (l.type == "maxpool" || l.type == "avgpool") {
            taps.emplace_back("pool" + std::to_string(++pools), i);
        }
    }
    int classifier = n - 1;
    while (classifier >= 0 && layers[std::size_t(classifier)].type != "linear")
        --classifier;
    int embedding = classifier - 1;
    while (embedding >= 0 && layers[std::size_t(embedding)].type == "dropout")
        --embedding;
    if (classifier >= 0 && embedding >= 0)
        taps.emplace_back("embedding", embedding);
    return taps;
}

} // namespace

std::vector<Tap> modelTaps(const Architecture &layers, const Shape &input)
{
    const ArchitectureReport report = analyseArchitecture(layers, input, 0);
    if (report.layers.size() != layers.size())
        return {};
    std::vector<Tap> taps;
    for (std::size_t i = 0; i < layers.size(); ++i)
        if (!layers[i].tap.empty())
            taps.push_back({layers[i].tap, int(i), report.layers[i].output, false});
    for (const auto &[name, layer] : automaticTaps(layers))
        if (!findTap(taps, name))
            taps.push_back({name, layer, report.layers[std::size_t(layer)].output, true});
    std::stable_sort(taps.begin(), taps.end(), [](const Tap &a, const Tap &b) { return a.layer < b.layer; });
    return taps;
}

const Tap *findTap(const std::vector<Tap> &taps, const std::string &name)
{
    for (const auto &t : taps)
        if (t.name == name)
            return &t;
    return nullptr;
}

} // namespace distillery
