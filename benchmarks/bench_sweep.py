#!/usr/bin/python3
"""A sweep against the same runs one after another: a 3 x 3 grid of
distillation.temperature x distillation.alpha of an experiment (one seed) run
by `distillery-run --sweep` (the teacher trained once, the baseline once, the
points K at a time), then the nine points as nine plain `distillery-run`
processes, one after another, in the same session. Prints the wall time of
both, the ratio, and whether the students' test accuracies agree point by
point (the first point trains the same teacher with the same seed, so a
point's numbers are those of its single run at the same thread count; the
sweep's points other than the teacher's run with fewer threads, and LibTorch's
reductions may then round differently).

  /usr/bin/python3 benchmarks/bench_sweep.py [--build build] [--experiment FILE]
      [--set KEY=VALUE ...] [--jobs K] [--workspace DIR]

The default experiment is resources/experiments/fashion-mnist-few-labels.json;
--set applies to the sweep and the single runs alike (e.g.
teacher.train.epochs=1 for a quicker, less favourable measure).
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPERATURES = [2, 4, 8]
ALPHAS = [0.5, 0.7, 0.9]


def accuracy(run_dir):
    with open(os.path.join(run_dir, "summary.json")) as f:
        s = json.load(f)
    return s["stages"]["student"]["test_accuracy"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--experiment", default=os.path.join(HERE, "..", "resources", "experiments",
                                                         "fashion-mnist-few-labels.json"))
    ap.add_argument("--set", action="append", default=[], dest="overrides")
    ap.add_argument("--jobs", type=int, default=0, help="points at once (0: the runner's choice)")
    ap.add_argument("--workspace", default=None, help="kept afterwards (default: a temporary folder, removed)")
    args = ap.parse_args()
    runner = os.path.abspath(os.path.join(args.build, "app", "distillery-run"))
    ws = args.workspace or tempfile.mkdtemp(prefix="bench-sweep-")
    os.makedirs(ws, exist_ok=True)
    with open(args.experiment) as f:
        experiment = json.load(f)
    experiment["sweep"] = {"grid": {"distillation.temperature": TEMPERATURES, "distillation.alpha": ALPHAS}}
    sweep_file = os.path.join(ws, "sweep.json")
    with open(sweep_file, "w") as f:
        json.dump(experiment, f, indent=2)
    sets = [a for o in args.overrides for a in ("--set", o)]

    # The decoded-data cache and the page cache warmed for both halves alike.
    subprocess.run([runner, sweep_file, "-w", os.path.join(ws, "warm")] + sets +
                   ["--set", "teacher.train.epochs=1", "--set", "student.train.epochs=1"],
                   check=True, capture_output=True)

    t0 = time.monotonic()
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    sweep = subprocess.run([runner, "--sweep", sweep_file, "-w", os.path.join(ws, "sweep")] + sets + jobs,
                           capture_output=True, text=True)
    sweep_s = time.monotonic() - t0
    if sweep.returncode != 0:
        sys.exit("the sweep failed:\n" + sweep.stderr[-3000:])
    sweep_runs = sorted(glob.glob(os.path.join(ws, "sweep", "runs", "*-p0*")))

    single_acc = []
    t0 = time.monotonic()
    for a in ALPHAS:  # the sweep's order: keys sorted, alpha before temperature
        for t in TEMPERATURES:
            single_ws = os.path.join(ws, "single")
            before = set(glob.glob(os.path.join(single_ws, "runs", "*")))
            subprocess.run([runner, sweep_file, "-w", single_ws] + sets +
                           ["--set", f"distillation.temperature={t}", "--set", f"distillation.alpha={a}"],
                           check=True, capture_output=True)
            (new,) = set(glob.glob(os.path.join(single_ws, "runs", "*"))) - before
            single_acc.append(accuracy(new))
    single_s = time.monotonic() - t0

    sweep_acc = [accuracy(d) for d in sweep_runs]
    same = sum(abs(x - y) < 1e-12 for x, y in zip(sweep_acc, single_acc))
    for d, x, y in zip(sweep_runs, sweep_acc, single_acc):
        if abs(x - y) >= 1e-12:
            with open(os.path.join(d, "config.json")) as f:
                threads = json.load(f)["threads"]
            print(f"  {os.path.basename(d)}: {x:.4f} in the sweep ({threads} thread(s)), {y:.4f} alone (all cores)")
    print(f"experiment: {os.path.basename(args.experiment)} {' '.join(args.overrides)}")
    print(f"sweep, 3 x 3 (teacher and baseline trained once): {sweep_s:8.1f} s")
    print(f"nine single runs, one after another:               {single_s:8.1f} s")
    print(f"ratio: {single_s / sweep_s:.2f}x faster as a sweep")
    print(f"students' test accuracy equal to the single run's: {same} of 9 points")
    print(sweep.stderr.splitlines()[1] if len(sweep.stderr.splitlines()) > 1 else "")
    if not args.workspace:
        shutil.rmtree(ws, ignore_errors=True)


if __name__ == "__main__":
    main()
