#include "engine/generations.h"

#include <string>

namespace distillery::detail {

namespace {

// "name", "name-gen2", ... for generation `generation` of a chain named `name`.
std::string generationName(std::string name, int previous, int generation)
{
    const std::string suffix = "-gen" + std::to_string(previous);
    if (previous > 1 && name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        name.resize(name.size() - suffix.size());
    return name + "-gen" + std::to_string(generation);
}

} // namespace

std::optional<Experiment> nextGeneration(const std::filesystem::path &runDir)
{
    Experiment e;
    try {
        e = loadExperiment((runDir / "config.json").string());
    } catch (const ConfigError &) {
        return std::nullopt;
    }
    auto &k = e.distillation;
    if (k.generation >= k.generations)
        return std::nullopt;
    const int previous = k.generation++;
    e.name = generationName(e.name, previous, k.generation);
    if (e.baseline && e.baselineRun.empty())
        e.baselineRun = runDir.string(); // the first generation's, trained once
    e.teacher.source = "run";
    e.teacher.run = runDir.string();
    e.teacher.stage = "student";
    e.teacher.model = ModelSpec{};       // read from that run by the pipeline
    e.forkedFrom = ForkOrigin{};
    e.sweepPoint = SweepMembership{};
    return e;
}

} // namespace distillery::detail
