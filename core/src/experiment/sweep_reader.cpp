#include "experiment/sweep_reader.h"

#include "experiment/object_reader.h"

#include <set>

namespace distillery::detail {

namespace {

// A setting a sweep may vary: any dotted key of the experiment but its seed
// (the sweep's "seeds"), its name and the sweep's own objects.
void checkKey(const ObjectReader &r, const std::string &field, const std::string &key)
{
    if (key.empty() || key.front() == '.' || key.back() == '.' || key.find("..") != std::string::npos)
        r.error(field, "is not a setting (a dotted key such as distillation.temperature)");
    if (key == "seed")
        r.error(field, "the seed is swept with \"seeds\": [1, 2, 3]");
    for (const char *own : {"name", "sweep", "sweep_point", "baseline_run", "version"})
        if (key == own || key.rfind(std::string(own) + ".", 0) == 0)
            r.error(field, std::string("cannot be swept (") + own + " belongs to each point)");
}

void readGrid(const json &g, const std::string &origin, SweepSpec &s)
{
    ObjectReader r(g, "sweep.grid", origin);
    if (g.empty())
        r.error("sweep.grid", "is empty; give a setting and its values, e.g. {\"distillation.alpha\": [0.5, 0.9]}");
    for (auto it = g.begin(); it != g.end(); ++it) {
        const std::string field = r.field(it.key());
        checkKey(r, field, it.key());
        if (!it->is_array() || it->empty())
            r.error(field, "must be a non-empty list of values (got " + it->dump() + ")");
        std::vector<std::string> values;
        std::set<std::string> seen;
        for (const auto &v : *it) {
            if (v.is_array() || v.is_object() || v.is_null())
                r.error(field, "a value must be a number, a string or true/false (got " + v.dump() + ")");
            if (!seen.insert(v.dump()).second)
                r.error(field, "lists " + v.dump() + " twice");
            values.push_back(v.dump());
        }
        s.grid.emplace_back(it.key(), values);
    }
}

void readRandom(const json &j, const std::string &origin, SweepSpec &s)
{
    ObjectReader r(j, "sweep.random", origin);
    r.read("count", s.randomCount);
    r.read("seed", s.randomSeed);
    if (s.randomCount < 1)
        r.error("sweep.random.count", "must be at least 1 (got " + std::to_string(s.randomCount) + ")");
    const json *ranges = r.find("ranges");
    if (!ranges || !ranges->is_object() || ranges->empty())
        r.error("sweep.random.ranges", "must name at least one setting and its range, e.g. "
                                       "{\"student.train.lr\": {\"min\": 0.01, \"max\": 0.1, \"log\": true}}");
    for (auto it = ranges->begin(); it != ranges->end(); ++it) {
        SweepRange range;
        range.key = it.key();
        const std::string field = "sweep.random.ranges." + it.key();
        ObjectReader rr(*it, field, origin);
        checkKey(rr, field, it.key());
        rr.read("min", range.min);
        rr.read("max", range.max);
        rr.read("log", range.log);
        rr.read("integer", range.integer);
        rr.finish();
        if (!(range.min <= range.max) || !it->contains("min") || !it->contains("max"))
            rr.error(rr.field("max"), "needs a min and a max with min <= max");
        if (range.log && !(range.min > 0))
            rr.error(rr.field("min"), "must be > 0 for a log-uniform range (got " + plainNumber(range.min) + ")");
        for (const auto &[key, values] : s.grid)
            if (key == range.key)
                rr.error(field, "is in the grid as well; a setting is swept one way");
        s.ranges.push_back(range);
    }
    r.finish();
}

} // namespace

void readSweep(const json &j, const std::string &origin, SweepSpec &s)
{
    s = SweepSpec{};
    ObjectReader r(j, "sweep", origin);
    if (const json *g = r.find("grid"))
        readGrid(*g, origin, s);
    if (const json *rnd = r.find("random"))
        readRandom(*rnd, origin, s);
    if (const json *seeds = r.find("seeds")) {
        if (!seeds->is_array() || seeds->empty())
            r.error("sweep.seeds", "must be a non-empty list of whole numbers (got " + seeds->dump() + ")");
        std::set<std::uint64_t> seen;
        for (const auto &v : *seeds) {
            if (!v.is_number_unsigned())
                r.error("sweep.seeds", "must hold whole numbers >= 0 (got " + v.dump() + ")");
            if (!seen.insert(v.get<std::uint64_t>()).second)
                r.error("sweep.seeds", "lists " + v.dump() + " twice");
            s.seeds.push_back(v.get<std::uint64_t>());
        }
    }
    r.finish();
    if (!s.active())
        r.error("sweep", "is empty; give a grid, a random search or seeds (docs/SWEEPS.md)");
}

void readSweepPoint(const json &j, const std::string &origin, SweepMembership &m)
{
    ObjectReader r(j, "sweep_point", origin);
    r.read("sweep", m.sweep);
    r.read("point", m.point);
    r.read("seed", m.seed);
    if (const json *settings = r.find("settings")) {
        if (!settings->is_object())
            r.error("sweep_point.settings", "must be a JSON object");
        for (auto it = settings->begin(); it != settings->end(); ++it)
            m.settings.emplace_back(it.key(), it->dump());
    }
    r.finish();
    if (m.point < 0)
        r.error("sweep_point.point", "must be >= 0 (got " + std::to_string(m.point) + ")");
}

json sweepToJson(const SweepSpec &s)
{
    json j = json::object();
    if (!s.grid.empty()) {
        json g = json::object();
        for (const auto &[key, values] : s.grid) {
            json list = json::array();
            for (const auto &v : values)
                list.push_back(json::parse(v));
            g[key] = list;
        }
        j["grid"] = g;
    }
    if (s.randomCount > 0) {
        json ranges = json::object();
        for (const auto &r : s.ranges)
            ranges[r.key] = {{"min", r.min}, {"max", r.max}, {"log", r.log}, {"integer", r.integer}};
        j["random"] = {{"count", s.randomCount}, {"seed", s.randomSeed}, {"ranges", ranges}};
    }
    if (!s.seeds.empty())
        j["seeds"] = s.seeds;
    return j;
}

json sweepPointToJson(const SweepMembership &m)
{
    json settings = json::object();
    for (const auto &[key, value] : m.settings)
        settings[key] = json::parse(value);
    return {{"sweep", m.sweep}, {"point", m.point}, {"seed", m.seed}, {"settings", settings}};
}

} // namespace distillery::detail
