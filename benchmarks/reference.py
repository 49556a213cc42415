#!/usr/bin/python3
"""The PyTorch script a user would write for the same cases as bench_distill:
same layers, batch, optimiser, loss, data held as one tensor. Prints one JSON
object per case. Run with Debian's python3-torch (/usr/bin/python3), which is
the same LibTorch 1.13 as Distillery links.

  /usr/bin/python3 benchmarks/reference.py --case b-cnn-mlp-online [--threads N] [--seconds S]
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp(hidden, classes=10):
    layers, width = [nn.Flatten()], 784
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, classes))


def cnn_large(classes=10):
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, classes))


def cnn_small(classes=10):
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, classes))


def with_taps(model, x, taps):
    """The logits and the outputs of the layers at `taps` (indices into the
    Sequential): the forward a user writes to get features without hooks."""
    features = []
    for i, layer in enumerate(model):
        x = layer(x)
        if i in taps:
            features.append(x)
    return x, features


POOLS = {"cnn_large": (3, 7), "cnn_small": (2, 5)}  # the MaxPool2d layers: pool1 and pool2


def at_map(f, p=2):
    return F.normalize(f.pow(p).mean(1).view(f.size(0), -1))


def at_loss(f_s, f_t):
    """RepDistiller's Attention.at_loss, for maps of equal size."""
    return (at_map(f_s) - at_map(f_t)).pow(2).mean()


CASES = {
    "a-hinton-online": (lambda: mlp([1200, 1200]), lambda: mlp([800, 800]), False, False),
    "b-cnn-mlp-online": (cnn_large, lambda: mlp([128]), False, False),
    "b-cnn-mlp-cached": (cnn_large, lambda: mlp([128]), True, False),
    "c-tiny-online": (lambda: mlp([256]), lambda: mlp([64]), False, False),
    "c-tiny-cached": (lambda: mlp([256]), lambda: mlp([64]), True, False),
    "d-eval-cnn": (cnn_large, lambda: mlp([64]), False, True),
    "e-cnn-mlp-aug-online": (cnn_large, lambda: mlp([128]), False, False),
    "e-cnn-mlp-aug-cached": (cnn_large, lambda: mlp([128]), True, False),
    "f-cnn-cnn-kd-online": (cnn_large, cnn_small, False, False),
    "f-cnn-cnn-at-online": (cnn_large, cnn_small, False, False),
}
# Attention transfer on both pools: CE + 1000·Σ AT, the teacher run per batch.
ATTENTION = {"f-cnn-cnn-at-online"}
# Cases whose students see augmented batches: a random crop after 2 pixels of
# zero padding and a horizontal flip at even odds, drawn per sample.
AUGMENTED = {"e-cnn-mlp-aug-online", "e-cnn-mlp-aug-cached"}


def crop_and_flip(x, padding=2):
    """A batch's random crops and flips, without a per-sample loop."""
    b, c, h, w = x.shape
    padded = F.pad(x, (padding, padding, padding, padding))
    top = torch.randint(0, 2 * padding + 1, (b,), device=x.device)
    left = torch.randint(0, 2 * padding + 1, (b,), device=x.device)
    rows = (top.view(b, 1) + torch.arange(h, device=x.device)).view(b, 1, h, 1).expand(b, c, h, w + 2 * padding)
    cols = (left.view(b, 1) + torch.arange(w, device=x.device)).view(b, 1, 1, w).expand(b, c, h, w)
    out = padded.gather(2, rows).gather(3, cols)
    flip = torch.rand(b, device=x.device) < 0.5
    return torch.where(flip.view(b, 1, 1, 1), out.flip(3), out)


EVAL_BATCH = 256  # as Distillery's evaluation and teacher cache


def kd_loss(s, t, y, T=4.0, alpha=0.5):
    soft = F.kl_div(F.log_softmax(s / T, 1), F.log_softmax(t / T, 1), reduction="batchmean", log_target=True) * T * T
    hard = F.cross_entropy(s, y)
    return alpha * soft + (1 - alpha) * hard, soft, hard


def run(name, seconds, batch=128, rows=8192, device="cpu", bf16=False):
    make_teacher, make_student, cached, inference = CASES[name]
    torch.manual_seed(0)
    x = torch.randn(rows, 1, 28, 28, device=device)
    y = torch.randint(10, (rows,), device=device)
    teacher = make_teacher().to(device).eval()
    autocast = lambda: torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16)

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()
    for p in teacher.parameters():
        p.requires_grad_(False)
    if inference:
        def one_pass():
            with torch.inference_mode(), autocast():
                for i in range(0, rows, EVAL_BATCH):
                    teacher(x[i:i + EVAL_BATCH]).argmax(1)
        one_pass()
        sync()
        samples, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            one_pass()
            samples += rows
        sync()
        return samples / (time.perf_counter() - t0)

    student = make_student().to(device)
    opt = torch.optim.SGD(student.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    cache = None
    if cached:
        with torch.no_grad(), autocast():
            cache = torch.cat([teacher(x[i:i + EVAL_BATCH]).float() for i in range(0, rows, EVAL_BATCH)])
    acc = torch.zeros(4, dtype=torch.float64, device=device)
    state = {"perm": torch.randperm(rows, device=device), "b": 0}
    steps = rows // batch

    def step():
        if state["b"] == steps:
            state["perm"], state["b"] = torch.randperm(rows, device=device), 0
        idx = state["perm"][state["b"] * batch:(state["b"] + 1) * batch]
        state["b"] += 1
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        if name in AUGMENTED:
            xb = crop_and_flip(xb)
        if name in ATTENTION:
            with autocast():
                out, fs = with_taps(student, xb, POOLS["cnn_small"])
                with torch.no_grad():
                    _, ft = with_taps(teacher, xb, POOLS["cnn_large"])
            soft = sum(at_loss(a.float(), b.float()) for a, b in zip(fs, ft))
            hard = F.cross_entropy(out.float(), yb)
            total = hard + 1000 * soft
        else:
            with autocast():
                out = student(xb)
                if cache is not None:
                    t = cache.index_select(0, idx)
                else:
                    with torch.no_grad():
                        t = teacher(xb)
            total, soft, hard = kd_loss(out.float(), t.float(), yb)
        opt.zero_grad()
        total.backward()
        opt.step()
        with torch.no_grad():
            acc.add_(torch.stack([total.double() * batch, soft.double() * batch, hard.double() * batch,
                                  out.argmax(1).eq(yb).sum().double()]))

    for _ in range(5):
        step()
    samples, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        samples += batch
    acc.sum().item()
    sync()
    return samples / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--case", action="append", choices=sorted(CASES))
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave the default)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--bf16", action="store_true", help="forward passes under bfloat16 autocast")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for name in args.case or sorted(CASES):
        sps = run(name, args.seconds, device=args.device, bf16=args.bf16)
        print(json.dumps({"case": name, "samples_per_second": sps, "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
