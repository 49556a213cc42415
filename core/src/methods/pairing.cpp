// Which teacher tap a feature method matches with which student tap
// (distillery/methods.h): the defaults, and the checks of a pairing.
#include "distillery/methods.h"

namespace distillery {

namespace {

std::string describe(const Tap &t)
{
    return "'" + t.name + "' (" + shapeToString(t.shape) + ")";
}

// The automatic taps named prefix1, prefix2, ... that both models have, in order.
std::vector<std::string> commonNumbered(const std::vector<Tap> &teacher, const std::vector<Tap> &student,
                                        const std::string &prefix)
{
    std::vector<std::string> names;
    for (int i = 1;; ++i) {
        const std::string name = prefix + std::to_string(i);
        if (!findTap(teacher, name) || !findTap(student, name))
            return names;
        names.push_back(name);
    }
}

std::vector<FeaturePair> defaultPairs(const MethodInfo &method, const std::vector<Tap> &teacher,
                                      const std::vector<Tap> &student)
{
    if (method.defaultTaps == DefaultTaps::Embedding)
        return findTap(teacher, "embedding") && findTap(student, "embedding")
                   ? std::vector<FeaturePair>{{"embedding", "embedding"}}
                   : std::vector<FeaturePair>{};
    auto names = commonNumbered(teacher, student, "stage");
    if (names.empty())
        names = commonNumbered(teacher, student, "pool");
    std::vector<FeaturePair> pairs;
    for (const auto &n : names)
        pairs.push_back({n, n});
    // Models without stages or pools (MLPs) still have their embeddings.
    if (pairs.empty() && method.pairNeeds != PairNeeds::Maps && findTap(teacher, "embedding") &&
        findTap(student, "embedding"))
        return {{"embedding", "embedding"}};
    if (pairs.empty() || method.defaultTaps == DefaultTaps::Stages)
        return pairs;
    return {method.defaultTaps == DefaultTaps::Last ? pairs.back() : pairs[pairs.size() / 2]};
}

std::string tapNames(const std::vector<Tap> &taps)
{
    std::string all;
    for (const auto &t : taps)
        all += (all.empty() ? "" : ", ") + describe(t);
    return all.empty() ? "none" : all;
}

} // namespace

std::string pairProblem(const MethodInfo &method, const Tap &teacher, const Tap &student)
{
    const bool maps = teacher.shape.size() == 3 && student.shape.size() == 3;
    switch (method.pairNeeds) {
    case PairNeeds::Anything:
        return {};
    case PairNeeds::Maps:
        return maps ? std::string() : method.name + " compares image maps (channels×height×width) and these are not both maps";
    case PairNeeds::SameSize:
        if (maps && (teacher.shape[1] != student.shape[1] || teacher.shape[2] != student.shape[2]))
            return method.name + "'s adapter maps channels only: the maps' height and width must be equal";
        if (!maps && (teacher.shape.size() != 1 || student.shape.size() != 1))
            return method.name + " pairs two image maps or two vectors, not one of each";
        return {};
    }
    return {};
}

std::vector<std::pair<Tap, Tap>> resolvePairs(const DistillConfig &config, const std::vector<Tap> &teacher,
                                              const std::vector<Tap> &student)
{
    const MethodInfo *method = findMethod(config.method);
    if (!method || !method->usesFeatures())
        return {};
    const bool given = !config.pairs.empty();
    const auto pairs = given ? config.pairs : defaultPairs(*method, teacher, student);
    if (pairs.empty())
        throw ConfigError("distillation.pairs: " + method->name + " needs features, and the teacher and the student have no " +
                          (method->defaultTaps == DefaultTaps::Embedding ? std::string("embedding")
                                                                         : "stage or pooling") +
                          " taps in common to pair by default; name taps on layers (\"tap\") and list them here "
                          "(teacher's taps: " + tapNames(teacher) + "; student's: " + tapNames(student) + ")");
    std::vector<std::pair<Tap, Tap>> out;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        const std::string field = given ? "distillation.pairs[" + std::to_string(i) + "]" : "distillation.pairs";
        const Tap *t = findTap(teacher, pairs[i].teacher);
        const Tap *s = findTap(student, pairs[i].student);
        if (!t)
            throw ConfigError(field + ".teacher: the teacher has no tap '" + pairs[i].teacher + "' (its taps: " +
                              tapNames(teacher) + ")");
        if (!s)
            throw ConfigError(field + ".student: the student has no tap '" + pairs[i].student + "' (its taps: " +
                              tapNames(student) + ")");
        if (const auto problem = pairProblem(*method, *t, *s); !problem.empty())
            throw ConfigError(field + ": teacher tap " + describe(*t) + " and student tap " + describe(*s) +
                              " cannot be paired: " + problem);
        out.emplace_back(*t, *s);
    }
    return out;
}

} // namespace distillery
