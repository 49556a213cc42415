// A sweep's folder: sweep.json (the experiment and its plan), the points'
// experiment files and logs; the points' runs are ordinary run folders.
#include "distillery/sweep.h"

#include "runs/atomic_file.h"
#include "runs/run_folder.h"
#include "support/errors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace distillery {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string pointName(int point)
{
    char name[16];
    std::snprintf(name, sizeof name, "p%04d", point);
    return name;
}

json planJson(const SweepFolder &s)
{
    json points = json::array();
    for (const auto &p : s.plan.points) {
        json settings = json::object();
        for (const auto &[key, value] : p.settings)
            settings[key] = json::parse(value);
        points.push_back({{"point", p.index},
                          {"seed", p.seed},
                          {"settings", settings},
                          {"teacher_from", p.teacherFrom},
                          {"baseline_from", p.baselineFrom},
                          {"run", fs::relative(s.runDir(p.index), s.workspace).string()}});
    }
    return {{"version", 1},
            {"id", s.id},
            {"experiment", json::parse(experimentToJson(s.experiment))},
            {"keys", s.plan.keys},
            {"points", points}};
}

} // namespace

std::string SweepFolder::runDir(int point) const
{
    return (fs::path(workspace) / "runs" / (id + "-" + pointName(point))).string();
}

std::vector<std::string> SweepFolder::runDirs() const
{
    std::vector<std::string> dirs;
    for (std::size_t i = 0; i < plan.points.size(); ++i)
        dirs.push_back(runDir(int(i)));
    return dirs;
}

std::string SweepFolder::pointFile(int point) const
{
    return (fs::path(dir) / "points" / (pointName(point) + ".json")).string();
}

std::string SweepFolder::logFile(int point) const
{
    return (fs::path(dir) / "logs" / (pointName(point) + ".log")).string();
}

SweepFolder createSweepFolder(const std::string &workspace, const Experiment &e, const SweepPlan &plan)
{
    SweepFolder s;
    s.workspace = fs::absolute(workspace).lexically_normal().string();
    try {
        s.dir = detail::createStampedDir(fs::path(s.workspace) / "sweeps", e.name).string();
        s.id = fs::path(s.dir).filename().string();
        s.experiment = e;
        s.plan = plan;
        fs::create_directories(fs::path(s.dir) / "points");
        fs::create_directories(fs::path(s.dir) / "logs");
        detail::writeFileAtomically((fs::path(s.dir) / "sweep.json").string(), planJson(s).dump(2) + "\n");
    } catch (const std::exception &ex) {
        throw ConfigError(std::string("sweep: ") + ex.what());
    }
    return s;
}

SweepFolder openSweepFolder(const std::string &dir)
{
    const fs::path file = fs::path(dir) / "sweep.json";
    std::ifstream in(file);
    if (!in)
        throw ConfigError(file.string() + ": cannot open (not a sweep folder?)");
    const json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("experiment") || !j.contains("points") ||
        !j["points"].is_array() || !j.value("id", json()).is_string())
        throw ConfigError(file.string() + ": damaged (not the JSON sweep.json holds)");
    SweepFolder s;
    s.dir = fs::absolute(dir).lexically_normal().string();
    if (fs::path(s.dir).filename().empty())
        s.dir = fs::path(s.dir).parent_path().string();
    s.workspace = fs::path(s.dir).parent_path().parent_path().string();
    s.id = j["id"].get<std::string>();
    s.experiment = parseExperiment(j["experiment"].dump(), file.string());
    s.plan = planSweep(s.experiment, file.string(), /*allowLarge=*/true);
    if (s.plan.points.size() != j["points"].size())
        throw ConfigError(file.string() + ": lists " + std::to_string(j["points"].size()) +
                          " points, and its experiment's sweep makes " + std::to_string(s.plan.points.size()));
    return s;
}

std::vector<std::string> listSweeps(const std::string &workspace)
{
    std::vector<std::string> dirs;
    std::error_code ec;
    for (const auto &e : fs::directory_iterator(fs::path(workspace) / "sweeps", ec))
        if (fs::is_regular_file(e.path() / "sweep.json", ec))
            dirs.push_back(e.path().string());
    std::sort(dirs.rbegin(), dirs.rend());
    return dirs;
}

} // namespace distillery
