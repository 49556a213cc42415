// Sweeps: many runs from one experiment (docs/SWEEPS.md). A sweep's points
// are planned here (which settings each sets, which point trains the teacher
// and which trains each seed's baseline for the others to take over), its
// folder is written and read here, and the local scheduler runs the points as
// distillery-run processes. Plain C++; no LibTorch.
#pragma once

#include "distillery/experiment.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace distillery {

// More points than this are refused unless asked for (--yes, or a question in the window).
constexpr std::int64_t kLargeSweep = 10000;

struct SweepPoint {
    int index = 0;
    std::uint64_t seed = 0;
    std::vector<std::pair<std::string, std::string>> settings; // the swept keys' values (JSON text)
    int teacherFrom = -1;   // the point whose trained teacher it takes over (-1: its own)
    int baselineFrom = -1;  // the point whose baseline it takes over (-1: its own, or none)
    bool teacherless = false; // an online method (mutual learning): no teacher at all
    // "distillation.temperature=2 distillation.alpha=0.5 seed=1"
    std::string label() const;
    // The point's --set assignments, its seed included.
    std::vector<std::string> overrides() const;
};

struct SweepPlan {
    Experiment base;                    // the experiment, its sweep section cleared
    std::vector<std::string> keys;      // the swept settings, in the order of each point's settings
    std::vector<SweepPoint> points;
    int teachersTrained() const;        // points that train a teacher
    int baselinesTrained() const;       // points that train a baseline
};

// The number of points `s` makes (saturates at kLargeSweep + 1).
std::int64_t sweepPointCount(const SweepSpec &s);

// Expands the experiment's sweep into points, each checked as a whole
// experiment (an unknown setting or a wrong value is a ConfigError naming the
// grid entry). More than kLargeSweep points is a ConfigError unless
// `allowLarge`. What does not depend on a point is shared: the first point of
// each distinct teacher trains it and the others take it over; the first
// point of each distinct baseline (seed, data, student settings) trains it.
SweepPlan planSweep(const Experiment &e, const std::string &origin = {}, bool allowLarge = false);

// Point `index` as the experiment its run is made from: its settings set, its
// membership recorded, the teacher and baseline taken from the runs in
// `runDirs` (indexed by point) where the plan says so.
Experiment pointExperiment(const SweepPlan &plan, int index, const std::string &sweepId,
                           const std::vector<std::string> &runDirs);

// Seconds the sweep takes, from the seconds of one earlier run's stages and
// the number of points that run at once (a rough guide for the window).
double estimateSweepSeconds(const SweepPlan &plan, double teacherSeconds, double baselineSeconds,
                            double studentSeconds, int jobs);

// ---- the sweep folder: <workspace>/sweeps/<time>-<name>/ ----
// sweep.json (the experiment with its sweep, and the plan), points/pNNNN.json
// (each point's experiment, written as it starts) and logs/pNNNN.log (each
// point's standard error). Each point's run folder is
// <workspace>/runs/<sweep folder name>-pNNNN.

struct SweepFolder {
    std::string dir;                    // the sweep folder
    std::string workspace;
    std::string id;                     // its name, which runs record as sweep_point.sweep
    Experiment experiment;              // as given, with its sweep
    SweepPlan plan;
    std::string runDir(int point) const;
    std::vector<std::string> runDirs() const;
    std::string pointFile(int point) const;
    std::string logFile(int point) const;
};

// Creates the folder and writes sweep.json. Throws ConfigError naming the folder.
SweepFolder createSweepFolder(const std::string &workspace, const Experiment &e, const SweepPlan &plan);
// Reads a sweep folder back (to resume it or show it). Throws ConfigError naming the file.
SweepFolder openSweepFolder(const std::string &dir);
// The workspace's sweep folders, newest first.
std::vector<std::string> listSweeps(const std::string &workspace);

// ---- running the points on this machine ----

