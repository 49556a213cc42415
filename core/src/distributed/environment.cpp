// Where this process stands in a job, from torchrun's or Slurm's variables.
#include "distillery/distributed.h"

#include "distillery/experiment.h"

#include <cstdlib>

extern char **environ;

namespace distillery {

namespace {

using Env = std::map<std::string, std::string>;

Env processEnvironment()
{
    Env env;
    for (char **e = environ; e && *e; ++e) {
        const std::string kv = *e;
        if (const auto eq = kv.find('='); eq != std::string::npos)
            env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
    }
    return env;
}

const std::string *find(const Env &env, const std::string &key)
{
    const auto it = env.find(key);
    return it == env.end() || it->second.empty() ? nullptr : &it->second;
}

int integer(const Env &env, const std::string &key, int fallback, int least, int most)
{
    const std::string *v = find(env, key);
    if (!v)
        return fallback;
    std::size_t used = 0;
    int n = 0;
    try {
        n = std::stoi(*v, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (used != v->size() || n < least || n > most)
        throw ConfigError("environment: " + key + "=" + *v + ": must be a whole number from " +
                          std::to_string(least) + " to " + std::to_string(most));
    return n;
}

// SLURM_STEP_TASKS_PER_NODE, e.g. "2(x3),1": the count on the first node.
int firstCount(const std::string &perNode)
{
    try {
        return std::max(1, std::stoi(perNode));
    } catch (const std::exception &) {
        return 1;
    }
}

} // namespace

std::string firstSlurmHost(const std::string &nodelist)
{
    std::string first;
    int depth = 0;
    for (char c : nodelist) {
        if (c == ',' && depth == 0)
            break;
        depth += c == '[' ? 1 : c == ']' ? -1 : 0;
        first += c;
    }
    const auto open = first.find('[');
    if (open == std::string::npos)
        return first;
    std::string range = first.substr(open + 1);
    range = range.substr(0, range.find_first_of(",-]"));
    return first.substr(0, open) + range;
}

ProcessGroupSpec processGroupFromEnvironment(const std::map<std::string, std::string> &given)
{
    const Env env = given.empty() ? processEnvironment() : given;
    ProcessGroupSpec s;
    if (find(env, "WORLD_SIZE") || find(env, "RANK")) {
        s.origin = "RANK and WORLD_SIZE";
        s.worldSize = integer(env, "WORLD_SIZE", 1, 1, 65536);
        s.rank = integer(env, "RANK", 0, 0, s.worldSize - 1);
        s.localRank = integer(env, "LOCAL_RANK", s.rank, 0, s.worldSize - 1);
        s.localWorldSize = integer(env, "LOCAL_WORLD_SIZE", s.worldSize, 1, s.worldSize);
        if (const std::string *a = find(env, "MASTER_ADDR"))
            s.masterAddr = *a;
        else if (s.worldSize > 1)
            throw ConfigError("environment: MASTER_ADDR is not set: RANK and WORLD_SIZE need rank 0's address");
        s.masterPort = integer(env, "MASTER_PORT", 29500, 1, 65535);
        return s;
    }
    // Inside a job step of srun (a batch script itself has no step's task count).
    if (const std::string *tasks = find(env, "SLURM_STEP_NUM_TASKS")) {
        s.origin = "srun";
        s.worldSize = integer(env, "SLURM_STEP_NUM_TASKS", 1, 1, 65536);
        s.rank = integer(env, "SLURM_PROCID", 0, 0, s.worldSize - 1);
        s.localRank = integer(env, "SLURM_LOCALID", 0, 0, s.worldSize - 1);
        if (const std::string *perNode = find(env, "SLURM_STEP_TASKS_PER_NODE"))
            s.localWorldSize = std::min(s.worldSize, firstCount(*perNode));
        if (const std::string *a = find(env, "MASTER_ADDR"))
            s.masterAddr = *a;
        else if (const std::string *nodes = find(env, "SLURM_STEP_NODELIST"))
            s.masterAddr = firstSlurmHost(*nodes);
        // One port per job, so that two jobs on one node do not meet.
        const int job = integer(env, "SLURM_JOB_ID", 0, 0, 2147483647);
        s.masterPort = integer(env, "MASTER_PORT", 29500 + job % 20000, 1, 65535);
        (void)tasks;
    }
    return s;
}

} // namespace distillery
