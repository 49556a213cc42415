// The run index's filter language compiled into SQL (internal to core):
// `KEY OP VALUE` joined by and/or, with parentheses; OP one of
// = != < <= > >= ~ (~: contains). KEY is a run column or a setting key (its
// last segment alone where no other key ends the same). Values are bound as
// parameters, never pasted into the SQL. docs/RUNS.md.
#pragma once

#include "runs/sqlite_db.h"

#include <string>
#include <vector>

namespace distillery::detail {

struct IndexColumn {
    const char *key;  // as a filter names it
    const char *sql;  // the expression over the runs table
    bool text;        // compared as text (else as a number)
};
const std::vector<IndexColumn> &indexColumns();

// A SQL expression over `runs` and its bound values, in order.
struct CompiledSql {
    std::string sql;
    std::vector<SqlValue> params;
};

// `settingKeys`: every setting key the index holds. Throws IndexQueryError
// naming the position of a malformed filter or the unknown key (with the
// nearest known one).
CompiledSql compileFilter(const std::string &filter, const std::vector<std::string> &settingKeys);
// An ORDER BY list (without the words) for `key`, newest first when empty.
CompiledSql compileSort(const std::string &key, bool descending, const std::vector<std::string> &settingKeys);

} // namespace distillery::detail
