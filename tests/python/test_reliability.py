"""No lost work and no crash.

A run killed at a random step (SIGKILL, from another process) resumes with
`distillery-run --resume` to the same numbers as a run that was never
interrupted, and its metrics file holds each epoch once. A run that cannot go
on (non-finite loss, memory, a vanished folder, a full disk) stops with a
clear message and leaves valid files.

    python3 test_reliability.py RUNNER EXPORTER [-v]
"""
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

RUNNER = EXPORTER = None

EXPERIMENT = {
    "version": 1, "name": "resume", "seed": 4, "device": "cpu", "log_every_steps": 5,
    "data": {"source": "synthetic-vectors", "synthetic_train": 8000, "synthetic_test": 1000,
             "synthetic_classes": 4, "synthetic_features": 16},
    # Dropout in both models and Adam's moments: the random-number and optimiser
    # states must come back exactly for the numbers to match.
    "teacher": {"model": {"preset": "mlp", "hidden": [256, 256], "dropout": 0.2},
                "train": {"epochs": 4, "batch_size": 32, "optimizer": "adam", "lr": 0.002}},
    "student": {"model": {"preset": "mlp", "hidden": [64], "dropout": 0.1},
                "train": {"epochs": 4, "batch_size": 32, "lr": 0.05, "warmup_epochs": 0.5}},
    "distillation": {"temperature": 4, "alpha": 0.7},
}
TIMING = ("seconds", "samples_per_second")


def records(run_dir, event):
    out = []
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            j = json.loads(line)
            if j["event"] == event:
                out.append({k: v for k, v in j.items() if k not in TIMING})
    return out


def stage_results(run_dir):
    with open(os.path.join(run_dir, "summary.json")) as f:
        s = json.load(f)
    assert s["status"] == "finished", s["status"]
    return {k: (v["test_accuracy"], v["best_epoch"], v["epochs_done"]) for k, v in s["stages"].items()}


def analysis(run_dir):
    """analysis/: each stage's figures (its times apart) and the bytes of every logits and
    training dynamics file (a resumed stage keeps the epochs before its checkpoint)."""
    folder = os.path.join(run_dir, "analysis")
    with open(os.path.join(folder, "summary.json")) as f:
        stages = [{k: v for k, v in s.items() if k not in ("seconds", "latency")} for s in json.load(f)["stages"]]
    files = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith((".logits", ".dynamics")):
            with open(os.path.join(folder, name), "rb") as f:
                files[name] = f.read()
    return stages, files


def step_lines(path, stage):
    try:
        with open(path) as f:
            return sum(1 for line in f if '"event":"step"' in line and f'"stage":"{stage}"' in line)
    except FileNotFoundError:
        return 0


class ResumeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="distillery-resume-")
        cls.experiment = os.path.join(cls.dir, "resume.json")
        with open(cls.experiment, "w") as f:
            json.dump(EXPERIMENT, f)
        ws = os.path.join(cls.dir, "reference")
        subprocess.run([RUNNER, cls.experiment, "--workspace", ws], check=True, capture_output=True, timeout=300)
        cls.reference = glob.glob(os.path.join(ws, "runs", "*"))[0]
        seed = int(os.environ.get("DISTILLERY_TEST_SEED", time.time()))
        print(f"kill points drawn with DISTILLERY_TEST_SEED={seed}", file=sys.stderr)
        cls.rng = random.Random(seed)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def interrupted_run(self, stage, sig=signal.SIGKILL, last=150):
        """Starts the experiment and sends `sig` at a random step of `stage`."""
        ws = tempfile.mkdtemp(dir=self.dir)
        # Steps are reported every 5 of 250 per epoch: 50 reports an epoch, 200 a stage. The
        # last ones are left out: a fast stage could finish before the signal lands.
        target = self.rng.randint(1, last)
        p = subprocess.Popen([RUNNER, self.experiment, "--workspace", ws],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        metrics = None
        while time.time() < deadline and p.poll() is None:
            runs = glob.glob(os.path.join(ws, "runs", "*", "metrics.jsonl"))
            if runs:
                metrics = runs[0]
                if step_lines(metrics, stage) >= target:
                    break
            time.sleep(0.005)
        self.assertIsNone(p.poll(), f"the run ended before step report {target} of the {stage} stage")
        os.kill(p.pid, sig)
        p.wait()
        print(f"  {signal.Signals(sig).name} at step report {target} of the {stage} stage", file=sys.stderr)
        return os.path.dirname(metrics)

    def resume_and_compare(self, run_dir):
        r = subprocess.run([RUNNER, "--resume", run_dir], capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        ref_epochs, epochs = records(self.reference, "epoch"), records(run_dir, "epoch")
        # Each epoch once, in order, with the same numbers.
        self.assertEqual([(e["stage"], e["epoch"]) for e in epochs], [(e["stage"], e["epoch"]) for e in ref_epochs])
        self.assertEqual(epochs, ref_epochs)
        self.assertEqual(stage_results(run_dir), stage_results(self.reference))
        # The end-of-stage analysis too: the same logits, so the same figures.
        self.assertEqual(analysis(run_dir), analysis(self.reference))
        self.assertFalse(os.path.exists(os.path.join(run_dir, "lock")))

    def test_killed_in_each_stage_resumes_to_the_same_numbers(self):
        for stage in ["teacher", "baseline", "student"]:
            with self.subTest(stage=stage):
                run_dir = self.interrupted_run(stage)
                # The killed process left its lock behind; resuming takes it over.
                self.assertTrue(os.path.exists(os.path.join(run_dir, "lock")))
                self.resume_and_compare(run_dir)

    def test_stopped_with_ctrl_c_resumes(self):
        run_dir = self.interrupted_run("student", signal.SIGINT, last=100)
        with open(os.path.join(run_dir, "summary.json")) as f:
            self.assertEqual(json.load(f)["status"], "stopped")
        self.resume_and_compare(run_dir)

    def test_refusals(self):
        # A finished run.
        r = subprocess.run([RUNNER, "--resume", self.reference], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("nothing to resume", r.stderr)
        # A run another live process is writing.
        copy = os.path.join(self.dir, "locked")
        shutil.copytree(self.reference, copy)
        with open(os.path.join(copy, "summary.json")) as f:
            summary = json.load(f)
        summary["status"] = "running"
        with open(os.path.join(copy, "summary.json"), "w") as f:
            json.dump(summary, f)
        sleeper = subprocess.Popen(["sleep", "30"])
        try:
            with open(os.path.join(copy, "lock"), "w") as f:
                f.write(f"{sleeper.pid}\n")
            r = subprocess.run([RUNNER, "--resume", copy], capture_output=True, text=True)
            self.assertEqual(r.returncode, 2)
            self.assertIn(f"in use by process {sleeper.pid}", r.stderr)
            # The same pid with another start time: the pid was reused, the lock is stale.
            # (Every stage had finished, so the resume only writes the ending.)
            with open(os.path.join(copy, "lock"), "w") as f:
                f.write(f"{sleeper.pid} 1\n")
            r = subprocess.run([RUNNER, "--resume", copy], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            self.assertEqual(stage_results(copy), stage_results(self.reference))
            self.assertEqual(records(copy, "epoch"), records(self.reference, "epoch"))
        finally:
            sleeper.kill()
            sleeper.wait()
        # No such folder; and --set cannot change a resumed run.
        r = subprocess.run([RUNNER, "--resume", os.path.join(self.dir, "nope")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("no such run folder", r.stderr)
        r = subprocess.run([RUNNER, "--resume", copy, "--set", "seed=2"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)


class FailingWellTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="distillery-failing-")
        self.experiment = os.path.join(self.dir, "e.json")
        e = json.loads(json.dumps(EXPERIMENT))
        e["teacher"]["train"]["epochs"] = 1
        e["data"]["synthetic_train"] = 4000
        with open(self.experiment, "w") as f:
            json.dump(e, f)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_failing(self, workspace, *sets):
        args = [RUNNER, self.experiment, "--workspace", workspace]
        for s in sets:
            args += ["--set", s]
        r = subprocess.run(args, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 1, r.stderr[-2000:])
        error = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
        self.assertEqual(len(error), 1, r.stderr[-2000:])
        return error[0], glob.glob(os.path.join(workspace, "runs", "*"))

    def test_non_finite_loss_keeps_the_best_model(self):
        # The learning rate warms up to a value that diverges in the second epoch.
        ws = os.path.join(self.dir, "nan")
        error, runs = self.run_failing(ws, "student.train.lr=8", "student.train.warmup_epochs=4",
                                       "student.train.epochs=5", "student.model.dropout=0")
        self.assertRegex(error, r"baseline stage, epoch 2, step \d+: the loss is not finite")
        self.assertIn("learning rate too high", error)
        self.assertIn("best model so far (epoch 1) is kept in", error)
        with open(os.path.join(runs[0], "summary.json")) as f:
            summary = json.load(f)
        self.assertEqual(summary["status"], "failed")
        self.assertEqual(summary["stages"]["baseline"]["status"], "failed")
        # The kept model is usable: it exports (on purpose) and loads in PyTorch.
        out = os.path.join(self.dir, "export")
        r = subprocess.run([EXPORTER, runs[0], "--model", "baseline", "--out", out, "--formats", "torchscript"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("did not finish", r.stderr)
        r = subprocess.run([EXPORTER, runs[0], "--model", "baseline", "--out", out, "--formats", "torchscript",
                            "--unfinished", "--json"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        report = json.loads(r.stdout)
        self.assertIn("did not finish", report["note"])
        import torch
        model = torch.jit.load(os.path.join(out, "baseline.torchscript.pt"))
        self.assertTrue(torch.isfinite(model(torch.rand(3, 16))).all())

    def test_out_of_memory_names_the_batch_size(self):
        error, _ = self.run_failing(os.path.join(self.dir, "oom"),
                                    'student.model={"layers": [{"type": "linear", "out": 2000000000}, '
                                    '{"type": "linear", "out": 4}]}')
        self.assertIn("out of memory in the baseline stage", error)
        self.assertIn("student.train.batch_size 32", error)

    def test_vanished_run_folder(self):
        ws = os.path.join(self.dir, "vanish")
        p = subprocess.Popen([RUNNER, self.experiment, "--workspace", ws], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        run_dir = None
        while time.time() < deadline and p.poll() is None:
            runs = glob.glob(os.path.join(ws, "runs", "*", "metrics.jsonl"))
            if runs and step_lines(runs[0], "baseline") > 0:
                run_dir = os.path.dirname(runs[0])
                # Moved out of the workspace in one step, then deleted: the runner may
                # still be writing into it, which a plain rmtree would race with.
                gone = os.path.join(self.dir, "vanished-run")
                os.rename(os.path.dirname(runs[0]), gone)
                shutil.rmtree(gone, ignore_errors=True)
                break
            time.sleep(0.005)
        _, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 1, err)
        self.assertIn("cannot write", err)
        self.assertIn("disk full or folder gone", err)
        # Nothing of the run is made again (an analysis folder once was).
        self.assertIsNotNone(run_dir)
        self.assertFalse(os.path.exists(run_dir), os.listdir(run_dir) if os.path.exists(run_dir) else "")

    def test_full_disk(self):
        if os.geteuid() != 0 or not shutil.which("mount"):
            self.skipTest("needs root to mount a small tmpfs as a full disk")
        ws = os.path.join(self.dir, "small")
        os.makedirs(ws)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", ws],
                          capture_output=True).returncode != 0:
            self.skipTest("mounting a tmpfs is not allowed here")
        try:
            # The teacher's epoch checkpoints (about 300 KB each with Adam's moments) fill 600 KB.
            error, runs = self.run_failing(ws, "teacher.train.epochs=4")
            self.assertIn("disk full or folder gone", error)
            # What was written before is whole: the summary and config parse, and
            # metrics.jsonl holds whole lines.
            for name in ["summary.json", "config.json"]:
                with open(os.path.join(runs[0], name)) as f:
                    json.load(f)
            with open(os.path.join(runs[0], "metrics.jsonl")) as f:
                lines = f.read().splitlines()
            for line in lines[:-1]:
                json.loads(line)
            self.assertFalse(glob.glob(os.path.join(runs[0], "checkpoints", "*.tmp")))
        finally:
            subprocess.run(["umount", ws])


if __name__ == "__main__":
    RUNNER, EXPORTER = sys.argv[1], sys.argv[2]
    del sys.argv[1:3]
    unittest.main()
