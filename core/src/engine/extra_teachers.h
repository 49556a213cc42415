// Several teachers (internal to core): the further teachers of
// Experiment::teachers, each reused from an earlier run or imported, checked
// before the run folder exists, evaluated after the first teacher's stage,
// and joined with it into one teacher whose logits are all the teachers'
// side by side, for multi-teacher KD (methods/multi_teacher.h). The students'
// teacher cache then holds every teacher's logits.
#pragma once

#include "engine/teacher_sources.h"

#include <string>
#include <vector>

namespace distillery::detail {

struct ExtraTeacher {
    std::string field;          // "teachers[i]"
    Experiment view;            // the experiment with this teacher as its "teacher", as
                                // teacher_sources reads it; its model resolved
    TeacherSource source;
};

// Resolves and checks each further teacher against the data. Throws
// InvalidInput naming teachers[i].
std::vector<ExtraTeacher> planExtraTeachers(const Experiment &exp, const LoadedData &data,
                                            const torch::Device &device);

// Builds, loads and freezes each further teacher, evaluates it on the
// validation and test splits, and records every teacher's outcome (the
// first's from its stage) in the run's result and summary. Returns the
// teacher the students see: `first`'s logits, then each further one's.
TeacherForward joinTeachers(StageEnvironment &env, const TeacherSource &first, const TeacherForward &firstForward,
                            const std::vector<ExtraTeacher> &extras);

} // namespace distillery::detail
