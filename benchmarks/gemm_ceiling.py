#!/usr/bin/python3
"""The ceiling for case (a) of docs/PERFORMANCE.md: the matrix products of one
training step (teacher forward, student forward and backward, batch 128, in
the layouts a linear layer uses), run back to back with nothing between them,
as a share of the 1024x1024 sgemm rate. Both libraries on the machine are
measured: OpenBLAS (LibTorch's mm, on OpenBLAS's threads) and oneDNN's sgemm
(on LibTorch's OpenMP threads), which Distillery's linear layers use where it
is installed. Run with Debian's python3-torch.

  /usr/bin/python3 benchmarks/gemm_ceiling.py [--threads 2]
"""
import argparse
import ctypes
import os
import subprocess
import sys
import time

B = 128
# (transpose A, transpose B, rows, cols, inner) of each product, row-major as
# a linear layer y = x·Wᵀ computes them: teacher 784-1200-1200-10 forward,
# student 784-800-800-10 forward, then its input gradients g·W (none for the
# first layer, whose input needs none) and weight gradients gᵀ·x.
SHAPES = [("N", "T", B, 1200, 784), ("N", "T", B, 1200, 1200), ("N", "T", B, 10, 1200),
          ("N", "T", B, 800, 784), ("N", "T", B, 800, 800), ("N", "T", B, 10, 800),
          ("N", "N", B, 800, 10), ("N", "N", B, 800, 800),
          ("T", "N", 10, 800, B), ("T", "N", 800, 800, B), ("T", "N", 800, 784, B)]


def best_rate(f, flops, rounds=30, per_round=10):
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(per_round):
            f()
        best = max(best, per_round * flops / (time.perf_counter() - t0) / 1e9)
    return best


def operands(torch, ta, tb, m, n, k):
    a = torch.randn(m, k) if ta == "N" else torch.randn(k, m)
    b = torch.randn(k, n) if tb == "N" else torch.randn(n, k)
    return a, b, torch.empty(m, n)


def measure(library, threads):
    import torch
    if library == "openblas":
        torch.set_num_threads(1)  # the products on OpenBLAS's own threads (OPENBLAS_NUM_THREADS)

        def product(ta, tb, a, b, c):
            torch.mm(a if ta == "N" else a.t(), b if tb == "N" else b.t(), out=c)
    else:
        torch.set_num_threads(threads)  # oneDNN runs on the caller's OpenMP threads
        dnnl = ctypes.CDLL("libdnnl.so.2")
        i64, f32, ptr = ctypes.c_int64, ctypes.c_float, ctypes.c_void_p
        dnnl.dnnl_sgemm.argtypes = [ctypes.c_char, ctypes.c_char, i64, i64, i64, f32, ptr, i64, ptr, i64, f32, ptr, i64]

        def product(ta, tb, a, b, c):
            status = dnnl.dnnl_sgemm(ta.encode(), tb.encode(), c.shape[0], c.shape[1],
                                     a.shape[1] if ta == "N" else a.shape[0], 1.0, a.data_ptr(), a.shape[1],
                                     b.data_ptr(), b.shape[1], 0.0, c.data_ptr(), c.shape[1])
            assert status == 0, f"dnnl_sgemm: status {status}"

    torch.manual_seed(0)
    mats = [(ta, tb) + operands(torch, ta, tb, m, n, k) for ta, tb, m, n, k in SHAPES]
    step_flops = sum(2 * m * n * k for _, _, m, n, k in SHAPES)
    square = ("N", "N") + operands(torch, "N", "N", 1024, 1024, 1024)

    def step():
        for args in mats:
            product(*args)

    sgemm = best_rate(lambda: product(*square), 2 * 1024 ** 3)
    products = best_rate(step, step_flops)
    sgemm = max(sgemm, best_rate(lambda: product(*square), 2 * 1024 ** 3))
    return sgemm, products, step_flops


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--library", choices=["openblas", "onednn"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.library:  # one library per process: each thread pool set up as its library wants
        print(*measure(args.library, args.threads))
        return
    results = {}
    for library in ("openblas", "onednn"):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads if library == "openblas" else 1))
        run = subprocess.run([sys.executable, __file__, "--library", library, "--threads", str(args.threads)],
                             env=env, capture_output=True, text=True)
        if run.returncode != 0:
            print(f"{library}: not measured ({run.stderr.strip().splitlines()[-1] if run.stderr.strip() else 'failed'})")
            continue
        sgemm, products, flops = map(float, run.stdout.split())
        results[library] = (sgemm, products)
        print(f"{library}: sgemm 1024 {sgemm:.1f} GFLOP/s; the step's products alone {products:.1f} GFLOP/s "
              f"({100 * products / sgemm:.0f}% of its own sgemm); {flops / B / 1e6:.2f} MFLOP per sample")
    if results:
        best_sgemm = max(s for s, _ in results.values())
        best_products = max(p for _, p in results.values())
        print(f"ceiling: the step's products reach at most {100 * best_products / best_sgemm:.0f}% "
              f"of the machine's best sgemm ({best_sgemm:.1f} GFLOP/s)")


if __name__ == "__main__":
    main()
