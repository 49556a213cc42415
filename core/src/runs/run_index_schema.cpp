// The run index's file: its schema, opening it, upgrading an older one and
// moving a damaged one aside (docs/RUNS.md).
#include "runs/run_index_private.h"

#include <ctime>
#include <filesystem>

namespace distillery {

namespace fs = std::filesystem;
using namespace detail;

namespace {

const char *schemaSql = R"(
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    dir TEXT NOT NULL UNIQUE,
    name TEXT, started TEXT, status TEXT, method TEXT, seconds REAL,
    teacher_accuracy REAL, baseline_accuracy REAL, student_accuracy REAL, gain REAL,
    teacher_parameters INTEGER, student_parameters INTEGER,
    sweep_id TEXT, sweep_point INTEGER,
    stamp INTEGER NOT NULL);
CREATE TABLE settings (
    run INTEGER NOT NULL, key TEXT NOT NULL, value,
    PRIMARY KEY (run, key)) WITHOUT ROWID;
CREATE TABLE keys (key TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE INDEX settings_by_key ON settings (key, value);
CREATE INDEX runs_by_status ON runs (status);
CREATE INDEX runs_by_started ON runs (started);
CREATE INDEX runs_by_accuracy ON runs (student_accuracy);
CREATE INDEX runs_by_sweep ON runs (sweep_id, sweep_point);
)";

std::string nowStamp()
{
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
    return buf;
}

} // namespace

bool RunIndex::Private::connect(int busy, bool mayUpgrade)
{
    writer.reset();
    db.reset();
    db = std::make_unique<SqliteDb>(file.string(), busy);
    try {
        db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
        std::int64_t v = 0, objects = 0;
        { // statements finished before any table is dropped
            SqliteStmt version(*db, "PRAGMA user_version");
            version.step();
            v = version.integer(0);
            SqliteStmt tables(*db, "SELECT count(*) FROM sqlite_master");
            tables.step();
            objects = tables.integer(0);
        }
        if (v == RunIndex::schemaVersion)
            return true;
        if (v == 0 && objects == 0) {
            createSchema();
            return true;
        }
        if (v > 0 && v < RunIndex::schemaVersion && mayUpgrade) {
            // Written by an older Distillery, whose rows hold less: made
            // again from the folders, in place (not damage, nothing to say).
            upgrade();
            upgraded = true;
            return true;
        }
        return false;
    } catch (const SqliteError &e) {
        if (e.damaged())
            return false;
        throw;
    }
}

void RunIndex::Private::createSchema()
{
    SqliteTransaction t(*db);
    SqliteStmt version(*db, "PRAGMA user_version");
    version.step();
    if (version.integer(0) == 0) { // another process may have made it meanwhile
        db->exec(schemaSql);
        db->exec("PRAGMA user_version = " + std::to_string(RunIndex::schemaVersion));
    }
    t.commit();
}

void RunIndex::Private::upgrade()
{
    writer.reset();
    SqliteTransaction t(*db);
    std::vector<std::string> drop;
    {
        SqliteStmt tables(*db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
        while (tables.step())
            drop.push_back("DROP TABLE IF EXISTS \"" + tables.text(0) + "\";"); // their indexes go with them
    }
    for (const auto &sql : drop)
        db->exec(sql);
    db->exec(schemaSql);
    db->exec("PRAGMA user_version = " + std::to_string(RunIndex::schemaVersion));
    t.commit();
}

void RunIndex::Private::moveAside(const std::string &why)
{
    writer.reset();
    db.reset();
    const fs::path aside = file.string() + ".damaged-" + nowStamp();
    std::error_code ec;
    fs::rename(file, aside, ec);
    for (const char *extra : {"-wal", "-shm"})
        fs::remove(file.string() + extra, ec);
    notes.push_back("run index " + file.string() + ": " + why + "; moved aside as " + aside.filename().string() +
                    " and rebuilt from the run folders");
}

} // namespace distillery
