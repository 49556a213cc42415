#include "trainer.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

namespace distillery::detail {

void trainStep(StepContext &c, const torch::Tensor &idx, torch::Tensor &acc)
{
    auto x = c.train.x.index_select(0, idx);
    auto y = c.train.y.index_select(0, idx);
    ModelOutputs student{c.model->forward(x), {}};
    ModelOutputs teacher;
    if (c.method.needsTeacher()) {
        if (c.teacherCache.defined()) {
            teacher.logits = c.teacherCache.index_select(0, idx);
        } else {
            torch::NoGradGuard guard;
            teacher.logits = c.teacher(x);
        }
    }
    auto terms = c.method.loss(student, teacher, y);
    c.optimizer.zero_grad();
    terms.total.backward();
    c.optimizer.step();

    torch::NoGradGuard guard;
    const double rows = double(idx.size(0));
    std::vector<torch::Tensor> values{terms.total.detach().to(torch::kFloat64) * rows};
    for (auto &p : terms.parts)
        values.push_back(p.second.detach().to(torch::kFloat64) * rows);
    values.push_back(student.logits.argmax(1).eq(y).sum().to(torch::kFloat64));
    acc += torch::stack(values);
}

torch::Tensor teacherLogits(const TeacherForward &teacher, const Split &split)
{
    torch::NoGradGuard guard; // not inference mode: the result enters the student's graph
    std::vector<torch::Tensor> out;
    for (std::int64_t i = 0; i < split.size(); i += kEvalBatch)
        out.push_back(teacher(split.x.slice(0, i, std::min(i + kEvalBatch, split.size()))));
    return torch::cat(out);
}

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(std::vector<torch::Tensor> params, const TrainConfig &t)
{
    if (t.optimizer == "adam")
        return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(t.lr).weight_decay(t.weightDecay));
    if (t.optimizer == "adamw")
        return std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(t.lr).weight_decay(t.weightDecay));
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(t.lr).momentum(t.momentum).nesterov(t.nesterov).weight_decay(t.weightDecay));
}

namespace {
using GetThreads = int (*)();
using SetThreads = void (*)(int);

// Looked up at run time: LibTorch reaches BLAS through libblas.so.3, which
// Debian's alternatives point at OpenBLAS or at another BLAS.
GetThreads openblasGet()
{
    static auto f = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    return f;
}
SetThreads openblasSet()
{
    static auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    return f;
}
} // namespace

int openblasThreads()
{
    return openblasGet() ? openblasGet()() : -1;
}

bool setOpenblasThreads(int n)
{
    if (!openblasSet())
        return false;
    openblasSet()(n);
    return true;
}

ThreadPlan planThreads(std::int64_t linearMultiplyAdds, std::int64_t convMultiplyAdds, std::int64_t batch, int threads)
{
    constexpr std::int64_t small = 64'000'000; // multiply-adds per batch
    if ((linearMultiplyAdds + convMultiplyAdds) * batch < small)
        return {threads, 1};
    if (convMultiplyAdds >= linearMultiplyAdds)
        return {threads, threads};
    return {1, threads};
}

std::pair<std::int64_t, std::int64_t> linearAndConvMultiplyAdds(const Architecture &layers, const ArchitectureReport &report)
{
    std::int64_t linear = 0, conv = 0;
    for (std::size_t i = 0; i < report.layers.size(); ++i)
        (layers[i].type == "linear" ? linear : conv) += report.layers[i].multiplyAdds;
    return {linear, conv};
}

bool applyThreads(const ThreadPlan &plan)
{
    at::set_num_threads(plan.torch);
    return setOpenblasThreads(plan.blas);
}

} // namespace distillery::detail
