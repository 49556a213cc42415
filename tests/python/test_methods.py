#!/usr/bin/env python3
"""Every distillation method against a transcription of its reference code.

For fixed random logits, the loss, its parts and its gradient with respect to
the student's logits are computed here in PyTorch (float64, autograd), written
the way each method's reference implementation writes them, and compared with
Distillery's (tests/methods/method_probe.cpp) to 1e-5 relative.

    /usr/bin/python3 tests/python/test_methods.py build/tests/method_probe [-v]
"""
import json
import subprocess
import sys
import unittest

import torch
import torch.nn.functional as F

PROBE = None
RTOL, ATOL = 1e-5, 1e-10


# --- Transcriptions -----------------------------------------------------------

def normalize(logit):
    """logit-standardization-KD: z-score per row (torch.std: unbiased)."""
    mean = logit.mean(dim=-1, keepdims=True)
    stdv = logit.std(dim=-1, keepdims=True)
    return (logit - mean) / (1e-7 + stdv)


def kd(s, t, y, T, alpha, standardize=False):
    """Hinton et al. 2015, as Distillery defines it (kl_div batchmean, T^2),
    with logit standardisation as in Sun et al.'s kd_loss."""
    ss, ts = (normalize(s), normalize(t)) if standardize else (s, t)
    log_ps = F.log_softmax(ss / T, dim=1)
    p_t = F.softmax(ts / T, dim=1)
    soft = F.kl_div(log_ps, p_t, reduction="none").sum(1).mean() * T ** 2
    hard = F.cross_entropy(s, y)
    return alpha * soft + (1 - alpha) * hard, {"soft": soft, "hard": hard}


def _gt_mask(logits, target):
    return torch.zeros_like(logits).scatter_(1, target.reshape(-1).unsqueeze(1), 1).bool()


def _other_mask(logits, target):
    return torch.ones_like(logits).scatter_(1, target.reshape(-1).unsqueeze(1), 0).bool()


def cat_mask(t, mask1, mask2):
    t1 = (t * mask1).sum(dim=1, keepdims=True)
    t2 = (t * mask2).sum(1, keepdims=True)
    return torch.cat([t1, t2], dim=1)


def dkd_terms(logits_student, logits_teacher, target, temperature):
    """mdistiller's dkd_loss, split into its two terms."""
    gt_mask = _gt_mask(logits_student, target)
    other_mask = _other_mask(logits_student, target)
    pred_student = F.softmax(logits_student / temperature, dim=1)
    pred_teacher = F.softmax(logits_teacher / temperature, dim=1)
    pred_student = cat_mask(pred_student, gt_mask, other_mask)
    pred_teacher = cat_mask(pred_teacher, gt_mask, other_mask)
    log_pred_student = torch.log(pred_student)
    tckd_loss = F.kl_div(log_pred_student, pred_teacher, reduction="sum") * (temperature ** 2) / target.shape[0]
    pred_teacher_part2 = F.softmax(logits_teacher / temperature - 1000.0 * gt_mask, dim=1)
    log_pred_student_part2 = F.log_softmax(logits_student / temperature - 1000.0 * gt_mask, dim=1)
    nckd_loss = F.kl_div(log_pred_student_part2, pred_teacher_part2, reduction="sum") * (temperature ** 2) \
        / target.shape[0]
    return tckd_loss, nckd_loss


def dkd(s, t, y, T, epoch, ce=1.0, alpha=1.0, beta=8.0, warmup=20.0, standardize=False):
    ss, ts = (normalize(s), normalize(t)) if standardize else (s, t)
    tckd, nckd = dkd_terms(ss, ts, y, T)
    ramp = min(epoch / warmup, 1.0) if warmup > 0 else 1.0
    hard = F.cross_entropy(s, y)
    return ce * hard + ramp * (alpha * tckd + beta * nckd), {"tckd": tckd, "nckd": nckd, "hard": hard}


def cosine_similarity(a, b, eps=1e-8):
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + eps)


def pearson_correlation(a, b, eps=1e-8):
    return cosine_similarity(a - a.mean(1).unsqueeze(1), b - b.mean(1).unsqueeze(1), eps)


def inter_class_relation(y_s, y_t):
    return 1 - pearson_correlation(y_s, y_t).mean()


def intra_class_relation(y_s, y_t):
    return inter_class_relation(y_s.transpose(0, 1), y_t.transpose(0, 1))


