// distillery-run: runs an experiment file headless and prints progress and a
// results table (or, with --json, one JSON object per event).
#include "console_format.h"
#include "sweep_command.h"
#include "distillery/distributed.h"
#include "distillery/engine.h"
#include "distillery/methods.h"
#include "distillery/experiment.h"
#include "distillery/fork.h"
#include "distillery/modelfiles.h"
#include "distillery/runindex.h"
#include "distillery/runs.h"

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace {

using namespace distillery;

std::atomic<bool> interrupted{false};
extern "C" void onSignal(int)
{
    interrupted = true;
}

using console::human;
using console::percent;

std::string duration(double s)
{
    char buf[32];
    const int t = int(s + 0.5);
    if (t >= 3600)
        std::snprintf(buf, sizeof buf, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else
        std::snprintf(buf, sizeof buf, "%d:%02d", t / 60, t % 60);
    return buf;
}

// Human-readable progress: a redrawn bar on a terminal, a line per epoch elsewhere.
class ConsoleObserver : public RunObserver {
public:
    explicit ConsoleObserver(bool tty) : tty_(tty) {}

    // Decoding an image folder: a redrawn count on a terminal, else a line at
    // each tenth and at the end.
    void dataProgress(std::int64_t done, std::int64_t total) override
    {
        const int tenth = total > 0 ? int(10 * done / total) : 10;
        if (tty_) {
            std::cerr << "\rdecoding images: " << done << " of " << total << (done == total ? "\n" : "") << std::flush;
        } else if (tenth != lastTenth_ || done == total) {
            std::cerr << "decoding images: " << done << " of " << total << "\n";
        }
        lastTenth_ = done == total ? -1 : tenth;
    }
    void runStarted(const RunStartInfo &e) override
    {
        std::cerr << "run folder: " << e.runDir << "\n"
                  << "data: " << e.dataDescription << ", " << e.trainSamples << " train / " << e.validationSamples
                  << " validation / " << e.testSamples << " test, input " << shapeToString(e.inputShape) << ", "
                  << e.classes << " classes\n";
        if (e.studentTrainSamples != e.trainSamples)
            std::cerr << "students learn from " << e.studentTrainSamples << " of the training samples\n";
        std::cerr << "device: " << e.device << ", " << e.threads << " threads\n";
    }
    void stageStarted(const StageInfo &s) override
    {
        stage_ = s;
        stageStart_ = std::chrono::steady_clock::now();
        if (s.reused)
            std::cerr << "[" << s.index + 1 << "/" << s.stageCount << "] " << stageName(s.kind)
                      << ": taken over from an earlier run\n";
        else
            std::cerr << "[" << s.index + 1 << "/" << s.stageCount << "] " << stageName(s.kind) << " (" << s.model
                      << "): " << s.epochs << " epochs of " << s.stepsPerEpoch << " steps"
                      << (s.blasThreads > 0 ? ", threads: " + std::to_string(s.torchThreads) + " LibTorch, " +
                                                 std::to_string(s.blasThreads) + " OpenBLAS"
                                           : std::string())
                      << (s.teacherCache.empty() ? std::string() : ", teacher outputs: " + cacheWords(s.teacherCache))
                      << "\n";
    }
    void stepReported(const StepMetrics &m) override
    {
        if (!tty_)
            return;
        const double frac = m.totalSteps ? double(m.step) / double(m.totalSteps) : 0.0;
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - stageStart_).count();
        const double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0.0;
        const int width = 30, filled = int(frac * width);
        std::ostringstream line;
        line << "\r  " << stageName(m.stage) << " [" << std::string(std::size_t(filled), '#')
             << std::string(std::size_t(width - filled), '.') << "] " << int(frac * 100) << "% epoch " << m.epoch << "/"
             << stage_.epochs << " loss " << std::fixed;
        line.precision(4);
        line << m.loss;
        line.precision(0);
        line << "  " << m.samplesPerSecond << " samples/s  ETA " << duration(eta) << "   ";
        std::cerr << line.str() << std::flush;
    }
    void epochFinished(const EpochMetrics &e) override
    {
        char buf[256];
        std::snprintf(buf, sizeof buf, "  %s epoch %d/%d: loss %.4f, train %s, val %s, test %s, %.0f samples/s, %.1f s%s",
                      stageName(e.stage).c_str(), e.epoch, e.epochs, e.trainLoss, percent(e.trainAccuracy).c_str(),
                      percent(e.valAccuracy).c_str(), percent(e.testAccuracy).c_str(), e.samplesPerSecond, e.seconds,
                      e.best ? " *" : "");
        std::cerr << (tty_ ? "\r\033[K" : "") << buf << "\n";
    }
    void pausedChanged(bool paused) override { std::cerr << (paused ? "\npaused\n" : "resumed\n"); }
    void settingChanged(const SettingChange &c) override
    {
        std::cout << "  " << c.key << " set to " << c.value << " after step " << c.step << " of the "
                  << stageName(c.stage) << " stage" << std::endl;
    }
    void errorOccurred(const std::string &message) override
    {
        std::cerr << (tty_ ? "\n" : "") << "error: " << message << "\n";
    }

private:
    static std::string cacheWords(const std::string &mode)
    {
        return mode == "exact"         ? "cached"
               : mode == "approximate" ? "cached for unaugmented inputs (approximate)"
                                       : "computed per batch";
    }

    bool tty_;
    int lastTenth_ = -1;
    StageInfo stage_;
    std::chrono::steady_clock::time_point stageStart_;
};

class JsonObserver : public RunObserver {
public:
    void runStarted(const RunStartInfo &e) override { print(eventJson(e)); }
    void dataProgress(std::int64_t done, std::int64_t total) override
    {
        print(dataProgressEventJson(done, total));
    }
    void stageStarted(const StageInfo &e) override { print(eventJson(e)); }
    void stepReported(const StepMetrics &e) override { print(eventJson(e)); }
    void epochFinished(const EpochMetrics &e) override { print(eventJson(e)); }
    void stageFinished(const StageResult &e) override { print(eventJson(e)); }
    void pausedChanged(bool p) override { print(pausedEventJson(p)); }
    void settingChanged(const SettingChange &c) override { print(eventJson(c)); }
    void errorOccurred(const std::string &m) override { print(errorEventJson(m)); }
    void runFinished(const RunResult &e) override { print(eventJson(e)); }

private:
    static void print(const std::string &line) { std::cout << line << std::endl; }
};

// A rank other than 0 of a run over several processes: rank 0 reports; this
// one says only why it failed (rank 0 quotes its last line).
class RankObserver : public RunObserver {
public:
    explicit RankObserver(int rank) : rank_(rank) {}
    void errorOccurred(const std::string &m) override { std::cerr << "rank " << rank_ << ": error: " << m << std::endl; }

private:
    int rank_;
};

// The distilled student on the classes its transfer set omitted, before and after their biases were raised.
void printBiasCorrection(const BiasCorrection &b)
{
    std::string classes;
    for (int c : b.classes)
        classes += (classes.empty() ? "" : ", ") + std::to_string(c);
    std::printf("\nomitted class%s %s: student %s before, %s after raising %s biases by %.2f (%s)\n",
                b.classes.size() > 1 ? "es" : "", classes.c_str(), percent(b.omittedAccuracyBefore).c_str(),
                percent(b.omittedAccuracyAfter).c_str(), b.classes.size() > 1 ? "their" : "its", b.shift,
                b.chosen ? "chosen on the validation split" : "set in the experiment");
    std::printf("all classes: student %s before, %s after\n", percent(b.testAccuracyBefore).c_str(),
                percent(b.testAccuracyAfter).c_str());
}

void printTable(const RunResult &r)
{
    std::printf("\n%-10s %10s %12s %12s %12s\n", "model", "test acc", "parameters", "mult-adds", "compression");
    const StageResult *baseline = r.stage(StageKind::Baseline);
    const StageResult *student = r.stage(StageKind::Distillation);
    for (const auto &s : r.stages) {
        const bool isTeacher = s.kind == StageKind::Teacher;
        char ratio[32] = "1.0x";
        if (r.teacherParameters == 0) // mutual learning: no teacher
            std::snprintf(ratio, sizeof ratio, "-");
        else if (!isTeacher && r.studentParameters > 0)
            std::snprintf(ratio, sizeof ratio, "%.1fx", double(r.teacherParameters) / double(r.studentParameters));
        std::printf("%-10s %10s %12s %12s %12s%s\n", stageName(s.kind).c_str(),
                    s.epochsDone > 0 || isTeacher ? percent(s.testAccuracy).c_str() : "-",
                    human(double(s.parameters)).c_str(), human(double(s.multiplyAdds)).c_str(), ratio,
                    s.status == RunStatus::Finished ? "" : (" (" + statusName(s.status) + ")").c_str());
    }
    if (!r.teachers.empty()) {
        std::printf("\n%-10s %-24s %8s %10s %12s\n", "teachers", "model", "weight", "test acc", "parameters");
        for (std::size_t i = 0; i < r.teachers.size(); ++i) {
            const TeacherOutcome &t = r.teachers[i];
            const std::string field = i == 0 ? "teacher" : "teachers[" + std::to_string(i - 1) + "]";
            std::printf("%-10s %-24s %8.3f %10s %12s\n", field.c_str(), t.model.c_str(), t.weight,
                        percent(t.testAccuracy).c_str(), human(double(t.parameters)).c_str());
        }
    }
    if (student && !student->peerTestAccuracy.empty()) {
        std::string peers;
        for (double a : student->peerTestAccuracy)
            peers += (peers.empty() ? "" : ", ") + percent(a);
        std::printf("\nthe cohort's other students (last epoch): %s; the student's last epoch: %s\n", peers.c_str(),
                    percent(student->finalTestAccuracy).c_str());
    }
    if (baseline && student && baseline->epochsDone > 0 && student->epochsDone > 0)
        std::printf("\ndistilled student vs baseline: %+.2f points on the test set\n",
                    100.0 * (student->testAccuracy - baseline->testAccuracy));
    if (student && !student->biasCorrection.classes.empty())
        printBiasCorrection(student->biasCorrection);
    std::printf("run folder: %s (%s, %s)\n", r.runDir.c_str(), statusName(r.status).c_str(), duration(r.seconds).c_str());
}

// Accuracy as a percentage with two decimals, "-" when absent (NaN).
std::string indexPercent(double v)
{
    return v == v ? percent(v) : "-";
}

// --reindex and --list-runs: the workspace's run index (docs/RUNS.md).
int indexCommand(const std::string &reindexWorkspace, const std::string &listWorkspace, const std::string &filter,
                 const std::string &sort, bool descending)
{
    const bool rebuild = !reindexWorkspace.empty();
    const std::string &workspace = rebuild ? reindexWorkspace : listWorkspace;
    if (!std::filesystem::is_directory(workspace)) {
        std::cerr << "error: workspace: " << workspace << ": no such folder\n";
        return 2;
    }
    try {
        RunIndex index(workspace, !rebuild);
        for (const auto &note : index.notes())
            std::cerr << "note: " << note << "\n";
        if (rebuild) {
            const int n = index.reindex();
            std::printf("%d run%s indexed in %s\n", n, n == 1 ? "" : "s", index.path().c_str());
            return 0;
        }
        const auto runs = index.query(filter, sort, descending);
        std::printf("%-44s %-9s %-8s %10s %10s %8s %9s\n", "run", "status", "method", "student", "baseline", "gain",
                    "time");
        for (const auto &r : runs) {
            char gain[16] = "-";
            if (r.gain == r.gain)
                std::snprintf(gain, sizeof gain, "%+.2f", 100.0 * r.gain);
            std::printf("%-44s %-9s %-8s %10s %10s %8s %9s\n", r.dir.substr(r.dir.find('/') + 1).c_str(),
                        r.status.c_str(), r.method.c_str(), indexPercent(r.studentAccuracy).c_str(),
                        indexPercent(r.baselineAccuracy).c_str(), gain, duration(r.seconds).c_str());
        }
        std::printf("%zu run%s\n", runs.size(), runs.size() == 1 ? "" : "s");
        return 0;
    } catch (const IndexQueryError &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}

} // namespace

int main(int argc, char **argv)
{
    CLI::App app{"Runs a Distillery experiment (teacher, baseline student, distilled student) without a display."};
    const std::string checker = modelFileChecker();
    app.set_version_flag("--version", std::string("distillery-run ") + DISTILLERY_VERSION + " (LibTorch " +
                                          libtorchVersion() + ")\nmodel files read first by: " +
                                          (checker.empty() ? "a forked copy of this process (no distillery-check found)"
                                                           : checker));
    std::string experimentPath;
    std::string workspace = "workspace";
    std::vector<std::string> overrides;
    bool json = false;
    std::string resumeDir;
    auto *what = app.add_option_group("run", "What to run: an experiment file, or --resume RUN_DIR");
    what->add_option("experiment", experimentPath, "Experiment file (JSON), e.g. " DISTILLERY_RESOURCES_DIR
                                                   "/experiments/fashion-mnist-few-labels.json");
    what->add_option("--resume", resumeDir, "Continue a stopped, failed or killed run from its last checkpoint (its folder)");
    std::string reindexWorkspace, listWorkspace, filter, sort;
    bool descending = false;
    what->add_option("--reindex", reindexWorkspace, "Rebuild WORKSPACE's run index (runs.sqlite) from its run folders");
    what->add_option("--list-runs", listWorkspace, "List WORKSPACE's runs from its run index (refreshed first)");
    SweepCommand sweep;
    std::string runDir;
    what->add_option("--sweep", sweep.experiment, "Run the sweep of an experiment file: its points as distillery-run "
                                                  "processes (docs/SWEEPS.md)");
    what->add_option("--resume-sweep", sweep.resumeDir, "Continue a sweep (its folder): finished points are kept");
    std::string forkRun;
    int forkEpoch = 0;
    what->add_option("--fork", forkRun, "Continue a run's distilled student from --epoch N as a new run, with "
                                        "--set changes to distillation.* and student.train.*");
    std::string sweepPointDir, point, pointMap;
    what->add_option("--sweep-point", sweepPointDir, "Run one point of a sweep folder (--point N), as a Slurm job does");
    what->require_option(1);
    app.add_option("--epoch", forkEpoch, "With --fork: the epoch of the distilled student to continue after");
    app.add_option("--point", point, "With --sweep-point: the point's number, or \"array\" for SLURM_ARRAY_TASK_ID");
    app.add_option("--point-map", pointMap, "With --point array: a file whose line i+1 is array task i's point");
    app.add_option("--backend", sweep.backend, "With --sweep: where the points run")
        ->check(CLI::IsMember({"local", "slurm"}))
        ->capture_default_str();
    app.add_option("--partition", sweep.partition, "With --backend slurm: the Slurm partition");
    app.add_option("--time", sweep.timeLimit, "With --backend slurm: each point's time limit (sbatch --time)");
    app.add_option("--cpus-per-task", sweep.cpusPerTask, "With --backend slurm: CPUs of each point");
    app.add_option("--gpus-per-task", sweep.gpusPerTask, "With --backend slurm: GPUs of each point");
    app.add_option("--sbatch-line", sweep.sbatchLines,
                   "With --backend slurm: an extra line of each batch script, \"--mem=4G\" or a command (repeatable)");
    app.add_flag("--wait", sweep.wait, "With --backend slurm: wait until the jobs have left the queue, then print the table");
    app.add_option("--jobs", sweep.jobs, "With --sweep: points at once (default: chosen from the cores)");
    app.add_option("--threads-per-job", sweep.threadsPerJob, "With --sweep: CPU threads of each point");
    app.add_flag("--yes", sweep.yes, "With --sweep: run more than 10,000 points");
    int processes = 0;
    app.add_option("--nproc", processes, "Train over N processes on this machine, data-parallel "
                                         "(distributed.processes; docs/DISTRIBUTED.md)")
        ->check(CLI::Range(1, 1024));
    app.add_option("--run-dir", runDir, "The new run's folder, exactly (how a sweep starts its points)");
    app.add_option("--filter", filter, "With --list-runs: e.g. \"alpha >= 0.5 and status = finished\" (docs/RUNS.md)");
    app.add_option("--sort", sort, "With --list-runs: a column (accuracy, gain, started...) or a setting");
    app.add_flag("--descending", descending, "With --list-runs: sort from the largest");
    app.add_option("-w,--workspace", workspace, "Folder that holds the runs/ folder")->capture_default_str();
    app.add_option("-s,--set", overrides, "Override a setting, e.g. --set distillation.temperature=8 (repeatable)");
    app.add_flag("--json", json, "Print one JSON object per event on standard output, for scripts");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }

    if (!reindexWorkspace.empty() || !listWorkspace.empty())
        return indexCommand(reindexWorkspace, listWorkspace, filter, sort, descending);
    if (!sweep.experiment.empty() || !sweep.resumeDir.empty()) {
        sweep.workspace = workspace;
        sweep.overrides = overrides;
        sweep.runner = std::filesystem::read_symlink("/proc/self/exe").string();
        return runSweepCommand(sweep);
    }
    if (!forkRun.empty()) {
        try {
            resumeDir = prepareFork({forkRun, forkEpoch, overrides, workspace});
            overrides.clear(); // they are in the fork's config.json
        } catch (const ConfigError &e) {
            std::cerr << "error: " << e.what() << "\n";
            return 2;
        }
        std::cerr << "fork of " << forkRun << " after epoch " << forkEpoch << ": " << resumeDir << "\n";
    }
    if (!sweepPointDir.empty()) {
        if (!overrides.empty()) {
            std::cerr << "error: --set cannot change a sweep's point (its settings are the sweep's)\n";
            return 2;
        }
        SweepPointRun run;
        if (const int rc = prepareSweepPoint(sweepPointDir, point.empty() ? "array" : point, pointMap, run); rc >= 0)
            return rc;
        experimentPath = run.experimentFile;
        resumeDir = run.resumeDir;
        runDir = run.runDir;
        workspace = run.workspace;
    }
    ProcessGroupSpec group;
    try {
        group = processGroupFromEnvironment();
    } catch (const ConfigError &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    }
    if (processes > 0) {
        if (!resumeDir.empty()) {
            std::cerr << "error: --nproc cannot change a resumed run (it resumes over as many processes as it trained)\n";
            return 2;
        }
        overrides.push_back("distributed.processes=" + std::to_string(processes));
    }
    Experiment experiment;
    if (!resumeDir.empty() && !overrides.empty()) {
        std::cerr << "error: --set cannot change a resumed run (it continues with its own config.json)\n";
        return 2;
    }
    try {
        if (resumeDir.empty())
            experiment = loadExperiment(experimentPath, overrides);
    } catch (const ConfigError &e) {
        if (json)
            std::cout << errorEventJson(e.what()) << std::endl;
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    }

    const bool follower = group.active() && group.rank != 0;
    if (!json && !follower)
        for (const auto &note : experimentNotes(experiment))
            std::cerr << "note: " << note << "\n";
    Engine engine(experiment, EngineOptions{workspace, resumeDir, runDir, group,
                                            std::filesystem::read_symlink("/proc/self/exe").string()});
    // Ctrl-C or SIGTERM: stop at the next step and leave a consistent run folder.
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    std::atomic<bool> done{false};
    std::thread watcher([&] {
        while (!done) {
            if (interrupted.exchange(false))
                engine.requestStop();
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    });

    JsonObserver jsonObserver;
    ConsoleObserver console(isatty(STDERR_FILENO));
    RankObserver rankObserver(group.rank);
    RunObserver &observer = follower ? static_cast<RunObserver &>(rankObserver)
                            : json   ? static_cast<RunObserver &>(jsonObserver)
                                     : static_cast<RunObserver &>(console);
    const RunResult result = engine.run(observer);
    done = true;
    watcher.join();

    if (!json && !follower && !result.runDir.empty())
        printTable(result);
    switch (result.status) {
    case RunStatus::Finished: return 0;
    case RunStatus::Stopped: return 130;
    case RunStatus::Invalid: return 2;
    default: return 1;
    }
}
