#!/usr/bin/env python3
"""Every distillation method on one shipped experiment, over seeds: the table
of docs/RESULTS.md ("The methods side by side").

For each seed it first runs the file as it is (teacher, baseline and vanilla
KD), then every other method with that seed's teacher reused
(teacher.source=run) and no baseline, so that all methods of a seed distil
from the same teacher and are compared with the same baseline. A method whose
default pairing of taps does not fit the models, or whose training fails (a
non-finite loss), is listed with the reason, once, and not run again.
Mutual learning ignores the teacher; born-again generations report each
generation's student on a row of its own; the row of several teachers takes
the other seeds' teachers beside the seed's own, so every seed's first run
comes before any other run.

    /usr/bin/python3 benchmarks/compare_methods.py [--experiment fashion-mnist-few-labels.json]
        [--seeds 1 2 3] [--workspace DIR] [--runner PATH] [--threads N] [--methods LABEL ...]
        [--first-runs RUN ...] [--set KEY=VALUE ...]
"""
import argparse
import json
import os
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENTS = os.path.join(ROOT, "resources", "experiments")

# (label, --set assignments). The temperature is the file's for the KD family,
# the reference implementations' own for DKD (mdistiller: 4) and DIST (1);
# every other parameter is the method's default (docs/METHODS.md), and again
# with β = 1 for DKD and FitNets, whose reference weights (tuned for CIFAR-100
# ResNets) may be too strong for a small pair.
METHODS = [
    ("kd (the file's)", []),
    ("kd + logit standardisation", ["distillation.params.standardize=true"]),
    ("dkd", ["distillation.method=dkd", "distillation.temperature=4"]),
    ("dkd + logit standardisation", ["distillation.method=dkd", "distillation.temperature=4",
                                     "distillation.params.standardize=true"]),
    ("dkd, β = 1", ["distillation.method=dkd", "distillation.temperature=4", "distillation.params.beta=1"]),
    ("dist", ["distillation.method=dist", "distillation.temperature=1"]),
    ("fitnet", ["distillation.method=fitnet"]),
    ("fitnet, β = 1", ["distillation.method=fitnet", "distillation.params.beta=1"]),
    ("at", ["distillation.method=at"]),
    ("sp", ["distillation.method=sp"]),
    ("rkd", ["distillation.method=rkd"]),
    ("pkt", ["distillation.method=pkt"]),
    # The authors' own settings where they differ from the defaults above:
    # logit standardisation's base temperature 2 (its CE : KD weights of 1 : 9
    # are α = 0.9's), DIST's CIFAR-100 setting.
    ("kd + logit standardisation, T = 2", ["distillation.params.standardize=true", "distillation.temperature=2",
                                           "distillation.alpha=0.9"]),
    ("dist, β = γ = 2, T = 4", ["distillation.method=dist", "distillation.temperature=4",
                                "distillation.params.beta=2", "distillation.params.gamma=2"]),
    # CRD with fewer negatives than the reference's 16384: a CPU step reads
    # B·(K + 1) rows of each memory. With 600 students' rows (about 540 of
    # other classes per example), 512 draws nearly all of them, without
    # replacement.
    ("crd, K = 512", ["distillation.method=crd", "distillation.params.nce_k=512"]),
    # No teacher: two students learn from each other (the paper's T = 1).
    ("dml, 2 students", ["distillation.method=dml", "distillation.temperature=1"]),
    # Born-again: the file's kd for three generations, the first taught by the
    # teacher, each later one by the last one's student; every generation's
    # student is reported (the first equals the "kd (the file's)" row).
    ("kd, born-again", ["distillation.generations=3"]),
    # Several teachers: the seed's own and the other seeds' (the same model
    # and settings, other seeds), weighted equally; OTHER_TEACHERS is
    # replaced by the other seeds' first runs.
    ("kd, the 3 seeds' teachers", ["teachers=OTHER_TEACHERS"]),
]
GENERATIONS = 3


def run(runner, experiment, workspace, sets, every_run=False):
    """Runs one experiment; returns (summary.json, None) or (None, why it was refused).
    With every_run, the summaries of all the runs it made (born-again generations), in order."""
    args = [runner, os.path.join(EXPERIMENTS, experiment), "--workspace", workspace, "--json"]
    for s in sets:
        args += ["--set", s]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_dirs, error = [], None
    for line in p.stdout.splitlines():
        event = json.loads(line)
        if event.get("event") == "run_started":
            run_dirs.append(event["run_dir"])
        if event.get("event") == "error":
            error = event["message"]
    if not run_dirs:
        return None, f"refused: {error or p.stderr.strip() or 'exit %d' % p.returncode}"
    summaries = []
    for run_dir in run_dirs:
        with open(os.path.join(run_dir, "summary.json")) as f:
            summary = json.load(f)
        if summary.get("status") != "finished":
            return None, f"{summary.get('status')}: {summary.get('message')}"
        summary["run_dir"] = run_dir
        summaries.append(summary)
    return (summaries if every_run else summaries[0]), None


