#!/usr/bin/env python3
"""Reproduces the MNIST experiments of Hinton, Vinyals and Dean (2015) on
Fashion-MNIST with the shipped examples, and prints the tables of
docs/RESULTS.md ("Reproducing Hinton et al. 2015").

First fashion-mnist-hinton (teacher, student alone, distilled student) for
every seed, so that its table is complete first; then, for each seed,
fashion-mnist-omitted-class and fashion-mnist-two-classes with that seed's
teacher reused (teacher.source=run: the same teacher the files would train)
and no baseline, which those tables do not use.

    /usr/bin/python3 benchmarks/reproduce_hinton.py [--seeds 1 2 3] [--workspace DIR] [--runner PATH]
        [--threads N] [--teacher-run SEED=RUN_DIR ...]

--threads N sets every run's CPU threads (threads=1 is much faster than two
threads on a loaded two-core machine). --teacher-run reuses, for that seed,
the teacher of an earlier fashion-mnist-hinton run whose seed and teacher
settings are those of the file (checked), instead of training it again.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENTS = os.path.join(ROOT, "resources", "experiments")


def run(runner, experiment, workspace, sets):
    """Runs one experiment; returns its summary.json."""
    args = [runner, os.path.join(EXPERIMENTS, experiment), "--workspace", workspace, "--json"]
    for s in sets:
        args += ["--set", s]
    out = subprocess.run(args, stdout=subprocess.PIPE, text=True).stdout
    run_dir = None
    for line in out.splitlines():
        event = json.loads(line)
        if event.get("event") == "run_started":
            run_dir = event["run_dir"]
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    summary["run_dir"] = run_dir
    if summary.get("status") != "finished":
        sys.exit(f"{experiment} {' '.join(sets)}: {summary.get('status')}: {summary.get('message')} ({run_dir})")
    return summary


def check_teacher_run(run_dir, seed):
    """The earlier run's teacher must be the one the file would train for this seed."""
    with open(os.path.join(run_dir, "config.json")) as f:
        theirs = json.load(f)
    with open(os.path.join(EXPERIMENTS, "fashion-mnist-hinton.json")) as f:
        ours = json.load(f)
    if theirs.get("seed") != seed or theirs["teacher"]["train"] != {**theirs["teacher"]["train"], **ours["teacher"]["train"]} \
            or theirs["teacher"].get("source") != "train":
        sys.exit(f"--teacher-run {run_dir}: not seed {seed}'s teacher with the file's teacher settings")
    if not os.path.exists(os.path.join(run_dir, "checkpoints", "teacher.pt")):
        sys.exit(f"--teacher-run {run_dir}: no checkpoints/teacher.pt")


def errors(accuracy, n=10000):
    return round((1.0 - accuracy) * n)


def mean_std(values, fmt="{:.1f}"):
    if len(values) < 2:
        return fmt.format(values[0])
    return (fmt + " ± " + fmt).format(statistics.mean(values), statistics.stdev(values))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--workspace", default=os.path.join(ROOT, "workspace", "hinton"))
    p.add_argument("--runner", default=os.path.join(ROOT, "build", "app", "distillery-run"))
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--teacher-run", action="append", default=[], metavar="SEED=RUN_DIR")
    a = p.parse_args()
    common = [f"threads={a.threads}"] if a.threads is not None else []
    teacher_runs = {}
    for item in a.teacher_run:
        seed, run_dir = item.split("=", 1)
        check_teacher_run(run_dir, int(seed))
        teacher_runs[int(seed)] = run_dir

    rows = []
    for seed in a.seeds:
        sets = [f"seed={seed}"] + common
        if seed in teacher_runs:
            sets += ["teacher.source=run", f"teacher.run={teacher_runs[seed]}"]
        h = run(a.runner, "fashion-mnist-hinton.json", a.workspace, sets)
        s = h["stages"]
        row = {
            "seed": seed,
            "teacher_run": teacher_runs.get(seed, h["run_dir"]),
            "teacher": s["teacher"]["test_accuracy"],
            "alone": s["baseline"]["test_accuracy"],
            "distilled": s["student"]["test_accuracy"],
            "val": {k: s[k]["best_val_accuracy"] for k in ("teacher", "baseline", "student")},
            "seconds": h["seconds"],
        }
        row["closed"] = (row["distilled"] - row["alone"]) / (row["teacher"] - row["alone"])
        rows.append(row)
        print(f"seed {seed}: teacher {row['teacher']:.2%}, alone {row['alone']:.2%}, distilled {row['distilled']:.2%} "
              f"(gap closed {row['closed']:.0%}; validation: teacher {row['val']['teacher']:.2%}, "
              f"alone {row['val']['baseline']:.2%}, distilled {row['val']['student']:.2%}); "
              f"{row['seconds'] / 60:.0f} min ({h['run_dir']})", flush=True)

    col = lambda key: [r[key] for r in rows]
    print("\n| model | test errors | test accuracy |")
    print("|---|---:|---:|")
    for key, name in (("teacher", "teacher (2×1200, dropout, max-norm, jitter)"),
                      ("alone", "student alone (2×800)"), ("distilled", "distilled student (T = 20)")):
        print(f"| {name} | {mean_std([errors(v) for v in col(key)])} | {mean_std([100 * v for v in col(key)], '{:.2f}')}% |")
    print(f"\ngap closed by distillation: {mean_std([100 * v for v in col('closed')], '{:.0f}')}%\n", flush=True)

    for row in rows:
        seed = row["seed"]
        reuse = [f"seed={seed}", "teacher.source=run", f"teacher.run={row['teacher_run']}", "baseline=false"] + common
        o = run(a.runner, "fashion-mnist-omitted-class.json", a.workspace, reuse)
        t = run(a.runner, "fashion-mnist-two-classes.json", a.workspace, reuse)
        row["omitted"] = o["stages"]["student"]["bias_correction"]
        row["two"] = t["stages"]["student"]["bias_correction"]
        print(f"seed {seed}: omitted class {row['omitted']['omitted_accuracy_before']:.1%} -> "
              f"{row['omitted']['omitted_accuracy_after']:.1%} (shift {row['omitted']['shift']:.2f}); two classes: "
              f"{row['two']['test_accuracy_before']:.1%} -> {row['two']['test_accuracy_after']:.1%} "
              f"(shift {row['two']['shift']:.2f}); {(o['seconds'] + t['seconds']) / 60:.0f} min", flush=True)
    omitted_n = lambda b: b  # accuracies are over the omitted class's 1,000 test images
    print("\n| transfer set | shift | omitted classes' accuracy before | after | all classes before | after |")
    print("|---|---:|---:|---:|---:|---:|")
    for key, name in (("omitted", "class 3 omitted"), ("two", "classes 7 and 8 only")):
        b = col(key)
        print(f"| {name} | {mean_std([x['shift'] for x in b], '{:.2f}')} "
              f"| {mean_std([100 * x['omitted_accuracy_before'] for x in b])}% "
              f"| {mean_std([100 * x['omitted_accuracy_after'] for x in b])}% "
              f"| {mean_std([100 * x['test_accuracy_before'] for x in b])}% "
              f"| {mean_std([100 * x['test_accuracy_after'] for x in b])}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
