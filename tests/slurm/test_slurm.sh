#!/usr/bin/env bash
# distillery-run over 2 tasks of srun (one run, data-parallel: the same
# result as one process), and
# distillery-run --sweep --backend slurm against a real Slurm: a one-node
# cluster on 127.0.0.1 (munged with a key of its own, slurmctld and slurmd
# with a generated slurm.conf, everything under a temporary folder) started
# and stopped here. Checks that every point of a small sweep finishes under
# Slurm with the same test accuracies as the local backend, and the messages
# for a missing sbatch, a rejected submission, a submission that fails half
# way (the first job cancelled and both reported) and an unreachable
# controller. Exits 77 (CTest: skipped), saying why, where Slurm cannot run.
#
#   tests/slurm/test_slurm.sh DISTILLERY_RUN WORK_DIR
set -uo pipefail

run="$1"
work="$2"
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*"; exit 1; }

for tool in munged slurmctld slurmd sbatch squeue scancel sinfo; do
  command -v "$tool" >/dev/null ||
    skip "$tool not found: install slurm-wlm and munge (bash scripts/dev deps)"
done
[ "$(id -u)" -eq 0 ] || skip "slurmd must run as root to start jobs (this test runs as $(id -un))"

rm -rf "$work"
mkdir -p "$work"
t="$(mktemp -d "$work/cluster.XXXXXX")"
chmod 755 "$t"
mkdir -p "$t/munge" "$t/state" "$t/spool" "$t/log"
chmod 700 "$t/munge"

stop_cluster() {
  local f pid
  for f in "$t/slurmd.pid" "$t/slurmctld.pid" "$t/munge/munged.pid"; do
    pid="$(cat "$f" 2>/dev/null)" || continue
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
  done
  for f in "$t/slurmd.pid" "$t/slurmctld.pid" "$t/munge/munged.pid"; do
    pid="$(cat "$f" 2>/dev/null)" || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    rm -f "$f"
  done
}
trap stop_cluster EXIT

# munge: a key of its own and its own socket, so no system munged is touched.
dd if=/dev/urandom of="$t/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$t/munge/munge.key"
munged --force --key-file="$t/munge/munge.key" --socket="$t/munge/socket" \
  --pid-file="$t/munge/munged.pid" --log-file="$t/munge/munged.log" --seed-file="$t/munge/seed" ||
  skip "munged does not start: $(tail -3 "$t/munge/munged.log" 2>/dev/null)"

# Ports of its own (loopback only), so that a second copy of the test does not meet this one.
port=$((20000 + RANDOM % 20000))
host="$(hostname -s)"
cat >"$t/slurm.conf" <<EOF
ClusterName=distillery-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$t/munge/socket
CredType=cred/munge
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$t/state
SlurmdSpoolDir=$t/spool
SlurmctldPidFile=$t/slurmctld.pid
SlurmdPidFile=$t/slurmd.pid
SlurmctldLogFile=$t/log/slurmctld.log
SlurmdLogFile=$t/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$t/slurm.conf"
slurmctld -c -i || skip "slurmctld does not start: $(tail -3 "$t/log/slurmctld.log" 2>/dev/null)"
slurmd || skip "slurmd does not start: $(tail -3 "$t/log/slurmd.log" 2>/dev/null)"
for _ in $(seq 60); do
  sinfo -h -o %t 2>/dev/null | grep -q idle && break
  sleep 0.5
done
sinfo -h -o %t 2>/dev/null | grep -q idle ||
  skip "the node never became idle: $(sinfo -h -o '%t %E' 2>&1); $(tail -3 "$t/log/slurmd.log" 2>/dev/null)"
echo "cluster up: $host, port $port, $(sinfo -h -o '%P %t %c CPUs')"

echo "== one run over 2 tasks of srun, against the same run in one process"
cat >"$work/dp.json" <<'EOF'
{"version":1,"name":"dp","seed":1,"threads":1,"distributed":{"timeout_seconds":30},
 "data":{"source":"synthetic-vectors","synthetic_train":3200,"synthetic_test":500,"validation_fraction":0},
 "teacher":{"model":{"preset":"mlp","hidden":[64]},"train":{"epochs":2,"batch_size":128}},
 "student":{"model":{"preset":"mlp","hidden":[8]},"train":{"epochs":2,"batch_size":128}},
 "distillation":{"method":"kd","temperature":4,"alpha":0.5}}
