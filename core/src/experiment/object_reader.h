// Reading one JSON object of an experiment file, its keys checked (internal
// to core): every reader of the format walks its objects with this.
#pragma once

#include "distillery/experiment.h"
#include "experiment/field_error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace distillery::detail {

using json = nlohmann::json;

// Walks one JSON object, reading the keys it knows and rejecting the others.
class ObjectReader {
public:
    ObjectReader(const nlohmann::json &j, std::string path, const std::string &origin)
        : j_(j), path_(std::move(path)), origin_(origin)
    {
        if (!j_.is_object())
            error(path_.empty() ? std::string("the experiment") : path_, "must be a JSON object");
    }

    [[noreturn]] void error(const std::string &field, const std::string &msg) const
    {
        detail::throwFieldError(origin_, field, msg);
    }
    std::string field(const std::string &key) const { return path_.empty() ? key : path_ + "." + key; }

    const json *find(const std::string &key)
    {
        known_.push_back(key);
        auto it = j_.find(key);
        return it == j_.end() || it->is_null() ? nullptr : &*it;
    }

    template <typename T> void read(const std::string &key, T &out)
    {
        const json *v = find(key);
        if (!v)
            return;
        try {
            if constexpr (std::is_same_v<T, bool>) {
                if (!v->is_boolean())
                    error(field(key), "must be true or false (got " + v->dump() + ")");
            } else if constexpr (std::is_integral_v<T>) {
                if (!v->is_number_integer() && !(v->is_number_float() && std::floor(v->get<double>()) == v->get<double>()))
                    error(field(key), "must be a whole number (got " + v->dump() + ")");
                if (v->is_number_unsigned() ? v->get<std::uint64_t>() > std::uint64_t(std::numeric_limits<T>::max())
                                            : (v->get<double>() < double(std::numeric_limits<T>::lowest()) ||
                                               v->get<double>() > double(std::numeric_limits<T>::max())))
                    error(field(key), "is out of range (got " + v->dump() + ")");
                out = v->is_number_float() ? T(v->get<double>()) : v->get<T>();
                return;
            } else if constexpr (std::is_floating_point_v<T>) {
                if (!v->is_number())
                    error(field(key), "must be a number (got " + v->dump() + ")");
            } else if constexpr (std::is_same_v<T, std::string>) {
                if (!v->is_string())
                    error(field(key), "must be a string (got " + v->dump() + ")");
            }
            out = v->get<T>();
        } catch (const nlohmann::json::exception &e) {
            error(field(key), e.what());
        }
    }

    // Call last: any key not read is unknown.
    void finish() const
    {
        for (auto it = j_.begin(); it != j_.end(); ++it) {
            if (std::find(known_.begin(), known_.end(), it.key()) != known_.end())
                continue;
            const auto near = nearestName(it.key(), known_);
            error(field(it.key()), "unknown key" + (near.empty() ? std::string(" (known: ") + join(known_) + ")"
                                                                 : "; did you mean '" + near + "'?"));
        }
    }

private:
    static std::string join(const std::vector<std::string> &v)
    {
        std::string s;
        for (const auto &x : v)
            s += (s.empty() ? "" : ", ") + x;
        return s;
    }
    const nlohmann::json &j_;
    std::string path_;
    const std::string &origin_;
    std::vector<std::string> known_;
};


} // namespace distillery::detail
