#include "experiment/distillation_reader.h"

#include "distillery/methods.h"
#include "experiment/object_reader.h"

namespace distillery::detail {

using nlohmann::json;

namespace {

void readPairs(const json &j, const std::string &origin, std::vector<FeaturePair> &pairs)
{
    if (!j.is_array())
        detail::throwFieldError(origin, "distillation.pairs",
                                "must be a list of {\"teacher\": TAP, \"student\": TAP} pairs");
    pairs.clear();
    for (std::size_t i = 0; i < j.size(); ++i) {
        const std::string path = "distillation.pairs[" + std::to_string(i) + "]";
        ObjectReader pr(j[i], path, origin);
        FeaturePair pair;
        pr.read("teacher", pair.teacher);
        pr.read("student", pair.student);
        pr.finish();
        if (pair.teacher.empty() || pair.student.empty())
            pr.error(path, "needs both a teacher and a student tap name");
        pairs.push_back(pair);
    }
}

// Each schedule's "from" defaults to the setting's fixed value.
void readSchedules(const json &j, const std::string &origin, DistillConfig &d)
{
    if (!j.is_object())
        detail::throwFieldError(origin, "distillation.schedules",
                                "must be an object of schedules by setting, e.g. {\"temperature\": {\"shape\": "
                                "\"linear\", \"to\": 2}}");
    d.schedules.clear();
    for (auto it = j.begin(); it != j.end(); ++it) {
        ObjectReader sr(*it, "distillation.schedules." + it.key(), origin);
        ValueSchedule s;
        s.from = std::numeric_limits<double>::quiet_NaN();
        sr.read("shape", s.shape);
        sr.read("from", s.from);
        sr.read("to", s.to);
        sr.read("start", s.start);
        sr.read("end", s.end);
        sr.finish();
        d.schedules[it.key()] = s;
    }
}

void defaultScheduleStarts(DistillConfig &d)
{
    for (auto &[key, s] : d.schedules)
        if (std::isnan(s.from)) {
            try {
                s.from = distillSetting(d, key);
            } catch (const ConfigError &) {
                s.from = 0.0; // an unknown key: validation names it
            }
        }
}

} // namespace

void readDistillation(const json &k, const std::string &origin, DistillConfig &d)
{
    ObjectReader kr(k, "distillation", origin);
    kr.read("method", d.method);
    kr.read("temperature", d.temperature);
    kr.read("alpha", d.alpha);
    if (const json *params = kr.find("params")) {
        if (!params->is_object())
            kr.error(kr.field("params"), "must be an object of the method's parameters, e.g. {\"beta\": 8}");
        for (auto it = params->begin(); it != params->end(); ++it) {
            const std::string field = "distillation.params." + it.key();
            if (it->is_boolean())
                d.params[it.key()] = it->get<bool>() ? 1.0 : 0.0;
            else if (it->is_number())
                d.params[it.key()] = it->get<double>();
            else
                kr.error(field, "must be a number or true/false (got " + it->dump() + ")");
        }
    }
    if (const json *pairs = kr.find("pairs"))
        readPairs(*pairs, origin, d.pairs);
    if (const json *schedules = kr.find("schedules"))
        readSchedules(*schedules, origin, d);
    if (const json *cache = kr.find("teacher_cache"); cache && cache->is_string()) {
        if (*cache != "approximate")
            kr.error(kr.field("teacher_cache"), "must be true, false or \"approximate\" (got " + cache->dump() + ")");
        d.teacherCache = d.approximateCache = true;
    } else {
        kr.read("teacher_cache", d.teacherCache);
    }
    kr.read("feature_cache_mb", d.featureCacheMb);
    kr.read("generations", d.generations);
    kr.read("generation", d.generation);
    kr.finish();
    defaultScheduleStarts(d);
}

} // namespace distillery::detail
