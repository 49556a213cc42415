// The run index (docs/RUNS.md): runs.sqlite in the workspace, filled from the
// run folders, which stay the source of truth.
#include "distillery/runindex.h"

#include "distillery/runs.h"
#include "runs/index_filter.h"
#include "runs/run_index_private.h"
#include "runs/sqlite_db.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

namespace distillery {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace detail;

namespace {



const char *runColumns = "runs.dir, runs.name, runs.started, runs.status, runs.method, runs.seconds, "
                         "runs.teacher_accuracy, runs.baseline_accuracy, runs.student_accuracy, runs.gain, "
                         "runs.teacher_parameters, runs.student_parameters, runs.sweep_id, runs.sweep_point, "
                         "(SELECT value FROM settings WHERE run = runs.id AND key = 'distillation.temperature'), "
                         "(SELECT value FROM settings WHERE run = runs.id AND key = 'distillation.alpha'), "
                         "(SELECT value FROM settings WHERE run = runs.id AND key = 'forked_from.run'), "
                         "(SELECT value FROM settings WHERE run = runs.id AND key = 'forked_from.epoch')";

using Settings = std::vector<std::pair<std::string, SqlValue>>;

// config.json's values under dotted keys; arrays kept whole as JSON text.
void flatten(const json &j, const std::string &prefix, Settings &out)
{
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it)
            flatten(*it, prefix.empty() ? it.key() : prefix + "." + it.key(), out);
        return;
    }
    if (prefix.empty())
        return;
    if (j.is_boolean())
        out.emplace_back(prefix, std::int64_t(j.get<bool>()));
    else if (j.is_number_integer())
        out.emplace_back(prefix, j.get<std::int64_t>());
    else if (j.is_number())
        out.emplace_back(prefix, j.get<double>());
    else if (j.is_string())
        out.emplace_back(prefix, j.get<std::string>());
    else if (j.is_null())
        out.emplace_back(prefix, nullptr);
    else
        out.emplace_back(prefix, j.dump());
}

std::int64_t mtimeNs(const fs::path &p)
{
    std::error_code ec;
    const auto t = fs::last_write_time(p, ec);
    return ec ? 0 : std::int64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

// When the files the row is read from last changed, as the row remembers it.
// metrics.jsonl is left out: the row holds nothing of it, and it changes at
// every logged step of a running run.
std::int64_t folderStamp(const fs::path &dir)
{
    return std::max(mtimeNs(dir / "config.json"), mtimeNs(dir / "summary.json"));
}

bool isRunFolder(const fs::directory_entry &e)
{
    std::error_code ec;
    return e.is_directory(ec) && fs::exists(e.path() / "config.json", ec);
}

double accuracy(double a)
{
    return a >= 0 ? a : std::nan("");
}


std::string valueText(const SqlValue &v)
{
    if (const auto *s = std::get_if<std::string>(&v))
        return *s;
    if (const auto *n = std::get_if<std::int64_t>(&v))
        return std::to_string(*n);
    if (const auto *d = std::get_if<double>(&v))
        return json(*d).dump();
    return "null";
}

IndexedRun runFrom(const SqliteStmt &s)
{
    IndexedRun r;
    r.dir = s.text(0);
    r.name = s.text(1);
    r.started = s.text(2);
    r.status = s.text(3);
    r.method = s.text(4);
    r.seconds = s.real(5);
    r.teacherAccuracy = s.real(6);
    r.baselineAccuracy = s.real(7);
    r.studentAccuracy = s.real(8);
    r.gain = s.real(9);
    r.teacherParameters = s.integer(10);
    r.studentParameters = s.integer(11);
    r.sweep = s.text(12);
    r.sweepPoint = s.isNull(13) ? -1 : s.integer(13);
    r.temperature = s.isNull(14) ? std::nan("") : s.real(14);
    r.alpha = s.isNull(15) ? std::nan("") : s.real(15);
    r.forkedFrom = s.isNull(16) ? std::string() : s.text(16);
    r.forkedEpoch = s.isNull(17) ? 0 : int(s.integer(17));
    return r;
}

} // namespace


