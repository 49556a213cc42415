"""Distillery's exports and imports checked from the Python side.

Runs distillery-run and distillery-export, then loads every exported file with
the tools people deploy with: torch.jit.load, onnx.checker and OpenCV's DNN
module (an ONNX runtime), and a strict reading of the safetensors format into
a PyTorch model built from the architecture file. Also trains a teacher in
PyTorch, saves it with torch.jit.save, and distils it into a Distillery student.

    python3 test_interop.py RUNNER EXPORTER [-v]
"""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
from typing import List

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

RUNNER = EXPORTER = None


def libtorch_major():
    """The major version of the LibTorch this build runs on (distillery-run --version says it)."""
    text = subprocess.run([RUNNER, "--version"], capture_output=True, text=True).stdout
    return int(text.split("(LibTorch ", 1)[1].split(".", 1)[0])


def build_formats():
    """The formats this build of distillery-export writes (its --help lists them)."""
    text = subprocess.run([EXPORTER, "--help"], capture_output=True, text=True).stdout
    listed = text.split("default: all of ", 1)[1].split(")", 1)[0]
    return set(listed.split(","))
FASHION = "/usr/share/datasets/fashion-mnist"

ALL_KINDS_IMAGE = [
    {"type": "conv2d", "out": 8, "kernel": 3}, {"type": "batchnorm"}, {"type": "relu"},
    {"type": "residual", "out": 8}, {"type": "residual", "out": 12, "stride": 2},
    {"type": "maxpool", "kernel": 2}, {"type": "conv2d", "out": 6, "kernel": 1, "bias": False},
    {"type": "gelu"}, {"type": "avgpool", "kernel": 2, "stride": 1}, {"type": "dropout", "p": 0.2},
    {"type": "flatten"}, {"type": "linear", "out": 16}, {"type": "batchnorm"}, {"type": "gelu"},
    {"type": "linear", "out": 4, "bias": False}]
GLOBAL_POOL_IMAGE = [
    {"type": "conv2d", "out": 8, "kernel": 5, "stride": 2, "padding": 1}, {"type": "relu"},
    {"type": "global-avgpool"}, {"type": "linear", "out": 4}]
VECTOR = [
    {"type": "linear", "out": 24}, {"type": "batchnorm"}, {"type": "gelu"}, {"type": "dropout", "p": 0.1},
    {"type": "linear", "out": 12, "bias": False}, {"type": "relu"}, {"type": "linear", "out": 4}]


def experiment(name, source, layers):
    return {
        "version": 1, "name": name, "seed": 5, "device": "cpu",
        "data": {"source": source, "synthetic_train": 600, "synthetic_test": 200,
                 "synthetic_classes": 4, "synthetic_features": 16},
        "teacher": {"model": {"preset": "mlp", "hidden": [32]},
                    "train": {"epochs": 1, "batch_size": 64, "optimizer": "adam", "lr": 0.003}},
        "student": {"model": {"layers": layers}, "train": {"epochs": 2, "batch_size": 64, "lr": 0.05}},
        "distillation": {"temperature": 4, "alpha": 0.5},
    }


def run(args, expect=0):
    p = subprocess.run(args, capture_output=True, text=True, timeout=600)
    if p.returncode != expect:
        raise AssertionError(f"{args[0]} exited {p.returncode}, expected {expect}\n"
                             f"stdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-3000:]}")
    return p


def run_experiment(workspace, exp, expect=0):
    path = os.path.join(workspace, exp["name"] + ".json")
    with open(path, "w") as f:
        json.dump(exp, f)
    p = run([RUNNER, path, "--workspace", workspace, "--json"], expect)
    events = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    return p, events


