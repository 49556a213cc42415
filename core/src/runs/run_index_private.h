// The run index's private parts (internal to core): the connection, the
// statements that write rows, and the schema (run_index_schema.cpp).
#pragma once

#include "distillery/runindex.h"
#include "runs/sqlite_db.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace distillery {

namespace detail {
constexpr int busyMs = 5000;      // another process writing: wait this long
constexpr int engineBusyMs = 250; // a run's own update waits less, then skips
} // namespace detail

// The statements that write rows, prepared once per connection.
struct RowWriter {
    explicit RowWriter(const detail::SqliteDb &db)
        : dropSettings(db, "DELETE FROM settings WHERE run = (SELECT id FROM runs WHERE dir = ?)"),
          dropRun(db, "DELETE FROM runs WHERE dir = ?"),
          run(db, "INSERT INTO runs (dir, name, started, status, method, seconds, teacher_accuracy, "
                  "baseline_accuracy, student_accuracy, gain, teacher_parameters, student_parameters, stamp, "
                  "sweep_id, sweep_point) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
          setting(db, "INSERT OR REPLACE INTO settings (run, key, value) VALUES (?, ?, ?)"),
          key(db, "INSERT OR IGNORE INTO keys (key) VALUES (?)")
    {
    }
    detail::SqliteStmt dropSettings, dropRun, run, setting, key;
};

struct RunIndex::Private {
    std::filesystem::path workspace;
    std::filesystem::path file;
    std::unique_ptr<detail::SqliteDb> db;
    std::unique_ptr<RowWriter> writer; // before db goes
    std::vector<std::string> notes;

    bool upgraded = false; // an older schema's tables were dropped: the rows must be made again

    // Opens the file and checks its schema; false where it is damaged or foreign.
    // An older schema is upgraded where `mayUpgrade` (else: false).
    bool connect(int busy, bool mayUpgrade = true);
    void createSchema();
    void upgrade();
    void moveAside(const std::string &why);
    void writeRun(const std::string &rel, const std::filesystem::path &dir);
    void deleteRun(const std::string &rel);
    int fillFromFolders();
    std::vector<std::string> settingKeys() const;
};

} // namespace distillery
