#!/usr/bin/python3
"""The ceiling for case (a) of docs/PERFORMANCE.md: the matrix products of one
training step (teacher forward, student forward and backward, batch 128), run
back to back in the same OpenBLAS with nothing between them, as a share of the
1024x1024 sgemm rate. Run with OPENBLAS_NUM_THREADS=2 and Debian's python3-torch.

  OPENBLAS_NUM_THREADS=2 /usr/bin/python3 benchmarks/gemm_ceiling.py
"""
import time

import torch

B = 128
# (rows, inner, cols) of each product: teacher 784-1200-1200-10 forward,
# student 784-800-800-10 forward, then its weight and input gradients (none
# for the first layer's input, which needs no gradient).
SHAPES = [(B, 784, 1200), (B, 1200, 1200), (B, 1200, 10),
          (B, 784, 800), (B, 800, 800), (B, 800, 10),
          (10, B, 800), (B, 10, 800), (800, B, 800), (B, 800, 800), (800, B, 784)]


def best_rate(f, flops, rounds=30, per_round=10):
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(per_round):
            f()
        best = max(best, per_round * flops / (time.perf_counter() - t0) / 1e9)
    return best


def main():
    torch.set_num_threads(1)  # the products run on OpenBLAS's threads, as in Distillery's split for (a)
    mats = [(torch.randn(m, k), torch.randn(k, n), torch.empty(m, n)) for m, k, n in SHAPES]
    step_flops = sum(2 * m * k * n for m, k, n in SHAPES)
    a, b, out = torch.randn(1024, 1024), torch.randn(1024, 1024), torch.empty(1024, 1024)

    def step():
        for x, w, o in mats:
            torch.mm(x, w, out=o)

    sgemm = best_rate(lambda: torch.mm(a, b, out=out), 2 * 1024 ** 3)
    products = best_rate(step, step_flops)
    sgemm = max(sgemm, best_rate(lambda: torch.mm(a, b, out=out), 2 * 1024 ** 3))
    print(f"sgemm 1024: {sgemm:.1f} GFLOP/s; the step's products alone: {products:.1f} GFLOP/s "
          f"({100 * products / sgemm:.0f}% of sgemm); {step_flops / B / 1e6:.2f} MFLOP per sample")


if __name__ == "__main__":
    main()
