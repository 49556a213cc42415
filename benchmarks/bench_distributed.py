#!/usr/bin/python3
"""One run over 1, 2 and 4 processes on this machine (distillery-run --nproc
N: Gloo over the loopback address), side by side in one session: the training
throughput of each stage (samples per second of its training steps, from the
epoch events) and the share of those steps' time each process spent waiting
in collectives (the gradients' all-reduce, the step's stop/pause agreement
and the epoch's sums; summary.json's collective_seconds over train_seconds,
rank 0's). Every process trains on one thread, so N processes use N cores
where the machine has them; on a small machine no speed-up is expected and
the figures are the overhead.

  /usr/bin/python3 benchmarks/bench_distributed.py [--build build]
      [--processes 1 2 4] [--rows 12000] [--workspace DIR]

Experiments: the Hinton pair (resources/experiments/fashion-mnist-hinton.json:
teacher 2x1200 with dropout, student 2x800 distilled from its cached logits)
and the CNN teacher (fashion-mnist-quick.json: cnn-large), one epoch of each
stage on the first --rows training images, no baseline.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
EXPERIMENTS = {"hinton": "fashion-mnist-hinton.json", "cnn": "fashion-mnist-quick.json"}


def measure(runner, experiment, processes, rows, ws):
    cmd = [runner, os.path.join(HERE, "..", "resources", "experiments", experiment), "--workspace", ws,
           "--nproc", str(processes), "--set", "teacher.train.epochs=1", "--set", "student.train.epochs=1",
           "--set", "baseline=false", "--set", "data.train_limit=%d" % rows, "--set", "threads=1",
           "--set", "log_every_steps=1000"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), done.stderr[-2000:]))
    run = sorted(glob.glob(os.path.join(ws, "runs", "*")))[-1]
    with open(os.path.join(run, "summary.json")) as f:
        summary = json.load(f)
    speeds = {}
    with open(os.path.join(run, "metrics.jsonl")) as f:
        for line in f:
            e = json.loads(line)
            if e.get("event") == "epoch":
                speeds[e["stage"]] = e["samples_per_second"]
    out = {}
    for stage, s in summary["stages"].items():
        share = s["collective_seconds"] / s["train_seconds"] if s.get("train_seconds") else 0.0
        out[stage] = (speeds.get(stage, 0.0), share)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--rows", type=int, default=12000)
    ap.add_argument("--workspace", default=None, help="kept afterwards (default: a temporary folder, removed)")
    args = ap.parse_args()
    runner = os.path.abspath(os.path.join(args.build, "app", "distillery-run"))
    root = args.workspace or tempfile.mkdtemp(prefix="bench-distributed-")
    print("%-8s %-8s %9s %12s %16s" % ("pair", "stage", "processes", "samples/s", "collective share"))
    try:
        for name, experiment in EXPERIMENTS.items():
            base = None
            for n in args.processes:
                ws = os.path.join(root, "%s-%d" % (name, n))
                result = measure(runner, experiment, n, args.rows, ws)
                for stage, (speed, share) in result.items():
                    base = base or {}
                    base.setdefault(stage, speed)
                    print("%-8s %-8s %9d %12.0f %15.1f%%   (%.2fx of 1 process)" %
                          (name, stage, n, speed, 100 * share, speed / base[stage] if base[stage] else 0))
                sys.stdout.flush()
    finally:
        if not args.workspace:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
