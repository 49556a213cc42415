"""A run killed at a random step (SIGKILL, from another process) resumes with
`distillery-run --resume` to the same numbers as a run that was never
interrupted, and its metrics file holds each epoch once.

    python3 test_resume.py RUNNER [-v]
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

RUNNER = None

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
        finally:
            sleeper.kill()
            sleeper.wait()
        # No such folder; and --set cannot change a resumed run.
        r = subprocess.run([RUNNER, "--resume", os.path.join(self.dir, "nope")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("no such run folder", r.stderr)
        r = subprocess.run([RUNNER, "--resume", copy, "--set", "seed=2"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    RUNNER = sys.argv[1]
    del sys.argv[1:2]
    unittest.main()
