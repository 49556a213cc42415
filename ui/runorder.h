// The Runs panel's order (ui/runspanel.cpp): a sweep's points together in
// point order, and each fork right under the run it was forked from.
#pragma once

#include "distillery/runs.h"

#include <vector>

namespace runorder {

// A sweep's points together, in point order, where its first listed point
// was; the other runs in the order given.
void groupSweeps(std::vector<distillery::RunInfo> &runs);

// Each fork right after its origin (its own forks after it), the rest in the
// order given; each run's depth (0: not listed under an origin).
std::vector<int> nestForks(std::vector<distillery::RunInfo> &runs);

} // namespace runorder