def dist(s, t, y, T, ce=1.0, beta=1.0, gamma=1.0):
    """DIST_KD's DIST module, plus the cross-entropy its training adds."""
    y_s = (s / T).softmax(dim=1)
    y_t = (t / T).softmax(dim=1)
    inter = T ** 2 * inter_class_relation(y_s, y_t)
    intra = T ** 2 * intra_class_relation(y_s, y_t)
    hard = F.cross_entropy(s, y)
    return ce * hard + beta * inter + gamma * intra, {"inter": inter, "intra": intra, "hard": hard}


# --- The comparison -----------------------------------------------------------

class Probe:
    def __init__(self, path):
        self.p = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, request):
        self.p.stdin.write(json.dumps(request) + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


def logits(seed, batch=16, classes=10, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(batch, classes, generator=g, dtype=torch.float64) * scale
    t = torch.randn(batch, classes, generator=g, dtype=torch.float64) * scale * 1.5
    y = torch.randint(classes, (batch,), generator=g)
    return s, t, y


class TestMethods(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.probe = Probe(PROBE)

    @classmethod
    def tearDownClass(cls):
        cls.probe.close()

    def check(self, method, reference, T, params=None, alpha=0.5, epoch=1, seed=1, classes=10):
        s, t, y = logits(seed, classes=classes)
        s_ref = s.clone().requires_grad_(True)
        total, parts = reference(s_ref, t, y)
        total.backward()
        got = self.probe.ask({"method": method, "temperature": T, "alpha": alpha, "params": params or {},
                              "epoch": epoch, "classes": classes, "student": s.flatten().tolist(),
                              "teacher": t.flatten().tolist(), "labels": y.tolist()})
        self.assertNotIn("error", got, got.get("error"))
        label = f"{method} T={T} {params} epoch {epoch}"
        self.assertTrue(torch.allclose(torch.tensor(got["total"], dtype=torch.float64), total.detach(),
                                       rtol=RTOL, atol=ATOL), f"{label}: total {got['total']} vs {total.item()}")
        self.assertEqual(set(got["parts"]), set(parts), label)
        for name, value in parts.items():
            self.assertTrue(abs(got["parts"][name] - value.item()) <= ATOL + RTOL * abs(value.item()),
                            f"{label}: {name} {got['parts'][name]} vs {value.item()}")
        grad = torch.tensor(got["grad"], dtype=torch.float64).reshape(s.shape)
        self.assertTrue(torch.allclose(grad, s_ref.grad, rtol=RTOL, atol=ATOL),
                        f"{label}: gradient differs by {(grad - s_ref.grad).abs().max().item()}")
        return got

    def test_kd(self):
        for T, alpha in ((1.0, 0.5), (4.0, 0.9), (20.0, 0.1)):
            self.check("kd", lambda s, t, y: kd(s, t, y, T, alpha), T, alpha=alpha)

    def test_kd_with_logit_standardisation(self):
        for T in (2.0, 4.0):
            self.check("kd", lambda s, t, y: kd(s, t, y, T, 0.9, standardize=True), T, {"standardize": True},
                       alpha=0.9)

    def test_dkd(self):
        # During the warm-up, after it, and with the reference's CIFAR-100 weights and others.
        for epoch in (1, 5, 25):
            self.check("dkd", lambda s, t, y: dkd(s, t, y, 4.0, epoch), 4.0, epoch=epoch)
        params = {"ce": 0.5, "alpha": 2.0, "beta": 1.0, "warmup": 0}
        self.check("dkd", lambda s, t, y: dkd(s, t, y, 2.0, 1, **params), 2.0, params, seed=3)

    def test_dkd_with_logit_standardisation(self):
        params = {"standardize": True, "warmup": 10}
        self.check("dkd", lambda s, t, y: dkd(s, t, y, 4.0, 3, warmup=10, standardize=True), 4.0, params, epoch=3)

    def test_dist(self):
        for T in (1.0, 4.0):
            self.check("dist", lambda s, t, y: dist(s, t, y, T), T)
        params = {"ce": 0.0, "beta": 2.0, "gamma": 2.0}
        self.check("dist", lambda s, t, y: dist(s, t, y, 4.0, **params), 4.0, params, seed=5, classes=100)

    def test_unknown_method_and_parameter(self):
        s, t, y = logits(1)
        base = {"temperature": 4.0, "classes": 10, "student": s.flatten().tolist(),
                "teacher": t.flatten().tolist(), "labels": y.tolist()}
        self.assertIn("unknown method", self.probe.ask(dict(base, method="fitnetz"))["error"])
        self.assertIn("no such parameter", self.probe.ask(dict(base, method="dist", params={"gama": 1}))["error"])


if __name__ == "__main__":
    PROBE = sys.argv.pop(1)
    unittest.main()