def read_safetensors(path):
    """A strict reading of the safetensors format: 8-byte little-endian header
    length, JSON header, then the data, every byte accounted for."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = data[8 + n:]
    meta = header.pop("__metadata__", {})
    assert all(isinstance(v, str) for v in meta.values()), "metadata values must be strings"
    dtypes = {"F32": np.float32, "I64": np.int64}
    tensors, spans = {}, []
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dt = dtypes[info["dtype"]]
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        assert end - begin == count * np.dtype(dt).itemsize, name
        tensors[name] = np.frombuffer(body[begin:end], dtype=dt).reshape(info["shape"]).copy()
        spans.append((begin, end))
    spans.sort()
    covered = 0
    for begin, end in spans:
        assert begin == covered, "tensor data must be contiguous"
        covered = end
    assert covered == len(body), "no bytes after the last tensor"
    return tensors, meta


class Residual(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.project = stride != 1 or cin != cout
        if self.project:
            self.projection = nn.Conv2d(cin, cout, 1, stride, bias=False)
            self.projection_bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (self.projection_bn(self.projection(x)) if self.project else x))


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return x.mean((2, 3))


class FromArchitecture(nn.Module):
    """The PyTorch equivalent of an exported architecture file."""

    def __init__(self, arch):
        super().__init__()
        shape = list(arch["input_shape"])
        layers = []
        for l in arch["layers"]:
            t = l["type"]
            if t == "linear":
                layers.append(nn.Linear(shape[0], l["out"], bias=l.get("bias", True)))
                shape = [l["out"]]
            elif t in ("conv2d", "residual"):
                k = 3 if t == "residual" else l.get("kernel", 3)
                s = l.get("stride", 1)
                p = 1 if t == "residual" else l.get("padding", k // 2)
                layers.append(nn.Conv2d(shape[0], l["out"], k, s, p, bias=l.get("bias", True)) if t == "conv2d"
                              else Residual(shape[0], l["out"], s))
                shape = [l["out"], (shape[1] + 2 * p - k) // s + 1, (shape[2] + 2 * p - k) // s + 1]
            elif t == "batchnorm":
                layers.append(nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0]))
            elif t == "relu":
                layers.append(nn.ReLU())
            elif t == "gelu":
                layers.append(nn.GELU())
            elif t == "dropout":
                layers.append(nn.Dropout(l.get("p", 0.5)))
            elif t in ("maxpool", "avgpool"):
                k = l.get("kernel", 2)
                s = l.get("stride", k)
                layers.append(nn.MaxPool2d(k, s) if t == "maxpool" else nn.AvgPool2d(k, s))
                shape = [shape[0], (shape[1] - k) // s + 1, (shape[2] - k) // s + 1]
            elif t == "global-avgpool":
                layers.append(GlobalAvgPool())
                shape = [shape[0]]
            elif t == "flatten":
                layers.append(nn.Flatten())
                shape = [int(np.prod(shape))]
            else:
                raise ValueError(t)
        self.layers = nn.Sequential(*layers)
        view = [-1, 1, 1] if len(arch["input_shape"]) == 3 else [-1]
        self.register_buffer("mean", torch.tensor(arch["normalisation"]["mean"], dtype=torch.float32).view(view))
        self.register_buffer("std", torch.tensor(arch["normalisation"]["std"], dtype=torch.float32).view(view))

    def forward(self, x):
        return self.layers((x - self.mean) / self.std)


class ExportTest(unittest.TestCase):
    """Each exported format, for students that together hold every layer kind."""

    @classmethod
    def setUpClass(cls):
        cls.workspace = tempfile.mkdtemp(prefix="distillery-interop-")
        cls.exports = {}
        for name, source, layers in [("images", "synthetic-images", ALL_KINDS_IMAGE),
                                     ("pooled", "synthetic-images", GLOBAL_POOL_IMAGE),
                                     ("vectors", "synthetic-vectors", VECTOR)]:
            _, events = run_experiment(cls.workspace, experiment(name, source, layers))
            run_dir = next(e["run_dir"] for e in events if e["event"] == "run_started")
            out = os.path.join(cls.workspace, "export-" + name)
            p = run([EXPORTER, run_dir, "--out", out, "--json"])
            report = json.loads(p.stdout)
            cls.exports[name] = (out, report, run_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.workspace, ignore_errors=True)

    def check_batch(self, out):
        tensors, meta = read_safetensors(os.path.join(out, "student-check.safetensors"))
        self.assertIn("batch", meta)
        return tensors["input"], tensors["logits"]

    def test_report_is_within_bounds(self):
        for name, (out, report, _) in self.exports.items():
            with self.subTest(model=name):
                self.assertTrue(report["ok"], report)
                formats = {f["format"] for f in report["files"]}
                self.assertEqual(formats, build_formats())
                self.assertTrue({"torchscript", "safetensors", "card"} <= formats)
                for f in report["files"]:
                    if f["format"] != "card":
                        self.assertLessEqual(f["max_abs_difference"], f["bound"])
                        self.assertEqual(f["agreeing_predictions"], f["samples"])
                    self.assertTrue(os.path.isfile(f["path"]))
                leftovers = [n for n in os.listdir(out) if n.endswith(".partial") or n.endswith(".tmp")]
                self.assertEqual(leftovers, [])

    def test_torchscript_in_python(self):
        for name, (out, _, _) in self.exports.items():
            with self.subTest(model=name):
                x, expected = self.check_batch(out)
                extra = {"distillery.json": ""}
                model = torch.jit.load(os.path.join(out, "student.torchscript.pt"), _extra_files=extra)
                self.assertIn("normalisation", json.loads(extra["distillery.json"]))
                with torch.no_grad():
                    y = model(torch.from_numpy(x)).numpy()
                self.assertLessEqual(np.abs(y - expected).max(), 1e-5)
                self.assertTrue((y.argmax(1) == expected.argmax(1)).all())
                # A different batch size works too (the batch dimension is free).
                with torch.no_grad():
                    self.assertEqual(tuple(model(torch.from_numpy(x[:3])).shape), (3, 4))

    def test_torchscript_features(self):
        """features(x) gives the model's taps, named by feature_names(); the
        last, the embedding, through the last linear layer is forward(x)."""
        expected = {"images": ["stage1", "stage2", "pool1", "pool2", "embedding"], "pooled": ["embedding"],
                    "vectors": ["embedding"]}
        for name, (out, _, _) in self.exports.items():
            with self.subTest(model=name):
                x, _ = self.check_batch(out)
                model = torch.jit.load(os.path.join(out, "student.torchscript.pt"))
                names = model.feature_names()
                self.assertEqual(names, expected[name])
                self.assertEqual(names[-1], "embedding")
                with torch.no_grad():
                    xs = torch.from_numpy(x)
                    features = model.features(xs)
                    logits = model(xs)
                self.assertEqual(len(features), len(names))
                self.assertTrue(all(f.shape[0] == len(x) for f in features))
                state = model.state_dict()
                last = max(int(k.split("_")[1]) for k in state if k.startswith("layers_"))
                bias = state.get(f"layers_{last}_bias")
                through = F.linear(features[-1], state[f"layers_{last}_weight"], bias)
                self.assertLessEqual((through - logits).abs().max().item(), 1e-5)

    def test_onnx_checker_and_opencv(self):
        if "onnx" not in build_formats():
            self.skipTest("this build of Distillery has no ONNX export (a LibTorch with protobuf headers of its own)")
        import onnx
        import cv2
        for name, (out, _, _) in self.exports.items():
            with self.subTest(model=name):
                path = os.path.join(out, "student.onnx")
                model = onnx.load(path)
                onnx.checker.check_model(model, full_check=True)
                self.assertGreaterEqual(model.opset_import[0].version, 13)
                x, expected = self.check_batch(out)
                net = cv2.dnn.readNetFromONNX(path)
                net.setInput(x)
                y = net.forward()
                self.assertLessEqual(np.abs(y - expected).max(), 1e-4)
                self.assertTrue((y.argmax(1) == expected.argmax(1)).all())

    def test_safetensors_into_pytorch(self):
        for name, (out, _, _) in self.exports.items():
            with self.subTest(model=name):
                tensors, meta = read_safetensors(os.path.join(out, "student.safetensors"))
                self.assertEqual(meta.get("format"), "pt")
                with open(os.path.join(out, "student.architecture.json")) as f:
                    arch = json.load(f)
                model = FromArchitecture(arch)
                state = {k: torch.from_numpy(v) for k, v in tensors.items()}
                missing, unexpected = model.load_state_dict(state, strict=False)
                self.assertEqual(unexpected, [])
                self.assertEqual(sorted(missing), ["mean", "std"])
                model.eval()
                x, expected = self.check_batch(out)
                with torch.no_grad():
                    y = model(torch.from_numpy(x)).numpy()
                self.assertLessEqual(np.abs(y - expected).max(), 1e-5)

    def test_model_card(self):
        out, _, run_dir = self.exports["images"]
        with open(os.path.join(out, "student-model-card.md")) as f:
            card = f.read()
        for needle in ["## Results", "Teacher", "Baseline student", "Distilled student", "temperature T = 4",
                       "α = 0.5", "Parameters", "Multiply-adds", os.path.basename(run_dir)] + \
                      (["student.onnx"] if "onnx" in build_formats() else []):
            self.assertIn(needle, card)
        png = os.path.join(out, "student-curves.png")
        if os.path.exists(png):
            with open(png, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
            self.assertIn("student-curves.png", card)
        else:
            self.assertIn("Not drawn", card)

    def test_model_card_analysis(self):
        """The card's Analysis section and its SVG figures, read with xml.etree,
        against the run's analysis/summary.json."""
        import xml.etree.ElementTree as ET
        rect = "{http://www.w3.org/2000/svg}rect"
        for name, (out, report, run_dir) in self.exports.items():
            with self.subTest(model=name):
                with open(os.path.join(run_dir, "analysis", "summary.json")) as f:
                    stages = {s["stage"]: s for s in json.load(f)["stages"]}
                with open(os.path.join(out, "student-model-card.md"), encoding="utf-8") as f:
                    card = f.read()
                student = stages["student"]
                self.assertIn("## Analysis", card)
                self.assertIn(f"| Test accuracy | {100 * student['accuracy']:.2f}% |", card)
                self.assertIn(f"| Brier score | {student['brier']:.4f} |", card)
                self.assertIn(f"| Agreement with the teacher | {100 * student['vs_teacher']['agreement']:.2f}% |", card)
                self.assertIn(f"| Fixed against the baseline (baseline wrong, student right) | "
                              f"{student['vs_baseline']['fixed']['count']} |", card)
                listed = {os.path.basename(f["path"]) for f in report["files"] if f["format"] == "card"}
                self.assertEqual(listed, {"student-model-card.md", "student-reliability.svg", "student-per-class.svg"})
                for svg in ("student-reliability.svg", "student-per-class.svg"):
                    self.assertIn(f"]({svg})", card)
                root = ET.parse(os.path.join(out, "student-reliability.svg")).getroot()
                self.assertEqual(root.tag, "{http://www.w3.org/2000/svg}svg")
                bars = [r for r in root.iter(rect) if r.get("class") == "bar accuracy"]
                filled = [b for b in student["calibration_bins"] if b["count"] > 0]
                self.assertEqual(len(bars), len(filled))
                for r, b in zip(bars, filled):
                    self.assertAlmostEqual(float(r.get("data-value")), b["accuracy"], places=12)
                    self.assertAlmostEqual(float(r.get("height")), 240 * b["accuracy"], delta=0.01)
                root = ET.parse(os.path.join(out, "student-per-class.svg")).getroot()
                for stage in ("teacher", "baseline", "student"):
                    bars = [r for r in root.iter(rect) if r.get("class") == "bar " + stage]
                    values = [v for v in stages[stage]["per_class_accuracy"] if v is not None]
                    self.assertEqual([float(r.get("data-value")) for r in bars], values)
                    for r, v in zip(bars, values):
                        self.assertAlmostEqual(float(r.get("height")), 240 * v, delta=0.01)

    def test_bad_requests(self):
        out, _, run_dir = self.exports["vectors"]
        # No such run.
        p = run([EXPORTER, os.path.join(self.workspace, "nope")], expect=2)
        self.assertIn("no such run folder", p.stderr)
        # An output folder that cannot be made (a file is in the way).
        blocker = os.path.join(self.workspace, "a-file")
        open(blocker, "w").close()
        p = run([EXPORTER, run_dir, "--out", os.path.join(blocker, "sub")], expect=2)
        self.assertIn("cannot create the output folder", p.stderr)
        # A run whose student did not finish.
        stopped = os.path.join(self.workspace, "stopped-run")
        shutil.copytree(run_dir, stopped)
        with open(os.path.join(stopped, "summary.json")) as f:
            summary = json.load(f)
        summary["stages"]["student"]["status"] = "stopped"
        with open(os.path.join(stopped, "summary.json"), "w") as f:
            json.dump(summary, f)
        target = os.path.join(self.workspace, "export-stopped")
        p = run([EXPORTER, stopped, "--out", target], expect=2)
        self.assertIn("did not finish", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(target, "student.onnx")))
        # An unknown format.
        p = run([EXPORTER, run_dir, "--formats", "tflite"], expect=2)
        self.assertIn("tflite", p.stderr)