void RunIndex::Private::deleteRun(const std::string &rel)
{
    if (!writer)
        writer = std::make_unique<RowWriter>(*db);
    writer->dropSettings.reset();
    writer->dropSettings.bind(1, rel).step();
    writer->dropRun.reset();
    writer->dropRun.bind(1, rel).step();
}

// One run's row and settings, replacing what the index had (inside a transaction).
void RunIndex::Private::writeRun(const std::string &rel, const fs::path &dir)
{
    const std::int64_t stamp = folderStamp(dir); // before reading: a later write makes the row stale
    const RunInfo info = readRunInfo(dir.string());
    Settings settings;
    std::string sweep;
    std::int64_t point = -1;
    {
        std::ifstream f(dir / "config.json");
        const json config = json::parse(f, nullptr, false);
        flatten(config, "", settings);
        // A sweep's point: its sweep and index as columns, for grouping.
        const json member = config.is_object() ? config.value("sweep_point", json()) : json();
        if (member.is_object() && member.value("sweep", json()).is_string() &&
            member.value("point", json()).is_number_integer()) {
            sweep = member["sweep"].get<std::string>();
            point = member["point"].get<std::int64_t>();
        }
    }
    deleteRun(rel);
    SqliteStmt &insert = writer->run;
    insert.reset();
    const double baseline = accuracy(info.baselineTestAccuracy), student = accuracy(info.studentTestAccuracy);
    insert.bind(1, rel).bind(2, info.name).bind(3, info.started).bind(4, statusName(info.status));
    insert.bind(5, info.method).bind(6, info.seconds).bind(7, accuracy(info.teacherTestAccuracy));
    insert.bind(8, baseline).bind(9, student).bind(10, student - baseline);
    insert.bind(11, std::int64_t(info.teacherParameters)).bind(12, std::int64_t(info.studentParameters));
    insert.bind(13, stamp);
    insert.bind(14, point >= 0 ? SqlValue(sweep) : SqlValue(nullptr));
    insert.bind(15, point >= 0 ? SqlValue(point) : SqlValue(nullptr)).step();
    const std::int64_t id = db->lastInsertId();
    for (const auto &[k, v] : settings) {
        writer->setting.reset();
        writer->setting.bind(1, id).bind(2, k).bind(3, v).step();
        writer->key.reset();
        writer->key.bind(1, k).step();
    }
}

int RunIndex::Private::fillFromFolders()
{
    int n = 0;
    std::error_code ec;
    for (const auto &e : fs::directory_iterator(workspace / "runs", ec))
        if (isRunFolder(e)) {
            writeRun("runs/" + e.path().filename().string(), e.path());
            ++n;
        }
    return n;
}

std::vector<std::string> RunIndex::Private::settingKeys() const
{
    std::vector<std::string> keys;
    SqliteStmt s(*db, "SELECT key FROM keys ORDER BY key");
    while (s.step())
        keys.push_back(s.text(0));
    return keys;
}

RunIndex::RunIndex(const std::string &workspace, bool refreshNow) : d(std::make_unique<Private>())
{
    d->workspace = workspace;
    d->file = d->workspace / fileName;
    std::error_code ec;
    fs::create_directories(d->workspace, ec);
    bool rebuild = false;
    try {
        if (!d->connect(busyMs)) {
            d->moveAside("not a run index of schema version " + std::to_string(schemaVersion));
            d->connect(busyMs);
            rebuild = true;
        }
        if (rebuild || d->upgraded)
            reindex();
        else if (refreshNow)
            refresh();
    } catch (const SqliteError &e) {
        if (!e.damaged())
            throw std::runtime_error(e.what());
        d->moveAside(std::string("damaged (") + e.what() + ")"); // damage found past the header
        d->connect(busyMs);
        reindex();
    }
}

RunIndex::~RunIndex() = default;

std::string RunIndex::path() const
{
    return d->file.string();
}

const std::vector<std::string> &RunIndex::notes() const
{
    return d->notes;
}

int RunIndex::reindex()
{
    SqliteTransaction t(*d->db);
    d->db->exec("DELETE FROM settings; DELETE FROM runs; DELETE FROM keys;");
    const int n = d->fillFromFolders();
    t.commit();
    return n;
}

