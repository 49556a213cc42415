#include "runs/index_filter.h"

#include "distillery/experiment.h"
#include "distillery/runindex.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace distillery::detail {

const std::vector<IndexColumn> &indexColumns()
{
    static const std::vector<IndexColumn> columns = {
        {"name", "runs.name", true},
        {"dir", "runs.dir", true},
        {"started", "runs.started", true},
        {"status", "runs.status", true},
        {"method", "runs.method", true},
        {"seconds", "runs.seconds", false},
        {"accuracy", "runs.student_accuracy", false},
        {"student_accuracy", "runs.student_accuracy", false},
        {"baseline_accuracy", "runs.baseline_accuracy", false},
        {"teacher_accuracy", "runs.teacher_accuracy", false},
        {"gain", "runs.gain", false},
        {"parameters", "runs.student_parameters", false},
        {"student_parameters", "runs.student_parameters", false},
        {"teacher_parameters", "runs.teacher_parameters", false},
        {"compression", "(CAST(runs.teacher_parameters AS REAL) / NULLIF(runs.student_parameters, 0))", false},
        {"sweep", "runs.sweep_id", true},
        {"sweep_point", "runs.sweep_point", false},
    };
    return columns;
}

namespace {

// A key resolved: a run column, or a setting's full key.
struct Key {
    const IndexColumn *column = nullptr;
    std::string setting;
};

std::string lastSegment(const std::string &key)
{
    const auto dot = key.rfind('.');
    return dot == std::string::npos ? key : key.substr(dot + 1);
}

Key resolveKey(const std::string &key, const std::vector<std::string> &settings, const std::string &where)
{
    for (const auto &c : indexColumns())
        if (key == c.key)
            return {&c, {}};
    if (std::find(settings.begin(), settings.end(), key) != settings.end())
        return {nullptr, key};
    // Keys ending in `.key`: the shallowest one, where only one is that shallow
    // (alpha: distillation.alpha over dkd's distillation.params.alpha).
    std::vector<std::string> ending;
    const auto depth = [](const std::string &s) { return std::count(s.begin(), s.end(), '.'); };
    for (const auto &s : settings)
        if (lastSegment(s) == key) {
            if (!ending.empty() && depth(s) < depth(ending.front()))
                ending.clear();
            if (ending.empty() || depth(s) == depth(ending.front()))
                ending.push_back(s);
        }
    if (ending.size() == 1)
        return {nullptr, ending.front()};
    if (ending.size() > 1) {
        std::string all;
        for (const auto &s : ending)
            all += (all.empty() ? "" : ", ") + s;
        throw IndexQueryError(where + "'" + key + "' could be any of " + all + "; write the whole key");
    }
    std::vector<std::string> known;
    for (const auto &c : indexColumns())
        known.push_back(c.key);
    for (const auto &s : settings) {
        known.push_back(s);
        known.push_back(lastSegment(s));
    }
    const std::string near = nearestName(key, known);
    throw IndexQueryError(where + "unknown key '" + key + "'" +
                          (near.empty() ? std::string(" (a run column such as status, accuracy, gain, or a setting)")
                                        : "; did you mean '" + near + "'?"));
}

bool isWordChar(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '+';
}

std::string lower(std::string s)
{
    for (char &c : s)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Recursive descent over the filter text, writing SQL as it goes.
class Parser {
public:
    Parser(const std::string &text, const std::vector<std::string> &settings) : t_(text), settings_(settings) {}

    CompiledSql run()
    {
        skipSpace();
        if (pos_ == t_.size())
            return {"1", {}};
        std::string sql = orExpr();
        skipSpace();
        if (pos_ != t_.size())
            fail("expected 'and', 'or' or the end of the filter");
        return {sql, params_};
    }

private:
    [[noreturn]] void fail(const std::string &what) const
    {
        const std::string near = pos_ < t_.size() ? " at '" + t_.substr(pos_, 12) + "'" : " at the end";
        throw IndexQueryError("filter: position " + std::to_string(pos_ + 1) + near + ": " + what);
    }
    void skipSpace()
    {
        while (pos_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[pos_])))
            ++pos_;
    }
    // The next word (letters, digits, _ . - +), not consumed.
    std::string peekWord()
    {
        skipSpace();
        std::size_t end = pos_;
        while (end < t_.size() && isWordChar(t_[end]))
            ++end;
        return t_.substr(pos_, end - pos_);
    }
    bool takeKeyword(const char *word)
    {
        const std::string w = peekWord();
        if (lower(w) != word)
            return false;
        pos_ += w.size();
        return true;
    }
    std::string orExpr()
    {
        std::string sql = andExpr();
        while (takeKeyword("or"))
            sql = "(" + sql + " OR " + andExpr() + ")";
        return sql;
    }
    std::string andExpr()
    {
        std::string sql = primary();
        while (takeKeyword("and"))
            sql = "(" + sql + " AND " + primary() + ")";
        return sql;
    }
    std::string primary()
    {
        skipSpace();
        if (pos_ < t_.size() && t_[pos_] == '(') {
            ++pos_;
            std::string sql = orExpr();
            skipSpace();
            if (pos_ >= t_.size() || t_[pos_] != ')')
                fail("expected ')'");
            ++pos_;
            return sql;
        }
        return comparison();
    }
    std::string op()
    {
        skipSpace();
        for (const char *o : {"<=", ">=", "!=", "==", "=", "<", ">", "~"})
            if (t_.compare(pos_, std::char_traits<char>::length(o), o) == 0) {
                pos_ += std::char_traits<char>::length(o);
                return std::string(o) == "==" ? "=" : o;
            }
        fail("expected an operator (=, !=, <, <=, >, >=, ~)");
    }
    // The value: quoted text, or a bare word that is a number, true/false or text.
    SqlValue value(bool textColumn)
    {
        skipSpace();
        if (pos_ < t_.size() && (t_[pos_] == '\'' || t_[pos_] == '"')) {
            const char quote = t_[pos_];
            const auto end = t_.find(quote, pos_ + 1);
            if (end == std::string::npos)
                fail("the quoted value is not closed");
            std::string v = t_.substr(pos_ + 1, end - pos_ - 1);
            pos_ = end + 1;
            return v;
        }
        const std::string w = peekWord();
        if (w.empty())
            fail("expected a value");
        pos_ += w.size();
        if (textColumn)
            return w;
        if (w == "true" || w == "false")
            return std::int64_t(w == "true");
        char *end = nullptr;
        const double d = std::strtod(w.c_str(), &end);
        if (end && *end == '\0')
            return d;
        return w;
    }
    std::string comparison();