class TwoInputs(nn.Module):
    def forward(self, x, y):
        return x + y


class TupleOut(nn.Module):
    def forward(self, x):
        return x, x


class FiveClasses(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        return self.fc(x)


class WithFeatures(nn.Module):
    """docs/EXPORT.md's example of a teacher for feature methods, for 16 features and 4 classes."""
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(16, 32), nn.ReLU())
        self.head = nn.Linear(32, 4)

    def forward(self, x):
        return self.head(self.body(x))

    @torch.jit.export
    def features(self, x) -> List[torch.Tensor]:
        return [self.body(x)]

    @torch.jit.export
    def feature_names(self) -> List[str]:
        return ["embedding"]


class LogitsOnly(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        return self.head(x)


class ImportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workspace = tempfile.mkdtemp(prefix="distillery-import-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.workspace, ignore_errors=True)

    def teacher_experiment(self, path, source="synthetic-vectors", **data):
        e = experiment("imported", source, [{"type": "linear", "out": 16}, {"type": "relu"},
                                            {"type": "linear", "out": 4}])
        e["teacher"] = {"source": "torchscript", "path": path}
        e["data"].update(data)
        return e

    def test_wrong_teachers_are_refused_before_training(self):
        cases = {
            "not-torchscript.pt": (None, "not a TorchScript file"),
            "two-inputs.pt": (TwoInputs(), "forward must take one tensor and return one tensor"),
            "tuple-out.pt": (TupleOut(), "forward must take one tensor and return one tensor"),
            "five-classes.pt": (FiveClasses(), "the data set has 4 classes"),
            # Found by fuzz_model_files: LibTorch 1.13's TorchScript loader
            # crashes on it (in another process, so the crash is reported);
            # 2.x refuses it.
            "crashes-libtorch.pt": (os.path.join(os.path.dirname(__file__), "..", "..", "fuzz", "regressions",
                                                 "fuzz_model_files", "torchscript-crashes-libtorch-parser.pt"),
                                    "damaged or not TorchScript" if libtorch_major() == 1 else "not a TorchScript file"),
        }
        for name, (module, message) in cases.items():
            with self.subTest(teacher=name):
                path = os.path.join(self.workspace, name)
                if module is None:
                    with open(path, "wb") as f:
                        f.write(os.urandom(4096))
                elif isinstance(module, str):
                    shutil.copy(module, path)
                else:
                    torch.jit.save(torch.jit.script(module), path)
                runs = os.path.join(self.workspace, "runs")
                before = len(os.listdir(runs)) if os.path.isdir(runs) else 0
                p, _ = run_experiment(self.workspace, dict(self.teacher_experiment(path), name="bad"), expect=2)
                error = next(e["message"] for e in map(json.loads, p.stdout.splitlines()) if e["event"] == "error")
                self.assertIn("teacher.path", error)
                self.assertIn(message, error)
                after = len(os.listdir(runs)) if os.path.isdir(runs) else 0
                self.assertEqual(before, after, "no run folder for a refused teacher")

    def test_feature_teachers(self):
        """A module with features(x) (docs/EXPORT.md's example) teaches RKD; a
        Distillery export teaches attention transfer; a module without
        features is refused for a feature method before anything trains."""
        path = os.path.join(self.workspace, "feature-teacher.pt")
        torch.manual_seed(0)
        torch.jit.save(torch.jit.script(WithFeatures()), path)
        e = self.teacher_experiment(path)
        e["name"] = "rkd-import"
        e["distillation"] = {"method": "rkd", "temperature": 4}
        _, events = run_experiment(self.workspace, e)
        results = {ev["stage"]: ev for ev in events if ev["event"] == "stage_finished"}
        self.assertEqual(results["student"]["status"], "finished")
        steps = [ev for ev in events if ev["event"] == "step" and ev["stage"] == "student"]
        self.assertIn("distance", steps[-1]["parts"])

        plain = os.path.join(self.workspace, "logits-only.pt")
        torch.jit.save(torch.jit.script(LogitsOnly()), plain)
        p, _ = run_experiment(self.workspace, dict(self.teacher_experiment(plain), name="bad-rkd",
                                                    distillation={"method": "rkd"}), expect=2)
        error = next(ev["message"] for ev in map(json.loads, p.stdout.splitlines()) if ev["event"] == "error")
        self.assertIn("has no method features(x)", error)

        # A Distillery run's exported teacher, imported to teach AT to a conv student.
        images = {"source": "synthetic-images", "synthetic_train": 600, "synthetic_test": 200,
                  "synthetic_classes": 4, "synthetic_features": 12}
        first = experiment("conv-teacher", "synthetic-images", [])
        first["data"] = images
        first["teacher"]["model"] = {"preset": "cnn-small"}
        first["student"]["model"] = {"preset": "cnn-small"}
        _, events = run_experiment(self.workspace, first)
        run_dir = next(ev["run_dir"] for ev in events if ev["event"] == "run_started")
        out = os.path.join(self.workspace, "conv-teacher-export")
        run([EXPORTER, run_dir, "--out", out, "--model", "teacher", "--json"])
        exported = next(os.path.join(out, f) for f in os.listdir(out) if f.endswith(".torchscript.pt"))
        second = dict(first, name="at-import", distillation={"method": "at", "params": {"beta": 50}})
        second["teacher"] = {"source": "torchscript", "path": exported}
        _, events = run_experiment(self.workspace, second)
        results = {ev["stage"]: ev for ev in events if ev["event"] == "stage_finished"}
        self.assertEqual(results["student"]["status"], "finished")
        started = next(ev for ev in events if ev["event"] == "stage_started" and ev["stage"] == "student")
        self.assertEqual(started["teacher_cache"], "exact")  # its features are cached like a Distillery teacher's

    def test_teacher_trained_in_pytorch_distils(self):
        images = os.path.join(FASHION, "train-images-idx3-ubyte.gz")
        if not os.path.exists(images):
            self.skipTest(f"{images} is missing (install dataset-fashion-mnist)")
        import gzip
        with gzip.open(images) as f:
            x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
        with gzip.open(os.path.join(FASHION, "train-labels-idx1-ubyte.gz")) as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8)
        torch.manual_seed(0)
        # A PyTorch teacher of its own design, taking raw pixels in [0, 1] as
        # Distillery reads them, and normalising inside.
        teacher = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                nn.Flatten(), nn.Linear(16 * 14 * 14, 64), nn.ReLU(), nn.Linear(64, 10))
        xs = torch.from_numpy(x[:12000].astype(np.float32) / 255.0)
        ys = torch.from_numpy(y[:12000].astype(np.int64))
        opt = torch.optim.Adam(teacher.parameters(), 2e-3)
        for _ in range(2):
            perm = torch.randperm(len(xs))
            for i in range(0, len(xs), 128):
                idx = perm[i:i + 128]
                loss = F.cross_entropy(teacher((xs[idx] - 0.286) / 0.353), ys[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()

        class Normalised(nn.Module):
            def __init__(self, net):
                super().__init__()
                self.net = net

            def forward(self, x):
                return self.net((x - 0.286) / 0.353)

        teacher.eval()
        path = os.path.join(self.workspace, "fashion-teacher.pt")
        torch.jit.save(torch.jit.script(Normalised(teacher)), path)

        e = experiment("fashion-import", "fashion-mnist", [{"type": "flatten"}, {"type": "linear", "out": 32},
                                                           {"type": "relu"}, {"type": "linear", "out": 10}])
        e["data"] = {"source": "fashion-mnist", "train_limit": 6000}
        e["teacher"] = {"source": "torchscript", "path": path}
        e["student"]["train"] = {"epochs": 2, "batch_size": 64, "lr": 0.05}
        _, events = run_experiment(self.workspace, e)
        results = {ev["stage"]: ev for ev in events if ev["event"] == "stage_finished"}
        self.assertGreater(results["teacher"]["test_accuracy"], 0.75)
        self.assertEqual(results["student"]["status"], "finished")
        self.assertGreater(results["student"]["test_accuracy"], 0.6)
        run_dir = next(ev["run_dir"] for ev in events if ev["event"] == "run_started")
        # The imported teacher was never trained or copied: it has no checkpoint of its own.
        self.assertFalse(os.path.exists(os.path.join(run_dir, "checkpoints", "teacher.pt")))
        # Its student exports like any other.
        out = os.path.join(self.workspace, "export-fashion")
        report = json.loads(run([EXPORTER, run_dir, "--out", out, "--json"]).stdout)
        self.assertTrue(report["ok"], report)
        self.assertIn("test samples", report["batch"])


if __name__ == "__main__":
    RUNNER, EXPORTER = sys.argv[1], sys.argv[2]
    del sys.argv[1:3]
    unittest.main()
