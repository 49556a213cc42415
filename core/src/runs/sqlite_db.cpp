#include "runs/sqlite_db.h"

#include <sqlite3.h>

#include <cmath>

namespace distillery::detail {

bool SqliteError::damaged() const
{
    const int primary = code_ & 0xff;
    return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

bool SqliteError::unavailable() const
{
    const int primary = code_ & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_READONLY ||
           primary == SQLITE_CANTOPEN || primary == SQLITE_PERM || primary == SQLITE_IOERR || primary == SQLITE_FULL;
}

SqliteDb::SqliteDb(const std::string &path, int busyMs)
{
    const int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) {
        const std::string what = path + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
        sqlite3_close(db_);
        db_ = nullptr;
        throw SqliteError(rc, what);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, busyMs);
}

SqliteDb::~SqliteDb()
{
    sqlite3_close_v2(db_);
}

std::int64_t SqliteDb::lastInsertId() const
{
    return sqlite3_last_insert_rowid(db_);
}

void SqliteDb::fail(int code) const
{
    throw SqliteError(code, std::string("run index: ") + sqlite3_errmsg(db_));
}

void SqliteDb::exec(const std::string &sql)
{
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK)
        fail(rc);
}

SqliteStmt::SqliteStmt(const SqliteDb &db, const std::string &sql) : db_(db)
{
    const int rc = sqlite3_prepare_v2(db.handle(), sql.c_str(), int(sql.size()), &s_, nullptr);
    if (rc != SQLITE_OK)
        db.fail(rc);
}

SqliteStmt::~SqliteStmt()
{
    sqlite3_finalize(s_);
}

SqliteStmt &SqliteStmt::bind(int i, const SqlValue &v)
{
    int rc = SQLITE_OK;
    if (std::holds_alternative<std::nullptr_t>(v))
        rc = sqlite3_bind_null(s_, i);
    else if (const auto *n = std::get_if<std::int64_t>(&v))
        rc = sqlite3_bind_int64(s_, i, *n);
    else if (const auto *d = std::get_if<double>(&v))
        rc = std::isfinite(*d) ? sqlite3_bind_double(s_, i, *d) : sqlite3_bind_null(s_, i);
    else {
        const auto &t = std::get<std::string>(v);
        rc = sqlite3_bind_text(s_, i, t.data(), int(t.size()), SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK)
        db_.fail(rc);
    return *this;
}

bool SqliteStmt::step()
{
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    sqlite3_reset(s_);
    db_.fail(rc);
}

void SqliteStmt::reset()
{
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
}

bool SqliteStmt::isNull(int col) const
{
    return sqlite3_column_type(s_, col) == SQLITE_NULL;
}

std::int64_t SqliteStmt::integer(int col) const
{
    return sqlite3_column_int64(s_, col);
}

double SqliteStmt::real(int col) const
{
    return isNull(col) ? std::nan("") : sqlite3_column_double(s_, col);
}

std::string SqliteStmt::text(int col) const
{
    const auto *p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char *>(p), std::size_t(sqlite3_column_bytes(s_, col))) : std::string();
}

SqlValue SqliteStmt::value(int col) const
{
    switch (sqlite3_column_type(s_, col)) {
    case SQLITE_INTEGER: return integer(col);
    case SQLITE_FLOAT: return real(col);
    case SQLITE_NULL: return nullptr;
    default: return text(col);
    }
}

SqliteTransaction::SqliteTransaction(SqliteDb &db) : db_(db)
{
    db_.exec("BEGIN IMMEDIATE");
}

SqliteTransaction::~SqliteTransaction()
{
    if (open_)
        sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void SqliteTransaction::commit()
{
    db_.exec("COMMIT");
    open_ = false;
}

} // namespace distillery::detail