EOF
"$run" "$work/dp.json" -w "$work/ws-one" >"$work/one.out" 2>&1 || { cat "$work/one.out"; fail "the one-process run failed"; }
MASTER_ADDR=127.0.0.1 MASTER_PORT=$((port + 2)) timeout 200 srun -n 2 -c 1 --kill-on-bad-exit=1 \
  "$run" "$work/dp.json" -w "$work/ws-srun" >"$work/srun.out" 2>&1
rc=$?
cat "$work/srun.out"
[ $rc -eq 0 ] || fail "srun -n 2 distillery-run exited $rc"
[ "$(ls "$work/ws-srun/runs" | wc -l)" -eq 1 ] || fail "srun: expected one run folder, got $(ls "$work/ws-srun/runs")"
same="$(/usr/bin/python3 -c '
import glob, json, sys
one, two = (json.load(open(glob.glob(w + "/runs/*/summary.json")[0])) for w in sys.argv[1:3])
ok = two.get("processes") == 2 and two["status"] == "finished" and all(
    abs(one["stages"][k]["test_accuracy"] - two["stages"][k]["test_accuracy"]) <= 1 / 500 for k in one["stages"])
print("same" if ok else "differ: %s vs %s (%s processes)" % ([s["test_accuracy"] for s in one["stages"].values()],
      [s["test_accuracy"] for s in two["stages"].values()], two.get("processes")))
' "$work/ws-one" "$work/ws-srun")"
echo "srun against one process: $same"
[ "$same" = same ] || fail "the 2-task srun run differs from one process: $same"

cat >"$work/sw.json" <<'EOF'
{"version":1,"name":"sw","seed":1,"data":{"source":"synthetic-vectors","synthetic_train":400,"synthetic_test":200},
 "teacher":{"model":{"preset":"mlp","hidden":[64]},"train":{"epochs":3,"batch_size":64}},
 "student":{"model":{"preset":"mlp","hidden":[8]},"train":{"epochs":3,"batch_size":64}},
 "distillation":{"method":"kd","temperature":4,"alpha":0.5},
 "sweep":{"grid":{"distillation.temperature":[2,4],"distillation.alpha":[0.5,0.9]},"seeds":[1,2]}}
EOF

# The points' accuracies, by point: "point student baseline status".
accuracies() {
  "$run" --list-runs "$1" --sort sweep_point | awk 'NF >= 7 && $1 != "run" { print $1 ~ /-p[0-9]+$/ ? substr($1, length($1) - 4) : $1, $2, $4, $5 }'
}

echo "== the sweep with the local backend (one point at a time, one thread each)"
"$run" --sweep "$work/sw.json" -w "$work/ws-local" --jobs 1 --threads-per-job 1 >"$work/local.out" 2>&1 ||
  { cat "$work/local.out"; fail "the local sweep failed"; }

echo "== the same sweep on Slurm"
start=$(date +%s)
"$run" --sweep "$work/sw.json" -w "$work/ws-slurm" --backend slurm --partition debug --time 10 \
  --cpus-per-task 1 --sbatch-line=--comment=distillery-test --sbatch-line 'echo "point task $SLURM_ARRAY_TASK_ID" >&2' \
  --wait >"$work/slurm.out" 2>&1
rc=$?
cat "$work/slurm.out"
echo "slurm sweep: $(($(date +%s) - start)) s"
[ $rc -eq 0 ] || { tail -n 20 "$work"/ws-slurm/sweeps/*/slurm/logs/*.log; fail "the Slurm sweep exited $rc"; }
sweep="$(ls -d "$work"/ws-slurm/sweeps/*/)"
grep -q '"id"' "$sweep/slurm/jobs.json" || fail "no job ids in $sweep/slurm/jobs.json"
grep -q -- '--dependency' "$sweep/slurm/points.sbatch" && fail "points.sbatch should take its dependency on the command line"
grep -q -- '#SBATCH --comment=distillery-test' "$sweep/slurm/teacher.sbatch" || fail "the extra sbatch line is missing"
grep -q -- '#SBATCH --time=10' "$sweep/slurm/teacher.sbatch" || fail "the time limit is missing"
[ "$(grep -c '"name"' "$sweep/slurm/jobs.json")" -eq 3 ] || fail "expected 3 jobs (teacher, baselines, points)"