    const std::string &t_;
    const std::vector<std::string> &settings_;
    std::size_t pos_ = 0;
    std::vector<SqlValue> params_;
};

std::string Parser::comparison()
{
    skipSpace();
    const std::size_t at = pos_;
    const std::string key = peekWord();
    if (key.empty())
        fail("expected a key (a run column such as status or accuracy, or a setting)");
    pos_ += key.size();
    const Key k = resolveKey(key, settings_, "filter: position " + std::to_string(at + 1) + ": ");
    const std::string o = op();
    const SqlValue v = value((k.column && k.column->text) || o == "~");
    if (k.column && std::string(k.column->key) == "status" && std::holds_alternative<std::string>(v) && o != "~") {
        const std::vector<std::string> statuses = {"running", "finished", "stopped", "failed", "invalid"};
        const auto &s = std::get<std::string>(v);
        if (std::find(statuses.begin(), statuses.end(), s) == statuses.end()) {
            const std::string near = nearestName(s, statuses);
            throw IndexQueryError("filter: status: unknown status '" + s + "'" +
                                  (near.empty() ? " (running, finished, stopped, failed or invalid)"
                                                : "; did you mean '" + near + "'?"));
        }
    }
    const std::string lhs = k.column ? std::string(k.column->sql) : std::string("s.value");
    const std::string test = o == "~" ? "instr(CAST(" + lhs + " AS TEXT), ?) > 0" : lhs + " " + o + " ?";
    if (k.column) {
        params_.push_back(v);
        return "(" + test + ")";
    }
    params_.push_back(k.setting);
    params_.push_back(v);
    return "EXISTS (SELECT 1 FROM settings s WHERE s.run = runs.id AND s.key = ? AND " + test + ")";
}

} // namespace

CompiledSql compileFilter(const std::string &filter, const std::vector<std::string> &settingKeys)
{
    return Parser(filter, settingKeys).run();
}

CompiledSql compileSort(const std::string &key, bool descending, const std::vector<std::string> &settingKeys)
{
    if (key.empty())
        return {"runs.dir DESC", {}};
    const Key k = resolveKey(key, settingKeys, "sort: ");
    const std::string dir = descending ? " DESC" : " ASC";
    if (k.column)
        return {std::string(k.column->sql) + " IS NULL, " + k.column->sql + dir + ", runs.dir DESC", {}};
    const std::string v = "(SELECT value FROM settings WHERE run = runs.id AND key = ?)";
    return {v + " IS NULL, " + v + dir + ", runs.dir DESC", {k.setting, k.setting}};
}

} // namespace distillery::detail
