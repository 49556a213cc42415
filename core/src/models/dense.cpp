#include "models/dense.h"

#include <ATen/autocast_mode.h>

#include <stdexcept>
#include <string>

#ifdef DISTILLERY_WITH_ONEDNN
#include <dnnl.h>
#endif

namespace distillery::detail {

#ifdef DISTILLERY_WITH_ONEDNN
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Row-major C = op(A)·op(B) + beta·C on LibTorch's OpenMP threads.
void sgemm(char transA, char transB, std::int64_t m, std::int64_t n, std::int64_t k, const float *a,
           std::int64_t lda, const float *b, std::int64_t ldb, float beta, float *c, std::int64_t ldc)
{
    const dnnl_status_t status = dnnl_sgemm(transA, transB, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
    if (status != dnnl_success)
        throw std::runtime_error("oneDNN sgemm failed (status " + std::to_string(int(status)) + ")");
}

// Rows of work per thread below which splitting costs more than it saves.
std::int64_t rowGrain(std::int64_t columns)
{
    return std::max<std::int64_t>(1, (1 << 14) / std::max<std::int64_t>(columns, 1));
}

// One row of the output: adds the bias and applies ReLU (NaN stays NaN, as
// in torch::relu). Pointers that do not alias, so that the loops vectorise.
void epilogue(float *__restrict row, const float *__restrict bias, std::int64_t n, bool relu)
{
    if (bias && relu) {
        for (std::int64_t j = 0; j < n; ++j) {
            const float v = row[j] + bias[j];
            row[j] = v < 0.0f ? 0.0f : v;
        }
    } else if (bias) {
        for (std::int64_t j = 0; j < n; ++j)
            row[j] += bias[j];
    } else if (relu) {
        for (std::int64_t j = 0; j < n; ++j)
            row[j] = row[j] < 0.0f ? 0.0f : row[j];
    }
}

// ReLU's gradient, as threshold_backward: zero where the output is <= 0.
void reluGrad(const float *__restrict grad, const float *__restrict out, float *__restrict dst, std::int64_t n)
{
    for (std::int64_t i = 0; i < n; ++i) {
        const float g = grad[i]; // loaded unconditionally, so the select needs no branch
        dst[i] = out[i] <= 0.0f ? 0.0f : g;
    }
}

// x: [m, k] contiguous, weight: [n, k] contiguous, bias: [n] or undefined.
torch::Tensor denseForward(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias, bool relu)
{
    const std::int64_t m = x.size(0), k = x.size(1), n = weight.size(0);
    auto y = torch::empty({m, n}, x.options());
    if (m == 0)
        return y;
    sgemm('N', 'T', m, n, k, x.data_ptr<float>(), k, weight.data_ptr<float>(), k, 0.0f, y.data_ptr<float>(), n);
    if (!bias.defined() && !relu)
        return y;
    float *out = y.data_ptr<float>();
    const float *b = bias.defined() ? bias.data_ptr<float>() : nullptr;
    at::parallel_for(0, m, rowGrain(n), [=](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r)
            epilogue(out + r * n, b, n, relu);
    });
    return y;
}

class Dense : public torch::autograd::Function<Dense> {
public:
    // `bias`: an empty tensor for none (autograd functions take no undefined inputs).
    static torch::Tensor forward(AutogradContext *ctx, const torch::Tensor &x, const torch::Tensor &weight,
                                 const torch::Tensor &bias, bool relu)
    {
        const bool hasBias = bias.numel() > 0;
        auto y = denseForward(x, weight, hasBias ? bias : torch::Tensor(), relu);
        ctx->saved_data["relu"] = relu;
        ctx->saved_data["bias"] = hasBias;
        ctx->save_for_backward({x, weight, relu ? y : torch::Tensor()});
        return y;
    }

