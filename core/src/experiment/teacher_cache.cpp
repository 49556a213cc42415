// When the teacher's logits may be computed once for a whole split: the rule
// the stage runner follows and the window explains.
#include "distillery/experiment.h"
#include "distillery/methods.h"

namespace distillery {

bool augmentsInputs(const TrainConfig &t)
{
    return t.jitter > 0 || t.crop > 0 || t.flip || t.erase > 0 || t.mixup > 0 || t.cutmix > 0;
}

TeacherCacheChoice teacherCacheChoice(const Experiment &e)
{
    const auto &k = e.distillation;
    if (trainsWithoutTeacher(k))
        return {"off", "None: " + k.method + " has no teacher; the students' outputs are computed at every step."};
    const MethodInfo *m = findMethod(k.method);
    if (m && m->usesFeatures() && k.teacherCache && k.featureCacheMb > 0 && !augmentsInputs(e.studentTrain))
        return {"exact", "Exact, if the teacher's features fit in " + std::to_string(int(k.featureCacheMb)) +
                             " MiB (distillation.feature_cache_mb): its logits and features are computed once; "
                             "else it runs on every batch."};
    if (m && m->usesFeatures())
        return {"off", "Off: " + k.method + "'s features are not cached " +
                           (augmentsInputs(e.studentTrain) ? std::string("for augmented inputs")
                                                           : std::string("(teacher_cache or feature_cache_mb)")) +
                           "; the teacher runs on every batch."};
    if (!k.teacherCache)
        return {"off", "Off (distillation.teacher_cache): the teacher runs on every batch."};
    if (!augmentsInputs(e.studentTrain))
        return {"exact", "Exact: the students see the inputs unchanged, so the teacher's outputs are computed once."};
    if (k.approximateCache)
        return {"approximate", "Approximate: the students' inputs are augmented, but the teacher's outputs are "
                               "computed once for the unaugmented inputs (teacher_cache \"approximate\")."};
    return {"off", "Off: the students' inputs are augmented, so outputs computed once would be for other inputs; "
                   "the teacher runs on every batch as the students see it (teacher_cache \"approximate\" keeps "
                   "the cache, approximately)."};
}

} // namespace distillery
