// distillery-run --sweep / --resume-sweep: a sweep's points run on this machine.
#pragma once

#include <string>
#include <vector>

struct SweepCommand {
    std::string experiment;             // --sweep EXPERIMENT
    std::string resumeDir;              // --resume-sweep SWEEP_DIR
    std::string workspace;
    std::vector<std::string> overrides;
    int jobs = 0;
    int threadsPerJob = 0;
    bool yes = false;                   // allow more than kLargeSweep points
    std::string runner;                 // this executable
};

// The exit status: 0 all points finished, 1 some failed, 2 bad input, 130 stopped.
int runSweepCommand(const SweepCommand &c);