enum class PointState { Waiting, Running, Finished, Failed, Skipped };
const char *pointStateName(PointState s);

struct SweepProgress {
    int point = 0;
    PointState state = PointState::Waiting;
    std::string message;                // why it failed or was skipped; the run's accuracy when finished
};

struct LocalSweepOptions {
    std::string runner;                 // the distillery-run executable
    int jobs = 0;                       // points at once (0: chosen from the cores)
    int threadsPerJob = 0;              // CPU threads of each (0: the cores split between the jobs)
    std::function<void(const SweepProgress &)> progress; // called on the calling thread
    const std::atomic<bool> *stop = nullptr; // set from a signal handler or another thread
};

struct SweepOutcome {
    int finished = 0, failed = 0, skipped = 0;
    bool stopped = false;
};

// The points at once and each one's threads for `cores` cores (jobs, threads; 0: chosen).
std::pair<int, int> sweepParallelism(int cores, int jobs, int threadsPerJob);

// Runs every point that has not finished: K at a time, each as a
// distillery-run process, once the points whose teacher or baseline it takes
// have finished. A point whose run folder exists but did not finish is
// resumed from its checkpoints; a finished one is kept. A stop request
// interrupts the running points (SIGINT: they stop at a checkpoint).
SweepOutcome runSweepLocally(const SweepFolder &sweep, const LocalSweepOptions &options);

// ---- running the points as Slurm jobs (docs/SWEEPS.md, "Slurm") ----
// The points are grouped by what they wait for: the points that wait for no
// other (the teachers) are job 1, the points that wait only for those (each
// seed's baseline) job 2, the rest job 3; each job is an array of points,
// submitted with sbatch --parsable and --dependency=afterok on the jobs it
// waits for. Points already finished are left out. The scripts, the map from
// array task to point and jobs.json are written in <sweep folder>/slurm/.

struct SlurmOptions {
    std::string runner;                 // the distillery-run executable, by its absolute path
    std::string partition;              // --partition ("": the cluster's default)
    std::string timeLimit;              // --time, e.g. "2:00:00" ("": the partition's)
    int cpusPerTask = 0;                // --cpus-per-task (0: not given)
    int gpusPerTask = 0;                // --gpus-per-task (0: not given)
    // Extra lines of each script: "--mem=4G" or "#SBATCH ..." go among the
    // #SBATCH lines; anything else ("module load cuda") runs before the point.
    std::vector<std::string> extraLines;
    std::string sbatch = "sbatch", scancel = "scancel", squeue = "squeue";
};

// sbatch missing, the controller unreachable, a rejected submission: one
// message that also says what was cancelled (or could not be).
class SlurmError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct SlurmJob {
    std::string name;                   // "teacher", "baselines", "points" (then "points-4"...)
    std::string id;                     // Slurm's job id
    std::vector<int> points;            // array task i runs points[i]
    std::vector<std::string> after;     // the ids of the jobs it waits for
    std::string script;                 // its batch script
};

// The groups and their scripts, written into the sweep folder; nothing submitted.
std::vector<SlurmJob> planSlurmJobs(const SweepFolder &sweep, const SlurmOptions &options);
// The batch script of `job` (its #SBATCH lines and the distillery-run command).
std::string slurmScript(const SweepFolder &sweep, const SlurmJob &job, const SlurmOptions &options);
// Submits the jobs in order and writes slurm/jobs.json; returns them with their ids.
// On a failure the jobs submitted before it are cancelled (scancel) and SlurmError says so.
// A sweep whose jobs of an earlier submission are still queued is refused (SlurmError).
std::vector<SlurmJob> submitSweepToSlurm(const SweepFolder &sweep, const SlurmOptions &options);
// Which of `ids` are still in Slurm's queue (pending or running). Throws SlurmError.
std::vector<std::string> slurmJobsQueued(const std::vector<std::string> &ids, const SlurmOptions &options);

} // namespace distillery