    static variable_list backward(AutogradContext *ctx, variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const auto &x = saved[0], &weight = saved[1], &y = saved[2];
        const bool relu = ctx->saved_data["relu"].toBool();
        const bool hasBias = ctx->saved_data["bias"].toBool();
        const std::int64_t m = x.size(0), k = x.size(1), n = weight.size(0);
        if (m == 0) // an empty batch: nothing flows back
            return {ctx->needs_input_grad(0) ? torch::zeros({0, k}, x.options()) : torch::Tensor(),
                    ctx->needs_input_grad(1) ? torch::zeros_like(weight) : torch::Tensor(),
                    hasBias && ctx->needs_input_grad(2) ? torch::zeros({n}, weight.options()) : torch::Tensor(),
                    torch::Tensor()};
        auto g = grads[0].contiguous();
        if (relu) {
            auto masked = torch::empty_like(g);
            const float *in = g.data_ptr<float>(), *out = y.data_ptr<float>();
            float *dst = masked.data_ptr<float>();
            at::parallel_for(0, m * n, 1 << 14, [=](std::int64_t begin, std::int64_t end) {
                reluGrad(in + begin, out + begin, dst + begin, end - begin);
            });
            g = masked;
        }
        torch::Tensor gx, gw, gb;
        if (ctx->needs_input_grad(0)) {
            gx = torch::empty({m, k}, x.options());
            sgemm('N', 'N', m, k, n, g.data_ptr<float>(), n, weight.data_ptr<float>(), k, 0.0f, gx.data_ptr<float>(), k);
        }
        if (ctx->needs_input_grad(1)) {
            gw = torch::empty({n, k}, weight.options());
            sgemm('T', 'N', n, k, m, g.data_ptr<float>(), n, x.data_ptr<float>(), k, 0.0f, gw.data_ptr<float>(), k);
        }
        if (hasBias && ctx->needs_input_grad(2))
            gb = g.sum(0);
        return {gx, gw, gb, torch::Tensor()};
    }
};

bool covered(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias)
{
    const auto isCpuFloat = [](const torch::Tensor &t) {
        return t.device().is_cpu() && t.scalar_type() == torch::kFloat && t.layout() == torch::kStrided;
    };
    return x.dim() == 2 && isCpuFloat(x) && isCpuFloat(weight) && weight.is_contiguous() &&
           (!bias.defined() || (isCpuFloat(bias) && bias.is_contiguous())) && !at::autocast::is_cpu_enabled() &&
           x.size(1) == weight.size(1) && (!bias.defined() || bias.numel() == weight.size(0));
}

} // namespace

bool denseOnOneDnn()
{
    return true;
}

torch::Tensor linear(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias, bool relu)
{
    if (!covered(x, weight, bias)) {
        auto y = torch::linear(x, weight, bias);
        return relu ? torch::relu(y) : y;
    }
    const auto input = x.contiguous();
    const bool grad = torch::GradMode::is_enabled() &&
                      (input.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()));
    if (!grad)
        return denseForward(input, weight, bias, relu);
    return Dense::apply(input, weight, bias.defined() ? bias : torch::empty({0}, weight.options()), relu);
}

void oneDnnProduct(const torch::Tensor &a, const torch::Tensor &b, torch::Tensor &out)
{
    TORCH_CHECK(a.dim() == 2 && b.dim() == 2 && out.dim() == 2 && a.size(1) == b.size(0) && out.size(0) == a.size(0) &&
                    out.size(1) == b.size(1),
                "oneDnnProduct: shapes do not match");
    TORCH_CHECK(a.is_contiguous() && b.is_contiguous() && out.is_contiguous() && a.is_cpu() &&
                    a.scalar_type() == torch::kFloat && b.scalar_type() == torch::kFloat &&
                    out.scalar_type() == torch::kFloat,
                "oneDnnProduct: contiguous CPU float tensors only");
    const std::int64_t m = a.size(0), k = a.size(1), n = b.size(1);
    sgemm('N', 'N', m, n, k, a.data_ptr<float>(), k, b.data_ptr<float>(), n, 0.0f, out.data_ptr<float>(), n);
}

#else // without oneDNN: LibTorch's own linear (OpenBLAS)

bool denseOnOneDnn()
{
    return false;
}

torch::Tensor linear(const torch::Tensor &x, const torch::Tensor &weight, const torch::Tensor &bias, bool relu)
{
    auto y = torch::linear(x, weight, bias);
    return relu ? torch::relu(y) : y;
}

void oneDnnProduct(const torch::Tensor &, const torch::Tensor &, torch::Tensor &)
{
    throw std::logic_error("this build has no oneDNN");
}

#endif

} // namespace distillery::detail
