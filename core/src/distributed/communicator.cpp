#include "distributed/communicator.h"

#include "support/clock.h"
#include "support/errors.h"
#include "support/torch_compat.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef DISTILLERY_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef DISTILLERY_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace distillery::detail {

namespace {

using namespace std::chrono_literals;

constexpr auto kBeat = 1s;          // how often each rank tells the store it is alive
constexpr auto kCensus = 3s;        // how long a failure waits for heartbeats to advance

std::string beatKey(int rank)
{
    return "distillery/beat/" + std::to_string(rank);
}

bool loopback(const std::string &host)
{
    return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

c10::intrusive_ptr<c10d::TCPStore> connectStore(const ProcessGroupSpec &s, bool server, std::chrono::milliseconds timeout)
{
    c10d::TCPStoreOptions o;
    o.port = std::uint16_t(s.masterPort);
    o.isServer = server;
    o.numWorkers = std::size_t(s.worldSize);
    o.waitWorkers = false;
    o.timeout = timeout;
    return c10::make_intrusive<c10d::TCPStore>(s.masterAddr, o);
}

// The process group's collectives: NCCL's between CUDA devices where built
// in, else Gloo's over TCP (on the loopback device for a job on one machine).
c10::intrusive_ptr<compat::CollectiveGroup> makeGroup(const std::string &backend,
                                                      const c10::intrusive_ptr<c10d::TCPStore> &store,
                                                      const ProcessGroupSpec &spec, std::chrono::milliseconds timeout)
{
#ifdef DISTILLERY_WITH_NCCL
    if (backend == "nccl") {
        auto options = c10d::ProcessGroupNCCL::Options::create();
        options->timeout = timeout;
        return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, spec.rank, spec.worldSize, options);
    }
#endif
#ifdef DISTILLERY_WITH_GLOO
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    if (loopback(spec.masterAddr))
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else if (const char *ifname = std::getenv("GLOO_SOCKET_IFNAME"))
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    return c10::make_intrusive<c10d::ProcessGroupGloo>(store, spec.rank, spec.worldSize, options);
#else
    throw std::runtime_error("this build of Distillery has no Gloo (its headers come with libgloo-dev)");
#endif
}

} // namespace

struct Communicator::Private {
    c10::intrusive_ptr<c10d::TCPStore> store;
    c10::intrusive_ptr<compat::CollectiveGroup> group;
    std::thread heartbeat;
    std::mutex mutex;
    std::condition_variable wake;
    bool stopping = false;
};

Communicator::Communicator(const ProcessGroupSpec &spec, const DistributedConfig &config, const torch::Device &device)
    : spec_(spec), config_(config), d_(std::make_unique<Private>())
{
    const auto timeout = std::chrono::milliseconds(std::int64_t(config.timeoutSeconds) * 1000);
    const std::string where = spec.masterAddr + ":" + std::to_string(spec.masterPort);
#ifdef DISTILLERY_WITH_NCCL
    constexpr bool nccl = true;
#else
    constexpr bool nccl = false;
#endif
    backend_ = config.backend == "auto" ? (device.is_cuda() && nccl ? "nccl" : "gloo") : config.backend;
#ifdef DISTILLERY_WITH_GLOO
    constexpr bool gloo = true;
#else
    constexpr bool gloo = false;
#endif
    if (backend_ == "gloo" && !gloo)
        throw DistributedError("distributed.backend: gloo is not in this build of Distillery (Gloo's headers come "
                               "with libgloo-dev; build again with it)");
    if (backend_ == "nccl" && !nccl)
        throw DistributedError("distributed.backend: nccl is not in this build of Distillery (LibTorch " TORCH_VERSION
                               "); use gloo or auto");
    // NCCL reduces tensors on the process's CUDA device; Gloo any.
    collectiveDevice_ = backend_ == "nccl" ? device : torch::Device(torch::kCPU);
    try {
        d_->store = connectStore(spec, spec.rank == 0, timeout);
    } catch (const std::exception &e) {
        const std::string text = firstLine(errorText(e));
        if (spec.rank == 0)
            throw DistributedError("rank 0 cannot hold the job's store at " + where +
                                   (text.find("in use") != std::string::npos
                                        ? ": the port is in use by another program (choose another MASTER_PORT)"
                                        : ": " + text));
        throw DistributedError("rank " + std::to_string(spec.rank) + " cannot reach rank 0's store at " + where +
                               " within " + std::to_string(config.timeoutSeconds) +
                               " s (distributed.timeout_seconds; is MASTER_ADDR right, and rank 0 running?): " + text);
    }
    try {
        d_->group = makeGroup(backend_, d_->store, spec, timeout);
    } catch (const std::exception &e) {
        throw DistributedError("the " + std::to_string(spec.worldSize) + " processes of the run did not all join within " +
                               std::to_string(config.timeoutSeconds) + " s (rank " + std::to_string(spec.rank) +
                               ", master " + where + "): " + firstLine(errorText(e)));
    }
    // Each rank's heartbeat, on a connection of its own, so that a failure can
    // name the rank that ended or hangs.
    auto beats = connectStore(spec, false, timeout);
    d_->heartbeat = std::thread([this, beats] {
        std::unique_lock<std::mutex> lock(d_->mutex);
        while (!d_->stopping) {
            try {
                beats->add(beatKey(spec_.rank), 1);
            } catch (const std::exception &) {
                return; // the store is gone: the job is ending
            }
            d_->wake.wait_for(lock, kBeat, [this] { return d_->stopping; });
        }
    });
}

