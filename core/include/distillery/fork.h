// Forks: a new run that continues an earlier run's distilled student from the
// end of one of its epochs with changed settings (T, α, a method's weights,
// the learning rate, the number of epochs). docs/SWEEPS.md, "Forks".
#pragma once

#include <string>
#include <vector>

namespace distillery {

struct ForkRequest {
    std::string origin;                 // the run folder forked from
    int epoch = 0;                      // the distillation stage's epoch it continues after
    std::vector<std::string> overrides; // --set assignments: distillation.* and student.train.* only
    std::string workspace;              // where the new run goes (<workspace>/runs/<time>-<name>-fork)
};

// The epochs of `runDir`'s distillation stage a fork may start from (their
// state checkpoints are there), in order; empty when none.
std::vector<int> forkableEpochs(const std::string &runDir);

// Checks everything (the origin's teacher and baseline finished, the epoch's
// state checkpoint readable, the settings allowed and valid) and then makes
// the new run's folder: its config.json (the origin's, changed, with
// "forked_from"), the teacher's and baseline's models, metrics and analysis,
// and the student's state at that epoch, as a stopped run that resuming
// (EngineOptions::resumeRunDir, distillery-run --resume) continues. Returns
// the folder. Throws ConfigError naming the file or the field; nothing is
// written then.
std::string prepareFork(const ForkRequest &request);

} // namespace distillery
