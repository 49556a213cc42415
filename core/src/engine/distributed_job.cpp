#include "engine/distributed_job.h"

#include "support/errors.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <unistd.h>

namespace distillery::detail {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Where rank `rank`, process `pid`, writes (ranks other than 0; rank 0's holds the others' logs).
fs::path scratchFolder(int rank, pid_t pid = getpid())
{
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec)
        base = "/tmp";
    return base / ("distillery-rank" + std::to_string(rank) + "-" + std::to_string(pid));
}

fs::path workspaceOf(const EngineOptions &o)
{
    if (o.resumeRunDir.empty())
        return o.workspace;
    fs::path run = fs::absolute(o.resumeRunDir);
    if (run.filename().empty())
        run = run.parent_path();
    return run.parent_path().parent_path();
}

// The processes a resumed run trained over (summary.json), 1 for a run of one.
int previousProcesses(const fs::path &run)
{
    std::ifstream in(run / "summary.json");
    if (!in)
        return 1;
    try {
        return json::parse(in).value("processes", 1);
    } catch (const json::exception &) {
        return 1; // the resume's own checks name a damaged file
    }
}

// "/distillation/temperature" → "distillation.temperature"
std::string dotted(std::string pointer)
{
    if (!pointer.empty() && pointer[0] == '/')
        pointer.erase(0, 1);
    for (char &c : pointer)
        if (c == '/')
            c = '.';
    return pointer;
}

} // namespace

std::unique_ptr<DistributedJob> DistributedJob::start(const Experiment &exp, EngineOptions &options,
                                                      const torch::Device &device)
{
    ProcessGroupSpec spec = options.group;
    const bool launch = !spec.active() && exp.distributed.processes > 1;
    const bool resuming = !options.resumeRunDir.empty();
    if (!spec.active() && !launch) {
        if (resuming && previousProcesses(options.resumeRunDir) > 1)
            throw InvalidInput("resume: " + options.resumeRunDir + " trained over " +
                               std::to_string(previousProcesses(options.resumeRunDir)) +
                               " processes and resumes only over as many (this is one; use srun or RANK and "
                               "WORLD_SIZE as it was started)");
        return nullptr;
    }
    std::unique_ptr<DistributedJob> job(new DistributedJob());
    job->workspace_ = workspaceOf(options);
    if (launch) {
        if (options.runner.empty())
            throw InvalidInput("distributed.processes: " + std::to_string(exp.distributed.processes) +
                               " processes need distillery-run to start the others, and none was found");
        spec = ProcessGroupSpec{0, exp.distributed.processes, 0, exp.distributed.processes, "127.0.0.1",
                                LocalRanks::freePort(), "distributed.processes"};
        job->scratch_ = scratchFolder(0);
        fs::create_directories(job->scratch_);
        std::vector<std::string> args;
        if (resuming) {
            args = {"--resume", fs::absolute(options.resumeRunDir).string()};
        } else {
            const fs::path file = job->scratch_ / "experiment.json";
            std::ofstream(file) << experimentToJson(exp);
            args = {file.string(), "--workspace", fs::absolute(options.workspace).string()};
        }
        job->local_ = std::make_unique<LocalRanks>(options.runner, args, spec.worldSize, spec.masterPort,
                                                   job->scratch_ / "logs");
    }
    if (resuming && previousProcesses(options.resumeRunDir) != spec.worldSize)
        throw InvalidInput("resume: " + options.resumeRunDir + " trained over " +
                           std::to_string(previousProcesses(options.resumeRunDir)) +
                           " processes and resumes only over as many (this job has " +
                           std::to_string(spec.worldSize) + ")");
    job->spec_ = spec;
    try {
        job->comm_ = std::make_unique<Communicator>(spec, exp.distributed, device);
    } catch (const DistributedError &e) {
        const std::string ended = job->local_ ? job->local_->finish(0.0) : std::string();
        throw InvalidInput(std::string(e.what()) + (ended.empty() ? "" : "; " + ended));
    }
    if (job->local_) {
        LocalRanks *local = job->local_.get();
        job->comm_->describeEnded = [local] { return local->describeEnded(); };
    }
    job->checkSameExperiment(exp);
    job->place(options);
    return job;
}

DistributedJob::~DistributedJob()
{
    comm_.reset();
    local_.reset();
    std::error_code ec;
    if (!scratch_.empty())
        fs::remove_all(scratch_, ec);
}

// Every rank must train the same experiment: compared whole, the first
// difference named.
void DistributedJob::checkSameExperiment(const Experiment &exp)
{
    const auto all = comm_->allGather("experiment", experimentToJson(exp));
    const json leader = json::parse(all[0]);
    for (std::size_t r = 1; r < all.size(); ++r) {
        const json other = json::parse(all[r]);
        const json patch = json::diff(leader, other);
        if (patch.empty())
            continue;
        const std::string path = patch[0].value("path", "");
        const json::json_pointer at(path);
        const std::string theirs = other.contains(at) ? other.at(at).dump() : "nothing";
        const std::string ours = leader.contains(at) ? leader.at(at).dump() : "nothing";
        throw InvalidInput("rank " + std::to_string(r) + " was given another experiment than rank 0: " +
                           dotted(path) + " is " + theirs + " there and " + ours +
                           " on rank 0 (every process of a run must train the same experiment file)");
    }
}

// Ranks other than 0 write into a scratch folder: a new run's, or a copy of
// the resumed run's folder (without its lock and the epochs' states).
void DistributedJob::place(EngineOptions &options)
{
    if (!comm_->leader()) {
        scratch_ = scratchFolder(spec_.rank);
        std::error_code ec;
        fs::remove_all(scratch_, ec);
        fs::create_directories(scratch_);
        const fs::path run = scratch_ / "workspace" / "runs" / "run";
        if (!options.resumeRunDir.empty()) {
            const fs::path from = fs::absolute(options.resumeRunDir);
            fs::create_directories(run);
            for (const auto &entry : fs::recursive_directory_iterator(from)) {
                const fs::path rel = fs::relative(entry.path(), from);
                const std::string name = entry.path().filename().string();
                if (name == "lock" || name.find(".epoch-") != std::string::npos)
                    continue;
                if (entry.is_directory())
                    fs::create_directories(run / rel);
                else if (entry.is_regular_file())
                    fs::copy_file(entry.path(), run / rel, fs::copy_options::overwrite_existing);
            }
            options.resumeRunDir = run.string();
        } else {
            options.runDir = run.string();
        }
        options.workspace = (scratch_ / "workspace").string();
    }
    comm_->barrier();
}

int DistributedJob::threads(int requested, int cores) const
{
    if (requested > 0)
        return requested;
    return std::max(1, cores / std::max(1, spec_.localWorldSize));
}

std::string DistributedJob::finish(double seconds)
{
    if (!local_)
        return {};
    const std::string ended = local_->finish(seconds);
    // The scratch folders of ranks that could not remove their own (killed).
    for (const auto &[rank, pid] : local_->processes()) {
        std::error_code ec;
        fs::remove_all(scratchFolder(rank, pid), ec);
    }
    return ended;
}

} // namespace distillery::detail