accuracies "$work/ws-local" >"$work/local.acc"
accuracies "$work/ws-slurm" >"$work/slurm.acc"
echo "point, status, student, baseline (local | slurm):"
paste "$work/local.acc" "$work/slurm.acc"
[ "$(grep -c finished "$work/slurm.acc")" -eq 8 ] || fail "not every point finished on Slurm"
diff "$work/local.acc" "$work/slurm.acc" >/dev/null || fail "Slurm's accuracies differ from the local backend's"

# Submitting again leaves the finished sweep alone.
"$run" --resume-sweep "$sweep" --backend slurm >"$work/again.out" 2>&1 || { cat "$work/again.out"; fail "resubmitting failed"; }
grep -q "nothing submitted" "$work/again.out" || { cat "$work/again.out"; fail "a finished sweep was submitted again"; }

# A teacher that fails: the jobs that wait for it leave the queue (--kill-on-invalid-dep), --wait ends with 1.
start=$(date +%s)
timeout 120 "$run" --sweep "$work/sw.json" -w "$work/ws-fail" --backend slurm --sbatch-line 'exit 3' --wait \
  >"$work/fail.out" 2>&1
rc=$?
echo "-- a failing teacher (exit $rc, $(($(date +%s) - start)) s):"
tail -n 3 "$work/fail.out"
[ $rc -eq 1 ] || fail "a failing teacher: exit status $rc, expected 1"
grep -q "0 of 8 points finished; the jobs' logs" "$work/fail.out" || fail "a failing teacher: no summary line"

expect_error() { # expect_error NAME TEXT COMMAND...: exit status 3 and TEXT in the message
  local name="$1" text="$2"
  shift 2
  "$@" >"$work/$name.out" 2>&1
  local rc=$?
  echo "-- $name (exit $rc):"
  cat "$work/$name.out"
  [ $rc -eq 3 ] || fail "$name: exit status $rc, expected 3"
  grep -q -- "$text" "$work/$name.out" || fail "$name: the message lacks '$text'"
}

echo "== the messages"
mkdir -p "$work/bin-nosbatch"
expect_error no-sbatch "sbatch not found: is Slurm installed? (the local backend runs without it)" \
  env PATH="$work/bin-nosbatch" "$run" --sweep "$work/sw.json" -w "$work/ws-errors" --backend slurm
expect_error rejected "invalid partition" \
  "$run" --sweep "$work/sw.json" -w "$work/ws-errors" --backend slurm --partition no-such-partition

# An sbatch that takes the first job and refuses the second: the first is cancelled, and both are said.
mkdir -p "$work/bin-half"
real_sbatch="$(command -v sbatch)"
cat >"$work/bin-half/sbatch" <<EOF
#!/bin/bash
if [ -e "$work/bin-half/once" ]; then echo "sbatch: error: Batch job submission failed: test refusal" >&2; exit 1; fi
touch "$work/bin-half/once"
exec "$real_sbatch" "\$@"
EOF
chmod +x "$work/bin-half/sbatch"
expect_error half "was cancelled with scancel" \
  env PATH="$work/bin-half:$PATH" "$run" --sweep "$work/sw.json" -w "$work/ws-half" --backend slurm
grep -q "test refusal" "$work/half.out" || fail "half: sbatch's own message is missing"
first="$(sed -n 's/.*(teacher \([0-9]*\)).*/\1/p' "$work/half.out")"
[ -n "$first" ] || fail "half: the cancelled job's id is not in the message"
sleep 1
squeue -h -j "$first" -o '%i %T' 2>/dev/null | grep -q -E 'PENDING|RUNNING' && fail "half: job $first is still queued"

ls "$work"/ws-half/sweeps/*/slurm/jobs.json 2>/dev/null && fail "half: jobs.json written for a failed submission"

ctld="$(cat "$t/slurmctld.pid")"
kill "$ctld"
for _ in $(seq 50); do kill -0 "$ctld" 2>/dev/null || break; sleep 0.1; done
expect_error unreachable "Unable to contact slurm controller" \
  "$run" --sweep "$work/sw.json" -w "$work/ws-errors" --backend slurm
echo "PASSED"
