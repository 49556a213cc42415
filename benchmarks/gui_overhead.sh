#!/usr/bin/env bash
# Does the window slow training down? Runs the default experiment's student
# stage (15 epochs, teacher reused from RUN_DIR) alternately in distillery-run and in the
# window with live plots (under Xvfb), and compares the students' samples/s.
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
  XDG_CONFIG_HOME="$work/config" xvfb-run -a "$repo/build/app/distillery" --workspace "$work/gui" --start --quit-when-done "$exp" >/dev/null 2>&1
  gui=$(rate "$work/gui")
  /usr/bin/python3 -c "print(f'run $i: runner {float($cli):.0f} samples/s, window {float($gui):.0f} samples/s, window/runner {float($gui)/float($cli):.3f}')" | tee -a "$work/ratios"
done
/usr/bin/python3 - "$work/ratios" <<'PY'
import statistics, sys
r = sorted(float(l.rsplit(" ", 1)[1]) for l in open(sys.argv[1]))
print(f"window/runner over {len(r)} pairs: min {r[0]:.3f}, median {statistics.median(r):.3f}, max {r[-1]:.3f}")
PY
rm -rf "$work"
