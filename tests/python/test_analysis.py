"""A run's analysis/ folder recomputed from outside, with numpy.

Runs a short synthetic experiment with distillery-run, reads each stage's
analysis/<stage>.logits (logits and labels) with numpy, recomputes every figure
of analysis/summary.json (accuracy, per-class accuracy, confusion, NLL, Brier
score, ECE and its 15 bins, agreement and KL with the teacher overall and per
class, the four quadrants, fixed and broken) and the dark-knowledge matrix
printed by distillery-report --json at two temperatures, all to 1e-6; and the
training dynamics of each stage (analysis/<stage>.dynamics) with the data map
that distillery-report --json --data-map prints from them.

    python3 test_analysis.py RUNNER REPORTER [-v]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

RUNNER = REPORTER = None
EXPERIMENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resources", "experiments",
                          "synthetic-demo.json")
TOL = 1e-6
BINS = 15


def read_logits(path):
    """The documented format: magic, version, N, K, int64 indices, int64 labels, float32 logits."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"DSTLOGIT", path
    version, _ = np.frombuffer(data, "<u4", 2, 8)
    assert version == 1
    n, k = (int(v) for v in np.frombuffer(data, "<i8", 2, 16))
    assert len(data) == 32 + 16 * n + 4 * n * k, path
    indices = np.frombuffer(data, "<i8", n, 32)
    labels = np.frombuffer(data, "<i8", n, 32 + 8 * n)
    logits = np.frombuffer(data, "<f4", n * k, 32 + 16 * n).reshape(n, k)
    return indices, labels, logits.astype(np.float64)


