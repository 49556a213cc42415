// A thin owner of Debian's libsqlite3 handles (internal to core): a
// connection and its prepared statements, errors as exceptions that keep
// SQLite's result code (the run index tells a damaged file by it).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <variant>

struct sqlite3;
struct sqlite3_stmt;

namespace distillery::detail {

class SqliteError : public std::runtime_error {
public:
    SqliteError(int code, const std::string &what) : std::runtime_error(what), code_(code) {}
    int code() const { return code_; }
    // Not a database, or a damaged one: the index is rebuilt.
    bool damaged() const;
    // Locked by another process past the busy timeout, or a read-only file.
    bool unavailable() const;

private:
    int code_;
};

using SqlValue = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

class SqliteDb {
public:
    // Opens (creating if missing) with a busy timeout in milliseconds.
    SqliteDb(const std::string &path, int busyMs);
    ~SqliteDb();
    SqliteDb(const SqliteDb &) = delete;
    SqliteDb &operator=(const SqliteDb &) = delete;
    void exec(const std::string &sql);
    sqlite3 *handle() const { return db_; }
    std::int64_t lastInsertId() const;
    [[noreturn]] void fail(int code) const;

private:
    sqlite3 *db_ = nullptr;
};

class SqliteStmt {
public:
    SqliteStmt(const SqliteDb &db, const std::string &sql);
    ~SqliteStmt();
    SqliteStmt(const SqliteStmt &) = delete;
    SqliteStmt &operator=(const SqliteStmt &) = delete;
    SqliteStmt &bind(int i, const SqlValue &v); // 1-based, as SQLite counts
    bool step();                                // true: a row
    void reset();                               // for the next bindings
    bool isNull(int col) const;
    std::int64_t integer(int col) const;
    double real(int col) const; // NaN when null
    std::string text(int col) const;
    SqlValue value(int col) const;

private:
    const SqliteDb &db_;
    sqlite3_stmt *s_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back when left by an exception.
class SqliteTransaction {
public:
    explicit SqliteTransaction(SqliteDb &db);
    ~SqliteTransaction();
    void commit();

private:
    SqliteDb &db_;
    bool open_ = true;
};

} // namespace distillery::detail
