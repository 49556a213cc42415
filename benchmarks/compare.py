#!/usr/bin/python3
"""Runs Distillery's benchmark and the PyTorch reference script side by side,
alternating, and prints the ratio of their throughputs per case (min, median,
max over the repetitions) as a Markdown table. Ratios from one session are
what count: absolute figures drift on shared machines. The script runs at its
default threads, at Distillery's thread split, and the better of the two per
repetition is "the script's best".

  /usr/bin/python3 benchmarks/compare.py [--build build] [--repeats 3] [--seconds 2]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--case", action="append")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--bf16", action="store_true", help="both sides under bfloat16 autocast")
    args = ap.parse_args()
    variant = ["--device", args.device] + (["--bf16"] if args.bf16 else [])
    bench = os.path.join(args.build, "benchmarks", "bench_distill")
    cases = args.case or subprocess.run([bench, "--list"], check=True, capture_output=True, text=True).stdout.split()
    reference = [sys.executable, os.path.join(HERE, "reference.py"), "--seconds", str(args.seconds)] + variant

    results = {c: {"ours": [], "default": [], "same": [], "of_sgemm": []} for c in cases}
    info = {}
    for rep in range(args.repeats):
        for case in cases:
            ours = run_json([bench, "--json", "--case", case, "--seconds", str(args.seconds)] + variant)[0]
            info[case] = ours
            # The script as a user runs it: PyTorch's and OpenBLAS's default threads.
            default = run_json(reference + ["--case", case])[0]
            # The script with Distillery's thread settings.
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(ours["blas_threads"]))
            same = run_json(reference + ["--case", case, "--threads", str(ours["torch_threads"])], env=env)[0]
            results[case]["ours"].append(ours["samples_per_second"])
            # Against the sgemm rate the same process measured just before: drifts cancel.
            results[case]["of_sgemm"].append(100 * ours["gflops"] / ours["sgemm_gflops"])
            results[case]["default"].append(default["samples_per_second"])
            results[case]["same"].append(same["samples_per_second"])
            print(f"[{rep + 1}/{args.repeats}] {case}: Distillery {ours['samples_per_second']:.0f}, "
                  f"script {default['samples_per_second']:.0f} (default threads), "
                  f"{same['samples_per_second']:.0f} (same threads) samples/s", file=sys.stderr, flush=True)

    def span(values, digits=2):
        return " / ".join(f"{v:.{digits}f}" for v in (min(values), statistics.median(values), max(values)))

    sgemm = statistics.median(i["sgemm_gflops"] for i in info.values())
    libtorch = statistics.median(i.get("sgemm_libtorch_gflops", 0) for i in info.values())
    onednn = statistics.median(i.get("sgemm_onednn_gflops", 0) for i in info.values())
    where = "CUDA, 8192x8192" if args.device == "cuda" else f"{info[cases[0]]['threads']} threads, 1024x1024"
    both = f"; LibTorch's mm {libtorch:.1f}, oneDNN {onednn:.1f}" if onednn > 0 else ""
    print(f"sgemm: {sgemm:.1f} GFLOP/s ({where}{both}){', bfloat16 autocast' if args.bf16 else ''}\n")
    print("| case | Distillery samples/s | script samples/s (default threads) | ratio vs default (min / median / max) "
          "| ratio vs same threads (min / median / max) | ratio vs the script's best (min / median / max) "
          "| GFLOP/s | % of sgemm (min / median / max) | threads LibTorch / OpenBLAS |")
    print("|---|---:|---:|---|---|---|---:|---|---:|")
    for case in cases:
        r = results[case]
        vs_default = [o / d for o, d in zip(r["ours"], r["default"])]
        vs_same = [o / s for o, s in zip(r["ours"], r["same"])]
        vs_best = [o / max(d, s) for o, d, s in zip(r["ours"], r["default"], r["same"])]
        ours = statistics.median(r["ours"])
        gflops = info[case]["gflops"] * ours / info[case]["samples_per_second"]
        print(f"| {case} | {ours:.0f} | {statistics.median(r['default']):.0f} | {span(vs_default)} | {span(vs_same)} "
              f"| {span(vs_best)} | {gflops:.1f} | {span(r['of_sgemm'], 0)} "
              f"| {info[case]['torch_threads']} / {info[case]['blas_threads']} |")
    if "b-cnn-mlp-cached" in results and "b-cnn-mlp-online" in results:
        cached = results["b-cnn-mlp-cached"]["ours"]
        online = results["b-cnn-mlp-online"]["default"]
        print(f"\nDistillery's cached-teacher epoch against the script's online-teacher epoch (b): "
              f"{span([c / o for c, o in zip(cached, online)])}x")


if __name__ == "__main__":
    main()