def read_dynamics(path):
    """The documented format: magic, version, N, E, int64 rows, int64 labels, float32 E×N, uint8 E×N."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"DSTDYNAM", path
    assert np.frombuffer(data, "<u4", 1, 8)[0] == 1
    n, e = (int(v) for v in np.frombuffer(data, "<i8", 2, 16))
    assert len(data) == 32 + 16 * n + 5 * n * e, path
    rows = np.frombuffer(data, "<i8", n, 32)
    labels = np.frombuffer(data, "<i8", n, 32 + 8 * n)
    prob = np.frombuffer(data, "<f4", n * e, 32 + 16 * n).reshape(e, n).astype(np.float64)
    correct = np.frombuffer(data, "u1", n * e, 32 + 16 * n + 4 * n * e).reshape(e, n)
    return rows, labels, prob, correct


def log_softmax(z, t=1.0):
    z = z / t
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def per_class(values, labels, k):
    out = []
    for c in range(k):
        sel = labels == c
        out.append(values[sel].mean() if sel.any() else None)
    return out


def example_set(mask, indices, labels, k):
    return {"count": int(mask.sum()), "per_class": [int((mask & (labels == c)).sum()) for c in range(k)],
            "indices": [int(i) for i in indices[mask]]}


def run(args, expect=0):
    p = subprocess.run(args, capture_output=True, text=True, timeout=600)
    if p.returncode != expect:
        raise AssertionError(f"{args[0]} exited {p.returncode}, expected {expect}\n"
                             f"stdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-3000:]}")
    return p


class TestAnalysis(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="distillery-analysis-")
        run([RUNNER, EXPERIMENT, "--workspace", cls.tmp, "--set", "teacher.train.epochs=2",
             "--set", "student.train.epochs=2", "--set", "distillation.temperature=3", "--set", "device=cpu",
             # 15 batches of 64 and a last one of a single example, which is dropped
             "--set", "data.student_train_size=961"])
        runs = os.path.join(cls.tmp, "runs")
        cls.run_dir = os.path.join(runs, sorted(os.listdir(runs))[-1])
        with open(os.path.join(cls.run_dir, "analysis", "summary.json")) as f:
            cls.summary = json.load(f)
        cls.stages = {s["stage"]: s for s in cls.summary["stages"]}
        cls.logits = {name: read_logits(os.path.join(cls.run_dir, "analysis", s["logits"]))
                      for name, s in cls.stages.items()}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def close(self, a, b, what):
        a = np.array(a, dtype=object)
        b = np.array(b, dtype=object)
        self.assertEqual(a.shape, b.shape, what)
        for x, y in zip(a.ravel(), b.ravel()):
            if x is None or y is None or (isinstance(y, float) and np.isnan(y)):
                self.assertTrue((x is None or np.isnan(x)) and (y is None or np.isnan(y)), f"{what}: {x} vs {y}")
            else:
                self.assertLessEqual(abs(float(x) - float(y)), TOL, f"{what}: {x} vs {y}")

    def test_stages_and_files(self):
        self.assertEqual([s["stage"] for s in self.summary["stages"]], ["teacher", "baseline", "student"])
        self.assertEqual(self.summary["temperature"], 3)
        for name, (indices, labels, logits) in self.logits.items():
            self.assertEqual(logits.shape, (1000, 4), name)
            np.testing.assert_array_equal(indices, np.arange(1000))
            np.testing.assert_array_equal(labels, self.logits["teacher"][1])

    def test_figures_of_each_stage(self):
        for name, s in self.stages.items():
            _, y, z = self.logits[name]
            n, k = z.shape
            lp = log_softmax(z)
            p = np.exp(lp)
            pred = z.argmax(axis=1)
            right = pred == y
            self.close(s["accuracy"], right.mean(), f"{name} accuracy")
            self.close(s["per_class_accuracy"], per_class(right.astype(float), y, k), f"{name} per class")
            confusion = np.zeros((k, k), dtype=int)
            np.add.at(confusion, (y, pred), 1)
            self.assertEqual(s["confusion"], confusion.tolist(), name)
            self.assertEqual(s["class_counts"], np.bincount(y, minlength=k).tolist(), name)
            self.close(s["nll"], -lp[np.arange(n), y].mean(), f"{name} nll")
            self.close(s["brier"], ((p - np.eye(k)[y]) ** 2).sum(axis=1).mean(), f"{name} brier")
            conf = np.exp(lp[np.arange(n), pred])
            b = np.clip(np.ceil(conf * BINS).astype(int) - 1, 0, BINS - 1)
            ece = 0.0
            for i, bin_ in enumerate(s["calibration_bins"]):
                sel = b == i
                self.assertEqual(bin_["count"], int(sel.sum()), f"{name} bin {i}")
                self.close([bin_["lower"], bin_["upper"]], [i / BINS, (i + 1) / BINS], f"{name} bin {i} edges")
                if sel.any():
                    self.close([bin_["accuracy"], bin_["confidence"]], [right[sel].mean(), conf[sel].mean()],
                               f"{name} bin {i}")
                    ece += sel.sum() / n * abs(right[sel].mean() - conf[sel].mean())
                else:
                    self.assertIsNone(bin_["accuracy"])
            self.close(s["ece"], ece, f"{name} ece")
            self.assertGreater(s["latency"]["median_ms"], 0)
            self.assertGreater(s["parameters"], 0)

    def test_against_the_teacher(self):
        _, y, t = self.logits["teacher"]
        lt = log_softmax(t)
        self.assertNotIn("vs_teacher", self.stages["teacher"])
        for name in ("baseline", "student"):
            idx, _, z = self.logits[name]
            k = z.shape[1]
            v = self.stages[name]["vs_teacher"]
            kl = (np.exp(lt) * (lt - log_softmax(z))).sum(axis=1)
            agree = (t.argmax(1) == z.argmax(1)).astype(float)
            self.close(v["agreement"], agree.mean(), f"{name} agreement")
            self.close(v["kl"], kl.mean(), f"{name} kl")
            self.close(v["agreement_per_class"], per_class(agree, y, k), f"{name} agreement per class")
            self.close(v["kl_per_class"], per_class(kl, y, k), f"{name} kl per class")
            tr, mr = t.argmax(1) == y, z.argmax(1) == y
            q = v["quadrants"]
            self.assertEqual(q["both_right"], example_set(tr & mr, idx, y, k))
            self.assertEqual(q["teacher_only"], example_set(tr & ~mr, idx, y, k))
            self.assertEqual(q["model_only"], example_set(~tr & mr, idx, y, k))
            self.assertEqual(q["both_wrong"], example_set(~tr & ~mr, idx, y, k))
        self.assertNotIn("vs_baseline", self.stages["baseline"])

    def test_student_against_the_baseline(self):
        idx, y, s = self.logits["student"]
        _, _, b = self.logits["baseline"]
        sr, br = s.argmax(1) == y, b.argmax(1) == y
        v = self.stages["student"]["vs_baseline"]
        self.assertEqual(v["fixed"], example_set(~br & sr, idx, y, 4))
        self.assertEqual(v["broken"], example_set(br & ~sr, idx, y, 4))

    def test_dark_knowledge_from_the_report(self):
        _, y, t = self.logits["teacher"]
        for temperature in (None, 7.5):
            args = [REPORTER, self.run_dir, "--json"] + ([] if temperature is None else
                                                         ["--temperature", str(temperature)])
            report = json.loads(run(args).stdout)
            dk = report["dark_knowledge"]
            expected_t = 3 if temperature is None else temperature
            self.assertEqual(dk["temperature"], expected_t)
            p = np.exp(log_softmax(t, expected_t))
            m = np.array([p[y == c].mean(axis=0) for c in range(4)])
            self.close(dk["matrix"], m, f"dark knowledge at T={expected_t}")
            self.close(np.array(dk["matrix"]).sum(axis=1), np.ones(4), "rows sum to 1")
            self.assertEqual(report["stages"], self.summary["stages"])

    def test_training_dynamics(self):
        d = {name: read_dynamics(os.path.join(self.run_dir, "analysis", name + ".dynamics"))
             for name in ("teacher", "baseline", "student")}
        rows, labels, prob, correct = d["teacher"]
        self.assertEqual(prob.shape, (2, 3600))
        np.testing.assert_array_equal(rows, np.arange(3600))
        self.assertFalse((correct == 255).any(), "the teacher sees every example in every epoch")
        for name in ("baseline", "student"):
            r, y, p, c = d[name]
            self.assertEqual(p.shape, (2, 961), name)
            self.assertEqual(len(set(r.tolist())), 961, f"{name}: the transfer set's rows, each once")
            np.testing.assert_array_equal(y, labels[r], f"{name}: labels of the training split's rows")
            np.testing.assert_array_equal((c == 255).sum(axis=1), [1, 1], f"{name}: the dropped example")
            np.testing.assert_array_equal(np.isnan(p), c == 255)
        np.testing.assert_array_equal(d["baseline"][0], d["student"][0])
        for name, (_, _, p, c) in d.items():
            seen = c != 255
            self.assertTrue(((p[seen] >= 0) & (p[seen] <= 1)).all(), name)
            self.assertTrue((p[c == 1] >= 1 / 4 - 1e-6).all(), f"{name}: right means the true class is largest")

    def test_data_map_from_the_report(self):
        report = json.loads(run([REPORTER, self.run_dir, "--json", "--data-map"]).stdout)
        for name in ("teacher", "baseline", "student"):
            rows, _, p, c = read_dynamics(os.path.join(self.run_dir, "analysis", name + ".dynamics"))
            seen = c != 255
            count = seen.sum(axis=0)
            conf = np.where(seen, p, 0).sum(axis=0) / count
            var = np.sqrt(np.where(seen, (p - conf) ** 2, 0).sum(axis=0) / count)
            right = np.where(seen, c, 0).sum(axis=0) / count
            m = report["data_map"][name]
            self.assertEqual((m["examples"], m["epochs"]), (len(rows), 2))
            self.assertEqual(m["train_rows"], rows.tolist())
            self.close(m["confidence"], conf, f"{name} confidence")
            self.close(m["variability"], var, f"{name} variability")
            self.close(m["correctness"], right, f"{name} correctness")
            self.close([m["mean_confidence"], m["mean_variability"]], [conf.mean(), var.mean()], name)
            self.assertEqual((m["always_right"], m["never_right"]), (int((right == 1).sum()), int((right == 0).sum())))
        out = run([REPORTER, self.run_dir]).stdout
        self.assertIn("data map of the training split", out)

    def test_report_tables_and_old_runs(self):
        out = run([REPORTER, self.run_dir]).stdout
        for word in ("teacher", "baseline", "student", "ECE", "fixed", "broken", "dark knowledge"):
            self.assertIn(word, out)
        old = os.path.join(self.tmp, "old-run")
        shutil.copytree(self.run_dir, old, ignore=shutil.ignore_patterns("analysis"))
        p = run([REPORTER, old], expect=2)
        self.assertIn(f"no analysis in {old}: re-run it", p.stderr)
        damaged = os.path.join(self.tmp, "damaged-run")
        shutil.copytree(self.run_dir, damaged)
        with open(os.path.join(damaged, "analysis", "summary.json"), "w") as f:
            f.write('{"version": 1, "stages": 3}')
        p = run([REPORTER, damaged], expect=2)
        self.assertIn(os.path.join(damaged, "analysis", "summary.json"), p.stderr)

    def test_dark_knowledge_needs_the_teacher_of_the_method(self):
        # A run whose teacher's logits are lost says which file is missing ...
        lost = os.path.join(self.tmp, "lost-teacher")
        shutil.copytree(self.run_dir, lost)
        os.remove(os.path.join(lost, "analysis", "teacher.logits"))
        dk = json.loads(run([REPORTER, lost, "--json"]).stdout)["dark_knowledge"]
        self.assertIn(os.path.join(lost, "analysis", "teacher.logits"), dk["error"])
        self.assertEqual(dk["matrix"], [])
        # ... and one of mutual learning has none to show, by its method.
        ws = os.path.join(self.tmp, "cohort")
        run([RUNNER, EXPERIMENT, "--workspace", ws, "--set", "distillation.method=dml", "--set", "baseline=false",
             "--set", "student.train.epochs=1", "--set", "device=cpu"])
        cohort = os.path.join(ws, "runs", os.listdir(os.path.join(ws, "runs"))[0])
        dk = json.loads(run([REPORTER, cohort, "--json"]).stdout)["dark_knowledge"]
        self.assertEqual(dk["error"], "none: the run has no teacher (dml)")
        self.assertIn("none: the run has no teacher (dml)", run([REPORTER, cohort]).stdout)


if __name__ == "__main__":
    RUNNER, REPORTER = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:])