RefreshCounts RunIndex::refresh()
{
    RefreshCounts counts;
    std::map<std::string, std::int64_t> rows;
    {
        SqliteStmt s(*d->db, "SELECT dir, stamp FROM runs");
        while (s.step())
            rows.emplace(s.text(0), s.integer(1));
    }
    std::vector<std::pair<std::string, fs::path>> stale;
    std::error_code ec;
    for (const auto &e : fs::directory_iterator(d->workspace / "runs", ec)) {
        if (!e.is_directory(ec))
            continue;
        const std::int64_t config = mtimeNs(e.path() / "config.json");
        if (config == 0)
            continue; // not a run folder (yet)
        const std::string rel = "runs/" + e.path().filename().string();
        const auto it = rows.find(rel);
        if (it == rows.end()) {
            stale.emplace_back(rel, e.path());
            ++counts.added;
            continue;
        }
        if (it->second != std::max(config, mtimeNs(e.path() / "summary.json"))) {
            stale.emplace_back(rel, e.path());
            ++counts.updated;
        }
        rows.erase(it);
    }
    counts.removed = int(rows.size());
    if (stale.empty() && rows.empty())
        return counts;
    SqliteTransaction t(*d->db);
    for (const auto &[rel, dir] : stale)
        d->writeRun(rel, dir);
    for (const auto &[rel, stamp] : rows)
        d->deleteRun(rel);
    t.commit();
    return counts;
}

bool RunIndex::upsertRun(const std::string &runDir)
{
    fs::path dir = fs::absolute(runDir);
    if (dir.filename().empty())
        dir = dir.parent_path();
    std::error_code ec;
    if (!fs::equivalent(dir.parent_path(), d->workspace / "runs", ec) || !isRunFolder(fs::directory_entry(dir, ec)))
        return false;
    SqliteTransaction t(*d->db);
    d->writeRun("runs/" + dir.filename().string(), dir);
    t.commit();
    return true;
}

std::vector<IndexedRun> RunIndex::query(const std::string &filter, const std::string &sortKey, bool descending,
                                        int limit) const
{
    const std::vector<std::string> keys = d->settingKeys();
    const CompiledSql where = compileFilter(filter, keys);
    const CompiledSql order = compileSort(sortKey, descending, keys);
    SqliteStmt s(*d->db, std::string("SELECT ") + runColumns + " FROM runs WHERE " + where.sql + " ORDER BY " +
                             order.sql + (limit > 0 ? " LIMIT " + std::to_string(limit) : std::string()));
    int i = 1;
    for (const auto &v : where.params)
        s.bind(i++, v);
    for (const auto &v : order.params)
        s.bind(i++, v);
    std::vector<IndexedRun> out;
    while (s.step())
        out.push_back(runFrom(s));
    return out;
}

std::vector<std::pair<std::string, std::string>> RunIndex::settings(const std::string &dir) const
{
    std::vector<std::pair<std::string, std::string>> out;
    SqliteStmt s(*d->db, "SELECT key, value FROM settings WHERE run = (SELECT id FROM runs WHERE dir = ?) ORDER BY key");
    s.bind(1, dir);
    while (s.step())
        out.emplace_back(s.text(0), valueText(s.value(1)));
    return out;
}

std::vector<std::string> RunIndex::keys() const
{
    std::vector<std::string> out;
    for (const auto &c : indexColumns())
        out.push_back(c.key);
    for (auto &k : d->settingKeys())
        out.push_back(std::move(k));
    return out;
}

int RunIndex::count() const
{
    SqliteStmt s(*d->db, "SELECT count(*) FROM runs");
    s.step();
    return int(s.integer(0));
}

void updateRunIndex(const std::string &runDir) noexcept
{
    try {
        fs::path dir = fs::absolute(runDir);
        if (dir.filename().empty())
            dir = dir.parent_path();
        if (dir.parent_path().filename() != "runs")
            return;
        RunIndex::Private p;
        p.workspace = dir.parent_path().parent_path();
        p.file = p.workspace / RunIndex::fileName;
        if (!p.connect(engineBusyMs, false))
            return; // damaged or older: the next open rebuilds it, not the run
        SqliteTransaction t(*p.db);
        p.writeRun("runs/" + dir.filename().string(), dir);
        t.commit();
    } catch (...) {
        // Locked, read-only, disk full: the next open's refresh catches up.
    }
}

} // namespace distillery
