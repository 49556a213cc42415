// distillery-run --sweep / --resume-sweep: a sweep's points run on this
// machine, or submitted to Slurm; --sweep-point: one point of a sweep folder.
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
    std::string backend = "local";      // --backend local|slurm
    std::string partition, timeLimit;   // --partition, --time
    int cpusPerTask = 0, gpusPerTask = 0;
    std::vector<std::string> sbatchLines; // --sbatch-line
    bool wait = false;                  // --wait: with slurm, until the jobs leave the queue
};

// The exit status: 0 all points finished (or, with slurm, submitted), 1 some
// failed, 2 bad input, 3 the submission failed, 130 stopped.
int runSweepCommand(const SweepCommand &c);

// --sweep-point SWEEP_DIR --point N|array [--point-map FILE]: what main() runs.
struct SweepPointRun {
    std::string experimentFile;         // the point's experiment, written (a new run)
    std::string runDir;                 // its run folder (a new run)
    std::string resumeDir;              // or the unfinished run folder to resume
    std::string workspace;
};

// Prepares point `point` ("array": SLURM_ARRAY_TASK_ID, through the lines of
// `pointMap` if given). Returns -1 to run `out`, else the exit status (0: the
// point had already finished; 1: a point it needs has not; 2: bad arguments).
int prepareSweepPoint(const std::string &sweepDir, const std::string &point, const std::string &pointMap,
                      SweepPointRun &out);
