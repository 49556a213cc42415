#!/usr/bin/env bash
# Does the window slow training down? Runs the default experiment's student
# stage (15 epochs, teacher reused from RUN_DIR) alternately in distillery-run and in the
# window with live plots (under Xvfb), and compares the students' samples/s.
# It also measures, in each window run, the CPU time of the GUI thread and of
# the X server while the student trains: the window's own work, which bounds
# what it can take from training more tightly than throughput ratios on a
# noisy machine can.
#   bash benchmarks/gui_overhead.sh RUN_DIR [REPEATS]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
teacher_run=${1:?usage: gui_overhead.sh RUN_WITH_TEACHER [REPEATS]}
repeats=${2:-2}
work=$(mktemp -d)
exp="$work/overhead.json"

/usr/bin/python3 - "$repo/resources/experiments/fashion-mnist-quick.json" "$exp" "$teacher_run" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
e["teacher"] = {"source": "run", "run": sys.argv[3]}
e["baseline"] = False
e["student"]["train"]["epochs"] = 15
json.dump(e, open(sys.argv[2], "w"), indent=2)
PY
rate() {  # mean samples/s of the distilled student's epochs in the newest run of $1
  /usr/bin/python3 - "$1" <<'PY'
import json, sys, glob, os
run = sorted(glob.glob(os.path.join(sys.argv[1], "runs", "*")))[-1]
rates = [j["samples_per_second"] for j in map(json.loads, open(os.path.join(run, "metrics.jsonl")))
         if j.get("event") == "epoch" and j.get("stage") == "student"]
print(sum(rates) / len(rates))
PY
}
for i in $(seq "$repeats"); do
  "$repo/build/app/distillery-run" "$exp" --workspace "$work/cli" >/dev/null 2>&1
  cli=$(rate "$work/cli")
  XDG_CONFIG_HOME="$work/config" /usr/bin/python3 - "$repo/build/app/distillery" "$work/gui" "$exp" <<'PY' | tee -a "$work/cpu"
# Runs the window under xvfb-run and samples the CPU time of the window's GUI
# thread and of the X server (the work the window adds) while the distilled
# student trains: from its stage_started to its stage_finished event in the
# run's metrics. Printed as a share of what the machine's cores could do in
# that time: an upper bound on what the window takes from training.
import glob, json, os, subprocess, sys, time
app, ws, exp = sys.argv[1:4]
earlier = set(glob.glob(os.path.join(ws, "runs", "*")))  # the runs of earlier pairs
p = subprocess.Popen(["xvfb-run", "-a", app, "--workspace", ws, "--start", "--quit-when-done", exp],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
tick = os.sysconf("SC_CLK_TCK")
def cpu(path):  # utime + stime, seconds
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
def sample():
    out = {"gui": 0.0, "x": 0.0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            comm, ppid = stat[stat.index("(") + 1:stat.rindex(")")], int(stat.rsplit(")", 1)[1].split()[1])
            if ppid != p.pid:
                continue
            if comm == "Xvfb":
                out["x"] = cpu(f"/proc/{pid}/stat")
            elif comm.startswith("distillery"):
                out["gui"] = cpu(f"/proc/{pid}/task/{pid}/stat")  # the main (GUI) thread only
        except (OSError, ValueError, IndexError):
            pass
    return out
def student_events():
    events = []
    for run in set(glob.glob(os.path.join(ws, "runs", "*"))) - earlier:
        if not os.path.exists(os.path.join(run, "metrics.jsonl")):
            continue
        with open(os.path.join(run, "metrics.jsonl")) as f:
            for line in f:
                if '"stage":"student"' in line and '"event":"stage_' in line:
                    events.append(json.loads(line)["event"])
    return events
begin = end = None
while p.poll() is None:
    events = student_events()
    if begin is None and "stage_started" in events:
        begin = (time.monotonic(), sample())
    if begin is not None and end is None and "stage_finished" in events:
        end = (time.monotonic(), sample())
    time.sleep(0.05)
if begin is None or end is None:
    sys.exit("the window's run has no student stage in its metrics")
wall = end[0] - begin[0]
gui, x = end[1]["gui"] - begin[1]["gui"], end[1]["x"] - begin[1]["x"]
print(f"{(gui + x) / (wall * os.cpu_count()):.4f} while the student trained: GUI thread {gui:.2f} s + X server "
      f"{x:.2f} s of {wall:.1f} s on {os.cpu_count()} cores")
PY
  gui=$(rate "$work/gui")
  /usr/bin/python3 -c "print(f'run $i: runner {float($cli):.0f} samples/s, window {float($gui):.0f} samples/s, window/runner {float($gui)/float($cli):.3f}')" | tee -a "$work/ratios"
done
/usr/bin/python3 - "$work/ratios" <<'PY'
import statistics, sys
r = sorted(float(l.rsplit(" ", 1)[1]) for l in open(sys.argv[1]))
print(f"window/runner over {len(r)} pairs: min {r[0]:.3f}, median {statistics.median(r):.3f}, max {r[-1]:.3f}")
PY
/usr/bin/python3 - "$work/cpu" <<'PY'
import statistics, sys
c = sorted(float(l.split()[0]) for l in open(sys.argv[1]))
print(f"the window's own CPU work (GUI thread and X server) over the machine's capacity while the student trained: "
      f"min {100 * c[0]:.2f}%, median {100 * statistics.median(c):.2f}%, max {100 * c[-1]:.2f}%")
PY
rm -rf "$work"
