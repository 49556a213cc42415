// A sweep's points: the grid's combinations, the random draws and the seeds,
// each checked as a whole experiment, and which of them train what the others share.
#include "distillery/sweep.h"
#include "distillery/methods.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace distillery {

using nlohmann::json;

std::string SweepPoint::label() const
{
    std::string s;
    for (const auto &[key, value] : settings)
        s += key + "=" + value + " ";
    return s + "seed=" + std::to_string(seed);
}

std::vector<std::string> SweepPoint::overrides() const
{
    std::vector<std::string> o;
    for (const auto &[key, value] : settings)
        o.push_back(key + "=" + value);
    o.push_back("seed=" + std::to_string(seed));
    return o;
}

int SweepPlan::teachersTrained() const
{
    if (base.teacher.source != "train")
        return 0;
    return int(std::count_if(points.begin(), points.end(), [](const SweepPoint &p) { return p.teacherFrom < 0 && !p.teacherless; }));
}

int SweepPlan::baselinesTrained() const
{
    if (!base.baseline)
        return 0;
    return int(std::count_if(points.begin(), points.end(), [](const SweepPoint &p) { return p.baselineFrom < 0; }));
}

std::int64_t sweepPointCount(const SweepSpec &s)
{
    std::int64_t n = std::max<std::int64_t>(1, s.randomCount);
    const auto times = [&n](std::size_t k) { n = n > kLargeSweep ? n : n * std::int64_t(std::max<std::size_t>(1, k)); };
    for (const auto &axis : s.grid)
        times(axis.second.size());
    times(s.seeds.size());
    return std::min(n, kLargeSweep + 1);
}

namespace {

// The experiment without what differs between points sharing a stage, as text to compare.
std::string teacherKey(Experiment e)
{
    const Experiment blank;
    e.name = blank.name;
    e.seed = blank.seed;
    e.threads = e.blasThreads = 0;
    e.logEverySteps = blank.logEverySteps;
    e.student = blank.student;
    e.studentTrain = blank.studentTrain;
    e.baseline = blank.baseline;
    e.baselineRun.clear();
    e.distillation = blank.distillation;
    e.data.studentTrainSize = 0;
    e.data.omitClasses.clear();
    e.data.omittedBiasShift.reset();
    return experimentToJson(e);
}

std::string baselineKey(Experiment e)
{
    const Experiment blank;
    e.name = blank.name;
    e.threads = e.blasThreads = 0;
    e.logEverySteps = blank.logEverySteps;
    e.teacher = blank.teacher;
    e.distillation = blank.distillation;
    e.data.omittedBiasShift.reset(); // applies to the distilled student alone
    return experimentToJson(e);
}

// A draw in [0, 1) that is the same on every platform (std's distributions are not).
double uniform01(std::mt19937_64 &g)
{
    return double(g() >> 11) * 0x1.0p-53;
}

std::string drawValue(const SweepRange &r, std::mt19937_64 &g)
{
    const double u = uniform01(g);
    double v = r.log ? std::exp(std::log(r.min) + u * (std::log(r.max) - std::log(r.min))) : r.min + u * (r.max - r.min);
    if (r.integer)
        return json(std::llround(v)).dump();
    return json(v).dump();
}

// Every combination of the grid's values, the first key varying slowest.
std::vector<std::vector<std::pair<std::string, std::string>>> gridPoints(const SweepSpec &s)
{
    std::vector<std::vector<std::pair<std::string, std::string>>> out{{}};
    for (const auto &[key, values] : s.grid) {
        std::vector<std::vector<std::pair<std::string, std::string>>> next;
        for (const auto &prefix : out)
            for (const auto &v : values) {
                next.push_back(prefix);
                next.back().emplace_back(key, v);
            }
        out.swap(next);
    }
    return out;
}

} // namespace