Communicator::~Communicator()
{
    {
        std::lock_guard<std::mutex> lock(d_->mutex);
        d_->stopping = true;
    }
    d_->wake.notify_all();
    if (d_->heartbeat.joinable())
        d_->heartbeat.join();
}

std::string Communicator::failureMessage(const std::exception &e)
{
    const std::string cause = firstLine(errorText(e));
    std::string who;
    try {
        std::vector<std::int64_t> before;
        for (int r = 0; r < size(); ++r)
            before.push_back(d_->store->add(beatKey(r), 0));
        std::this_thread::sleep_for(kCensus);
        std::vector<int> silent;
        for (int r = 0; r < size(); ++r)
            if (r != rank() && d_->store->add(beatKey(r), 0) == before[std::size_t(r)])
                silent.push_back(r);
        for (std::size_t i = 0; i < silent.size(); ++i)
            who += (i == 0 ? "rank " : i + 1 == silent.size() ? " and " : ", ") + std::to_string(silent[i]);
        who = silent.empty() ? "every rank is still running, but one did not take part in time (a collective waits " +
                                   std::to_string(config_.timeoutSeconds) + " s: distributed.timeout_seconds)"
                             : who + " stopped responding (its process ended or hangs)";
    } catch (const std::exception &) {
        who = "rank 0, which holds the job's store at " + spec_.masterAddr + ":" + std::to_string(spec_.masterPort) +
              ", stopped responding (its process ended or hangs)";
    }
    const std::string ended = describeEnded ? describeEnded() : std::string();
    return "training over " + std::to_string(size()) + " processes failed on rank " + std::to_string(rank()) + ": " +
           who + (ended.empty() ? "" : "; " + ended) + " (" + cause + ").";
}

void Communicator::fail(const std::exception &e)
{
    throw DistributedError(failureMessage(e));
}

void Communicator::allreduceSum(std::vector<torch::Tensor> &tensors)
{
    // One collective for all of them: a process group's list is one tensor
    // per device, so they go as one flat tensor and come back apart.
    std::vector<torch::Tensor> flat;
    for (const auto &t : tensors)
        flat.push_back(t.reshape({-1}).to(collectiveDevice_, torch::kFloat64));
    std::vector<torch::Tensor> one{torch::cat(flat)};
    const auto start = Clock::now();
    try {
        d_->group->allreduce(one)->wait();
    } catch (const std::exception &e) {
        fail(e);
    }
    waitSeconds_ += secondsSince(start);
    std::int64_t offset = 0;
    for (auto &t : tensors) {
        const auto n = t.numel();
        t.copy_(one[0].narrow(0, offset, n).view(t.sizes()).to(t.device()));
        offset += n;
    }
}

void Communicator::broadcastFromLeader(std::vector<torch::Tensor> &tensors)
{
    const auto start = Clock::now();
    try {
        c10d::BroadcastOptions o;
        o.rootRank = 0;
        for (auto &t : tensors) {
            std::vector<torch::Tensor> one{t};
            d_->group->broadcast(one, o)->wait();
        }
    } catch (const std::exception &e) {
        fail(e);
    }
    waitSeconds_ += secondsSince(start);
}

void Communicator::barrier()
{
    try {
        d_->group->barrier()->wait();
    } catch (const std::exception &e) {
        fail(e);
    }
}

namespace {

class GroupWork : public Communicator::Pending {
public:
    GroupWork(c10::intrusive_ptr<c10d::Work> work, Communicator &comm) : work_(std::move(work)), comm_(comm) {}
    void wait() override
    {
        const auto start = Clock::now();
        try {
            work_->wait();
        } catch (const std::exception &e) {
            throw DistributedError(comm_.failureMessage(e));
        }
        comm_.addWait(secondsSince(start));
    }

private:
    c10::intrusive_ptr<c10d::Work> work_;
    Communicator &comm_;
};

} // namespace

std::unique_ptr<Communicator::Pending> Communicator::allreduceSumAsync(torch::Tensor &tensor)
{
    std::vector<torch::Tensor> one{tensor};
    try {
        return std::make_unique<GroupWork>(d_->group->allreduce(one), *this);
    } catch (const std::exception &e) {
        fail(e);
    }
}

std::vector<std::string> Communicator::allGather(const std::string &key, const std::string &value)
{
    const std::string prefix = "distillery/gather/" + key + "/";
    std::vector<std::string> all;
    try {
        d_->store->set(prefix + std::to_string(rank()), std::vector<std::uint8_t>(value.begin(), value.end()));
        for (int r = 0; r < size(); ++r) {
            const auto v = d_->store->get(prefix + std::to_string(r));
            all.emplace_back(v.begin(), v.end());
        }
    } catch (const std::exception &e) {
        fail(e);
    }
    return all;
}

Communicator::Control Communicator::agree(bool stop, bool pause, std::int64_t count)
{
    const bool lead = leader();
    std::vector<torch::Tensor> flags{torch::tensor(
        {stop ? 1.0 : 0.0, pause && lead ? 1.0 : 0.0, lead ? double(count) : 0.0}, torch::kFloat64)};
    allreduceSum(flags);
    const double *v = flags[0].data_ptr<double>();
    return Control{v[0] > 0, v[1] > 0, std::int64_t(v[2])};
}

} // namespace distillery::detail