def mean_std(values):
    if not values:
        return "—"
    if len(values) < 2:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experiment", default="fashion-mnist-few-labels.json")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--workspace", default=os.path.join(ROOT, "workspace", "methods"))
    p.add_argument("--runner", default=os.path.join(ROOT, "build", "app", "distillery-run"))
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--first-runs", nargs="+", default=None,
                   help="each seed's finished run of the file as it is, from an earlier call, instead of running it")
    p.add_argument("--methods", nargs="+", default=None,
                   help="only these rows (labels as in the table), besides the file's kd")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="an assignment for every run, e.g. teacher.train.epochs=15 (repeatable)")
    a = p.parse_args()
    common = ([f"threads={a.threads}"] if a.threads is not None else []) + a.sets
    methods = [m for m in METHODS if a.methods is None or m[0] in a.methods or m is METHODS[0]]
    labels = []
    for label, sets in methods:
        if any(s.startswith("distillation.generations=") for s in sets):
            labels += [f"{label}, generation {g}" for g in range(1, GENERATIONS + 1)]
        else:
            labels.append(label)
    teacher, baseline = [], []
    results = {label: [] for label in labels}   # per seed: (accuracy %, seconds)
    refused = {}  # label: why it did not train
    # Every seed's first run before any other, for the rows of several teachers.
    firsts = []
    for i, seed in enumerate(a.seeds):
        if a.first_runs:
            with open(os.path.join(a.first_runs[i], "summary.json")) as f:
                firsts.append(dict(json.load(f), run_dir=a.first_runs[i]))
        else:
            first, why = run(a.runner, a.experiment, a.workspace, [f"seed={seed}"] + common)
            if first is None:
                raise SystemExit(f"seed {seed}: {why}")
            firsts.append(first)
    for i, (seed, first) in enumerate(zip(a.seeds, firsts)):
        others = json.dumps([{"source": "run", "run": f["run_dir"], "weight": 1}
                             for j, f in enumerate(firsts) if j != i])
        s = first["stages"]
        teacher.append(100 * s["teacher"]["test_accuracy"])
        baseline.append(100 * s["baseline"]["test_accuracy"])
        results[METHODS[0][0]].append((100 * s["student"]["test_accuracy"], s["student"]["seconds"]))
        print(f"seed {seed}: teacher {teacher[-1]:.2f}%, baseline {baseline[-1]:.2f}%, "
              f"kd {results[METHODS[0][0]][-1][0]:.2f}% ({first['run_dir']})", flush=True)
        reuse = [f"seed={seed}", "teacher.source=run", f"teacher.run={first['run_dir']}", "baseline=false"] + common
        for label, sets in methods[1:]:
            if label in refused:
                continue
            if any("OTHER_TEACHERS" in x for x in sets) and len(firsts) < 2:
                refused[label] = "needs two seeds or more (the other seeds' teachers)"
                continue
            chain = any(s.startswith("distillation.generations=") for s in sets)
            sets = [x.replace("OTHER_TEACHERS", others) for x in sets]
            summaries, why = run(a.runner, a.experiment, a.workspace, reuse + sets, every_run=True)
            if summaries is None:
                refused[label] = why
                print(f"  {label}: {why}", flush=True)
                continue
            for g, summary in enumerate(summaries, 1):
                row = f"{label}, generation {g}" if chain else label
                student = summary["stages"]["student"]
                results[row].append((100 * student["test_accuracy"], student["seconds"]))
                print(f"  {row}: {results[row][-1][0]:.2f}% in {student['seconds']:.0f} s", flush=True)

    kd = [acc for acc, _ in results[METHODS[0][0]]]
    print(f"\nteacher {mean_std(teacher)}%, baseline student {mean_std(baseline)}% "
          f"(seeds {' '.join(map(str, a.seeds))})\n")
    print("| method | test accuracy | vs baseline | vs kd | student's stage (fastest seed) |")
    print("|---|---:|---:|---:|---:|")
    for label in labels:
        if label in refused or label.rsplit(", generation", 1)[0] in refused:
            print(f"| {label} | {refused.get(label) or refused[label.rsplit(', generation', 1)[0]]} | | | |")
            continue
        accs = [acc for acc, _ in results[label]]
        secs = [sec for _, sec in results[label]]
        vs_base = [x - b for x, b in zip(accs, baseline)]
        vs_kd = [x - k for x, k in zip(accs, kd)]
        print(f"| {label} | {mean_std(accs)}% | {mean_std(vs_base)} | {mean_std(vs_kd)} | "
              f"{min(secs):.0f} s |")


if __name__ == "__main__":
    main()