SweepPlan planSweep(const Experiment &e, const std::string &origin, bool allowLarge)
{
    const std::string where = origin.empty() ? std::string() : origin + ": ";
    if (!e.sweep.active())
        throw ConfigError(where + "sweep: the experiment has no sweep section (docs/SWEEPS.md)");
    const std::int64_t count = sweepPointCount(e.sweep);
    if (count > kLargeSweep && !allowLarge)
        throw ConfigError(where + "sweep: makes more than " + std::to_string(kLargeSweep) +
                          " runs; confirm with --yes, or narrow the grid");
    SweepPlan plan;
    plan.base = e;
    plan.base.sweep = SweepSpec{};
    plan.base.sweepPoint = SweepMembership{};
    // In key order, as the experiment file's objects are read: the same plan from a file or from memory.
    SweepSpec spec = e.sweep;
    std::sort(spec.grid.begin(), spec.grid.end());
    std::sort(spec.ranges.begin(), spec.ranges.end(),
              [](const SweepRange &a, const SweepRange &b) { return a.key < b.key; });
    for (const auto &axis : spec.grid)
        plan.keys.push_back(axis.first);
    for (const auto &r : spec.ranges)
        plan.keys.push_back(r.key);
    const std::string baseJson = experimentToJson(plan.base);
    const std::vector<std::uint64_t> seeds = spec.seeds.empty() ? std::vector<std::uint64_t>{e.seed} : spec.seeds;
    std::mt19937_64 draws(spec.randomSeed);
    std::map<std::string, int> teachers, baselines;
    for (const auto &grid : gridPoints(spec)) {
        for (int r = 0; r < std::max(1, spec.randomCount); ++r) {
            auto settings = grid;
            for (const auto &range : spec.ranges)
                settings.emplace_back(range.key, drawValue(range, draws));
            for (const std::uint64_t seed : seeds) {
                SweepPoint p;
                p.index = int(plan.points.size());
                p.seed = seed;
                p.settings = settings;
                Experiment point;
                try {
                    point = parseExperiment(baseJson, {}, p.overrides());
                } catch (const ConfigError &err) {
                    throw ConfigError(where + "sweep: the point " + p.label() + ": " + err.what());
                }
                if (point.distillation.generations > 1)
                    throw ConfigError(where + "sweep: the point " + p.label() + ": distillation.generations: "
                                      "born-again generations are a chain of runs of their own and are not "
                                      "swept; sweep with generations 1, or run the chain by itself");
                // A point of mutual learning has no teacher to share.
                p.teacherless = trainsWithoutTeacher(point.distillation);
                if (!p.teacherless) {
                    const auto t = teachers.emplace(teacherKey(point), p.index);
                    p.teacherFrom = t.second ? -1 : t.first->second;
                }
                if (point.baseline) {
                    const auto b = baselines.emplace(baselineKey(point), p.index);
                    p.baselineFrom = b.second ? -1 : b.first->second;
                }
                plan.points.push_back(std::move(p));
            }
        }
    }
    return plan;
}

Experiment pointExperiment(const SweepPlan &plan, int index, const std::string &sweepId,
                           const std::vector<std::string> &runDirs)
{
    const SweepPoint &p = plan.points.at(std::size_t(index));
    Experiment e = parseExperiment(experimentToJson(plan.base), {}, p.overrides());
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "-p%04d", index);
    e.name = plan.base.name + suffix;
    e.sweepPoint.sweep = sweepId;
    e.sweepPoint.point = index;
    e.sweepPoint.seed = p.seed;
    e.sweepPoint.settings = p.settings;
    if (p.teacherFrom >= 0 && e.teacher.source == "train") {
        e.teacher.source = "run";
        e.teacher.run = runDirs.at(std::size_t(p.teacherFrom));
    }
    if (p.baselineFrom >= 0 && e.baseline)
        e.baselineRun = runDirs.at(std::size_t(p.baselineFrom));
    return e;
}

double estimateSweepSeconds(const SweepPlan &plan, double teacherSeconds, double baselineSeconds,
                            double studentSeconds, int jobs)
{
    // The teachers run first, one after another; the rest share the jobs.
    const double rest = plan.baselinesTrained() * baselineSeconds + double(plan.points.size()) * studentSeconds;
    return plan.teachersTrained() * teacherSeconds + rest / std::max(1, jobs);
}

} // namespace distillery
