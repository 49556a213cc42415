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


def multi_kd(s, ts, ws, y, T, alpha, standardize=False):
    """Several teachers (docs/METHODS.md): kd against the weighted average of
    the teachers' probabilities at T, the weights normalised."""
    w = [wi / sum(ws) for wi in ws]
    ss = normalize(s) if standardize else s
    p_t = sum(wi * F.softmax((normalize(t) if standardize else t) / T, dim=1) for wi, t in zip(w, ts))
    log_ps = F.log_softmax(ss / T, dim=1)
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


def with_kd(total, parts, s, t, y, T, kd):
    """Vanilla KD's soft term (on the raw logits) beside a method's own, weighted by kd."""
    if kd > 0:
        parts["soft"] = kd_soft = kd_loss_parts(s, t, y, T)["soft"]
        total = total + kd * kd_soft
    return total, parts


def kd_loss_parts(s, t, y, T):
    return kd(s, t, y, T, 1.0)[1]


def dkd(s, t, y, T, epoch, ce=1.0, alpha=1.0, beta=8.0, warmup=20.0, standardize=False, kd=0.0):
    ss, ts = (normalize(s), normalize(t)) if standardize else (s, t)
    tckd, nckd = dkd_terms(ss, ts, y, T)
    ramp = min(epoch / warmup, 1.0) if warmup > 0 else 1.0
    hard = F.cross_entropy(s, y)
    return with_kd(ce * hard + ramp * (alpha * tckd + beta * nckd), {"tckd": tckd, "nckd": nckd, "hard": hard},
                   s, t, y, T, kd)


def cosine_similarity(a, b, eps=1e-8):
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + eps)


def pearson_correlation(a, b, eps=1e-8):
    return cosine_similarity(a - a.mean(1).unsqueeze(1), b - b.mean(1).unsqueeze(1), eps)


def inter_class_relation(y_s, y_t):
    return 1 - pearson_correlation(y_s, y_t).mean()


def intra_class_relation(y_s, y_t):
    return inter_class_relation(y_s.transpose(0, 1), y_t.transpose(0, 1))


def dist(s, t, y, T, ce=1.0, beta=1.0, gamma=1.0, kd=0.0):
    """DIST_KD's DIST module, plus the cross-entropy its training adds."""
    y_s = (s / T).softmax(dim=1)
    y_t = (t / T).softmax(dim=1)
    inter = T ** 2 * inter_class_relation(y_s, y_t)
    intra = T ** 2 * intra_class_relation(y_s, y_t)
    hard = F.cross_entropy(s, y)
    return with_kd(ce * hard + beta * inter + gamma * intra, {"inter": inter, "intra": intra, "hard": hard},
                   s, t, y, T, kd)


# RepDistiller's distiller_zoo (FitNet.py, AT.py, SP.py, RKDLoss.py, PKT.py),
# transcribed; each term is then weighted as train_student.py weighs loss_kd
# (-b), plus -r times the cross-entropy and -a times vanilla KD.

def hint(f_s, f_t):
    return F.mse_loss(f_s, f_t)


def at_map(f, p):
    return F.normalize(f.pow(p).mean(1).view(f.size(0), -1))


def at_loss(f_s, f_t, p):
    s_H, t_H = f_s.shape[2], f_t.shape[2]
    if s_H > t_H:
        f_s = F.adaptive_avg_pool2d(f_s, (t_H, t_H))
    elif s_H < t_H:
        f_t = F.adaptive_avg_pool2d(f_t, (s_H, s_H))
    return (at_map(f_s, p) - at_map(f_t, p)).pow(2).mean()


def similarity_loss(f_s, f_t):
    bsz = f_s.shape[0]
    f_s = f_s.view(bsz, -1)
    f_t = f_t.view(bsz, -1)
    G_s = torch.nn.functional.normalize(torch.mm(f_s, torch.t(f_s)))
    G_t = torch.nn.functional.normalize(torch.mm(f_t, torch.t(f_t)))
    G_diff = G_t - G_s
    return (G_diff * G_diff).view(-1, 1).sum(0) / (bsz * bsz)


def pdist(e, squared=False, eps=1e-12):
    e_square = e.pow(2).sum(dim=1)
    prod = e @ e.t()
    res = (e_square.unsqueeze(1) + e_square.unsqueeze(0) - 2 * prod).clamp(min=eps)
    if not squared:
        res = res.sqrt()
    res = res.clone()
    res[range(len(e)), range(len(e))] = 0
    return res


def rkd_terms(f_s, f_t):
    student = f_s.view(f_s.shape[0], -1)
    teacher = f_t.view(f_t.shape[0], -1)
    with torch.no_grad():
        t_d = pdist(teacher, squared=False)
        mean_td = t_d[t_d > 0].mean()
        t_d = t_d / mean_td
    d = pdist(student, squared=False)
    mean_d = d[d > 0].mean()
    d = d / mean_d
    loss_d = F.smooth_l1_loss(d, t_d)
    with torch.no_grad():
        td = (teacher.unsqueeze(0) - teacher.unsqueeze(1))
        norm_td = F.normalize(td, p=2, dim=2)
        t_angle = torch.bmm(norm_td, norm_td.transpose(1, 2)).view(-1)
    sd = (student.unsqueeze(0) - student.unsqueeze(1))
    norm_sd = F.normalize(sd, p=2, dim=2)
    s_angle = torch.bmm(norm_sd, norm_sd.transpose(1, 2)).view(-1)
    loss_a = F.smooth_l1_loss(s_angle, t_angle)
    return loss_d, loss_a


def cosine_similarity_loss(output_net, target_net, eps=0.0000001):
    output_net_norm = torch.sqrt(torch.sum(output_net ** 2, dim=1, keepdim=True))
    output_net = output_net / (output_net_norm + eps)
    output_net[output_net != output_net] = 0
    target_net_norm = torch.sqrt(torch.sum(target_net ** 2, dim=1, keepdim=True))
    target_net = target_net / (target_net_norm + eps)
    target_net[target_net != target_net] = 0
    model_similarity = torch.mm(output_net, output_net.transpose(0, 1))
    target_similarity = torch.mm(target_net, target_net.transpose(0, 1))
    model_similarity = (model_similarity + 1.0) / 2.0
    target_similarity = (target_similarity + 1.0) / 2.0
    model_similarity = model_similarity / torch.sum(model_similarity, dim=1, keepdim=True)
    target_similarity = target_similarity / torch.sum(target_similarity, dim=1, keepdim=True)
    return torch.mean(target_similarity * torch.log((target_similarity + eps) / (model_similarity + eps)))


def pkt_loss(f_s, f_t):
    return cosine_similarity_loss(f_s.view(f_s.shape[0], -1), f_t.view(f_t.shape[0], -1))


def regressor(f_s, adapters, i):
    """The learned adapter of pair i, with the weights Distillery drew."""
    a = {k[len(f"{i}."):]: torch.tensor(v["values"], dtype=torch.float64).reshape(v["shape"])
         for k, v in adapters.items() if k.startswith(f"{i}.")}
    if f_s.dim() == 4:
        x = F.conv2d(f_s, a["0.weight"], a["0.bias"])
        return F.batch_norm(x, None, None, a["1.weight"], a["1.bias"], training=True, eps=1e-5)
    return F.linear(f_s, a["0.weight"], a["0.bias"])


def feature_method(method, s, t, y, fs, ft, T, adapters, ce=1.0, kd=0.0, beta=None, p=2.0, distance=25.0,
                   angle=50.0):
    """ce·CE + kd·(vanilla KD's soft term) + β·Σ_pairs term; parts unweighted."""
    parts = {}
    if method == "rkd":
        terms = [rkd_terms(a, b) for a, b in zip(fs, ft)]
        parts["distance"] = sum(d for d, _ in terms)
        parts["angle"] = sum(a for _, a in terms)
        own = distance * parts["distance"] + angle * parts["angle"]
    else:
        if method == "fitnet":
            values = [hint(regressor(a, adapters, i), b) for i, (a, b) in enumerate(zip(fs, ft))]
            name = "hint"
        elif method == "at":
            values, name = [at_loss(a, b, p) for a, b in zip(fs, ft)], "attention"
        elif method == "sp":
            values, name = [similarity_loss(a, b).squeeze() for a, b in zip(fs, ft)], "similarity"
        else:
            values, name = [pkt_loss(a, b) for a, b in zip(fs, ft)], "pkt"
        parts[name] = sum(values)
        own = parts[name]
    parts["hard"] = F.cross_entropy(s, y)
    total = ce * parts["hard"] + beta * own
    if kd > 0:
        parts["soft"] = kd_soft = F.kl_div(F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1),
                                           reduction="none").sum(1).mean() * T ** 2
        total = total + kd * kd_soft
    return total, parts


def dml(cohort, y, T, ce=1.0, beta=1.0):
    """Deep Mutual Learning's loss for each member (Zhang et al. 2018, Eq. 10,
    as PyTorch ports write it: kl_div of the member's log-softmax against the
    other's detached softmax, 'batchmean'), summed over the cohort; at T = 1
    the paper's, T² keeping the gradients' size at other temperatures."""
    K = len(cohort)
    total, parts = 0.0, {}
    for k, z in enumerate(cohort):
        kl = sum(F.kl_div(F.log_softmax(z / T, dim=1), F.softmax(other.detach() / T, dim=1), reduction="batchmean")
                 for l, other in enumerate(cohort) if l != k) * T * T / (K - 1)
        hard = F.cross_entropy(z, y)
        member = ce * hard + beta * kl
        total = total + member
        if k == 0:
            parts["mutual"], parts["hard"] = kl, hard
        else:
            parts["peers"] = parts.get("peers", 0.0) + member.detach() / (K - 1)
    return total, parts


def crd(s, t, y, f_s, f_t, T, adapters, buffers, contrast_idx, ce=1.0, kd=0.0, beta=0.8, nce_t=0.07, nce_m=0.5):
    """RepDistiller's CRDLoss (crd/criterion.py) with its ContrastMemory and
    ContrastLoss (crd/memory.py, criterion.py) on one batch whose rows are the
    memory's rows 0..B-1, the negatives as Distillery drew them. Returns
    (total, parts, the memories and Z after the batch)."""
    def a(name, src):
        return torch.tensor(src[name]["values"], dtype=torch.float64).reshape(src[name]["shape"])

    def embed(prefix, f):
        x = f.reshape(f.shape[0], -1) @ a(prefix + ".weight", adapters).t() + a(prefix + ".bias", adapters)
        return x.div(x.pow(2).sum(1, keepdim=True).pow(1. / 2))

    def contrast_loss(x, n_data):
        eps = 1e-7
        bsz, m = x.shape[0], x.size(1) - 1
        Pn = 1 / float(n_data)
        P_pos = x.select(1, 0)
        log_D1 = torch.div(P_pos, P_pos.add(m * Pn + eps)).log_()
        P_neg = x.narrow(1, 1, m)
        log_D0 = torch.div(P_neg.clone().fill_(m * Pn), P_neg.add(m * Pn + eps)).log_()
        return - (log_D1.sum(0) + log_D0.view(-1, 1).sum(0)) / bsz

    v1, v2 = embed("embed_s", f_s), embed("embed_t", f_t.detach())
    memory_v1, memory_v2 = a("memory_v1", buffers).clone(), a("memory_v2", buffers).clone()
    n_data, size = memory_v1.shape
    B, K1 = contrast_idx.shape
    idx = contrast_idx.long()
    weight_v1 = torch.index_select(memory_v1, 0, idx.view(-1)).detach().view(B, K1, size)
    out_v2 = torch.exp(torch.div(torch.bmm(weight_v1, v2.view(B, size, 1)), nce_t))
    weight_v2 = torch.index_select(memory_v2, 0, idx.view(-1)).detach().view(B, K1, size)
    out_v1 = torch.exp(torch.div(torch.bmm(weight_v2, v1.view(B, size, 1)), nce_t))
    Z_v1 = (out_v1.mean() * n_data).clone().detach().item()
    Z_v2 = (out_v2.mean() * n_data).clone().detach().item()
    out_v1, out_v2 = torch.div(out_v1, Z_v1), torch.div(out_v2, Z_v2)
    with torch.no_grad():
        rows = torch.arange(B)
        for memory, v in ((memory_v1, v1), (memory_v2, v2)):
            pos = torch.index_select(memory, 0, rows).mul_(nce_m).add_(torch.mul(v, 1 - nce_m))
            memory.index_copy_(0, rows, pos.div(pos.pow(2).sum(1, keepdim=True).pow(0.5)))
    term = contrast_loss(out_v1, n_data).squeeze() + contrast_loss(out_v2, n_data).squeeze()
    hard = F.cross_entropy(s, y)
    total = ce * hard + beta * term
    parts = {"contrast": term, "hard": hard}
    if kd > 0:
        _, kd_parts = globals()["kd"](s, t, y, T, 1.0)
        total = total + kd * kd_parts["soft"]
        parts["soft"] = kd_parts["soft"]
    return total, parts, {"memory_v1": memory_v1, "memory_v2": memory_v2, "z": torch.tensor([Z_v1, Z_v2])}


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

    def check_teachers(self, T, alpha, weights, params=None, seed=21, classes=10):
        s, t0, y = logits(seed, classes=classes)
        teachers = [t0] + [logits(seed + 100 * m, classes=classes)[1] for m in range(1, len(weights))]
        s_ref = s.clone().requires_grad_(True)
        total, parts = multi_kd(s_ref, teachers, weights, y, T, alpha, (params or {}).get("standardize", False))
        total.backward()
        got = self.probe.ask({"method": "kd", "temperature": T, "alpha": alpha, "params": params or {},
                              "classes": classes, "student": s.flatten().tolist(),
                              "teachers": [t.flatten().tolist() for t in teachers], "weights": weights,
                              "labels": y.tolist()})
        self.assertNotIn("error", got, got.get("error"))
        label = f"{len(weights)} teachers {weights} T={T} alpha={alpha} {params}"
        for name, ref in [("total", total)] + [(n, v) for n, v in parts.items()]:
            value = got["total"] if name == "total" else got["parts"][name]
            self.assertTrue(abs(value - ref.item()) <= ATOL + RTOL * abs(ref.item()),
                            f"{label}: {name} {value} vs {ref.item()}")
        grad = torch.tensor(got["grad"], dtype=torch.float64).reshape(s.shape)
        self.assertTrue(torch.allclose(grad, s_ref.grad, rtol=RTOL, atol=ATOL),
                        f"{label}: gradient differs by {(grad - s_ref.grad).abs().max().item()}")
        return s, teachers, y, grad

    def test_several_teachers(self):
        for T, alpha, weights in ((1.0, 0.5, [1.0, 1.0]), (4.0, 0.9, [0.2, 0.5, 0.3]), (8.0, 1.0, [3.0, 0.0, 1.0])):
            self.check_teachers(T, alpha, weights)
        self.check_teachers(4.0, 0.7, [1.0, 2.0], {"standardize": True}, seed=23)

    def test_several_teachers_gradient_is_the_weighted_sum_of_kl_gradients(self):
        # The student's gradient of KL(average of the teachers' p ‖ p_s) is the
        # weighted sum of its gradients of each KL(p_m ‖ p_s): averaging in
        # probability space is, for the student, averaging the KL terms.
        T, weights = 4.0, [0.5, 1.5, 2.0]
        s, teachers, y, grad = self.check_teachers(T, 1.0, weights, seed=31)
        expected = torch.zeros_like(s)
        for w, t in zip(weights, teachers):
            s_ref = s.clone().requires_grad_(True)
            kd(s_ref, t, y, T, 1.0)[0].backward()
            expected += w / sum(weights) * s_ref.grad
        self.assertTrue(torch.allclose(grad, expected, rtol=RTOL, atol=ATOL),
                        f"differs by {(grad - expected).abs().max().item()}")

    def check_mutual(self, K, T, params=None, seed=41, classes=10):
        cohort = [logits(seed + 10 * k, classes=classes)[0] for k in range(K)]
        y = logits(seed, classes=classes)[2]
        refs = [z.clone().requires_grad_(True) for z in cohort]
        total, parts = dml(refs, y, T, **(params or {}))
        total.backward()
        got = self.probe.ask({"method": "dml", "temperature": T, "params": dict(params or {}, students=K),
                              "classes": classes, "cohort": [z.flatten().tolist() for z in cohort],
                              "labels": y.tolist()})
        self.assertNotIn("error", got, got.get("error"))
        label = f"dml K={K} T={T} {params}"
        self.assertEqual(set(got["parts"]), set(parts), label)
        for name, ref in [("total", total)] + list(parts.items()):
            value = got["total"] if name == "total" else got["parts"][name]
            self.assertTrue(abs(value - ref.item()) <= ATOL + RTOL * abs(ref.item()),
                            f"{label}: {name} {value} vs {ref.item()}")
        grads = [got["grad"]] + got["peer_grads"]
        self.assertEqual(len(grads), K, label)
        for k, (g, ref) in enumerate(zip(grads, refs)):
            g = torch.tensor(g, dtype=torch.float64).reshape(ref.shape)
            self.assertTrue(torch.allclose(g, ref.grad, rtol=RTOL, atol=ATOL),
                            f"{label}: member {k}'s gradient differs by {(g - ref.grad).abs().max().item()}")
        return cohort, y, grads

    def test_deep_mutual_learning(self):
        self.check_mutual(2, 1.0)
        self.check_mutual(3, 3.0, {"ce": 0.5, "beta": 2.0}, seed=43)
        self.check_mutual(4, 1.0, seed=47)

    def test_deep_mutual_learning_member_learns_only_from_its_own_loss(self):
        # Each member's gradient is that of its own loss with the others fixed,
        # as if each had its own optimiser: for two members, member 1's is
        # CE(y, z1) + KL(p2 ‖ p1)'s alone.
        cohort, y, grads = self.check_mutual(2, 1.0, seed=53)
        z1 = cohort[0].clone().requires_grad_(True)
        (F.cross_entropy(z1, y) + F.kl_div(F.log_softmax(z1, dim=1), F.softmax(cohort[1], dim=1),
                                           reduction="batchmean")).backward()
        g = torch.tensor(grads[0], dtype=torch.float64).reshape(z1.shape)
        self.assertTrue(torch.allclose(g, z1.grad, rtol=RTOL, atol=ATOL))

    def test_dkd(self):
        # During the warm-up, after it, and with the reference's CIFAR-100 weights and others.
        for epoch in (1, 5, 25):
            self.check("dkd", lambda s, t, y: dkd(s, t, y, 4.0, epoch), 4.0, epoch=epoch)
        params = {"ce": 0.5, "alpha": 2.0, "beta": 1.0, "warmup": 0}
        self.check("dkd", lambda s, t, y: dkd(s, t, y, 2.0, 1, **params), 2.0, params, seed=3)
        # With vanilla KD beside it, during the warm-up (which does not ramp KD's term).
        params = {"kd": 0.7, "warmup": 4}
        self.check("dkd", lambda s, t, y: dkd(s, t, y, 4.0, 2, **params), 4.0, params, epoch=2, seed=4)

    def test_dkd_with_logit_standardisation(self):
        params = {"standardize": True, "warmup": 10}
        self.check("dkd", lambda s, t, y: dkd(s, t, y, 4.0, 3, warmup=10, standardize=True), 4.0, params, epoch=3)

    def test_dist(self):
        for T in (1.0, 4.0):
            self.check("dist", lambda s, t, y: dist(s, t, y, T), T)
        params = {"ce": 0.0, "beta": 2.0, "gamma": 2.0}
        self.check("dist", lambda s, t, y: dist(s, t, y, 4.0, **params), 4.0, params, seed=5, classes=100)
        params = {"kd": 1.5, "beta": 2.0}
        self.check("dist", lambda s, t, y: dist(s, t, y, 2.0, **params), 2.0, params, seed=6)

    def check_features(self, method, pairs, params, T=4.0, seed=11, batch=16, classes=10):
        """Features of the given shapes ([batch, ...] without the batch) per pair, post-ReLU like a tap's."""
        s, t, y = logits(seed, batch=batch, classes=classes)
        g = torch.Generator().manual_seed(seed + 1)
        fs = [torch.randn((batch,) + tuple(a), generator=g, dtype=torch.float64).relu() for a, _ in pairs]
        ft = [torch.randn((batch,) + tuple(b), generator=g, dtype=torch.float64).relu() * 2 for _, b in pairs]
        request = {"method": method, "temperature": T, "params": params, "classes": classes,
                   "student": s.flatten().tolist(), "teacher": t.flatten().tolist(), "labels": y.tolist(),
                   "pairs": [{"teacher": f"t{i}", "student": f"s{i}"} for i in range(len(pairs))],
                   "student_features": [{"name": f"s{i}", "shape": list(f.shape), "values": f.flatten().tolist()}
                                        for i, f in enumerate(fs)],
                   "teacher_features": [{"name": f"t{i}", "shape": list(f.shape), "values": f.flatten().tolist()}
                                        for i, f in enumerate(ft)]}
        got = self.probe.ask(request)
        self.assertNotIn("error", got, got.get("error"))
        s_ref = s.clone().requires_grad_(True)
        fs_ref = [f.clone().requires_grad_(True) for f in fs]
        defaults = {"fitnet": 100.0, "at": 1000.0, "sp": 3000.0, "rkd": 1.0, "pkt": 30000.0}
        weights = dict({"beta": defaults[method]}, **params)
        total, parts = feature_method(method, s_ref, t, y, fs_ref, ft, T, got["adapters"], **weights)
        total.backward()
        label = f"{method} {pairs} {params}"
        self.assertTrue(abs(got["total"] - total.item()) <= ATOL + RTOL * abs(total.item()),
                        f"{label}: total {got['total']} vs {total.item()}")
        self.assertEqual(set(got["parts"]), set(parts), label)
        for name, value in parts.items():
            self.assertTrue(abs(got["parts"][name] - value.item()) <= ATOL + RTOL * abs(value.item()),
                            f"{label}: {name} {got['parts'][name]} vs {value.item()}")
        grad = torch.tensor(got["grad"], dtype=torch.float64).reshape(s.shape)
        self.assertTrue(torch.allclose(grad, s_ref.grad, rtol=RTOL, atol=ATOL), f"{label}: logits' gradient")
        for i, f in enumerate(fs_ref):
            g_got = torch.tensor(got["feature_grads"][f"s{i}"], dtype=torch.float64).reshape(f.shape)
            scale = f.grad.abs().max().item()
            self.assertTrue(torch.allclose(g_got, f.grad, rtol=RTOL, atol=ATOL + 1e-9 * scale),
                            f"{label}: gradient of s{i} differs by {(g_got - f.grad).abs().max().item()}")

    def test_fitnet(self):
        self.check_features("fitnet", [((4, 6, 6), (8, 6, 6))], {})
        self.check_features("fitnet", [((16,), (32,))], {"ce": 0.5, "beta": 10.0})

    def test_attention_transfer(self):
        # Equal maps, a student map larger than the teacher's and one smaller; p = 2 and 3.
        pairs = [((4, 8, 8), (8, 8, 8)), ((8, 8, 8), (16, 4, 4)), ((8, 4, 4), (16, 8, 8))]
        self.check_features("at", pairs, {})
        self.check_features("at", pairs[:1], {"p": 3.0, "kd": 0.9, "ce": 0.1}, seed=12)

    def test_similarity_preserving(self):
        self.check_features("sp", [((4, 6, 6), (8, 3, 3))], {})
        self.check_features("sp", [((16,), (32,)), ((4, 2, 2), (8, 2, 2))], {"beta": 100.0}, seed=13)

    def test_rkd(self):
        self.check_features("rkd", [((16,), (32,))], {})
        self.check_features("rkd", [((4, 2, 2), (64,))], {"distance": 1.0, "angle": 2.0, "kd": 0.5}, seed=14)

    def test_pkt(self):
        self.check_features("pkt", [((16,), (32,))], {})
        self.check_features("pkt", [((4, 3, 3), (8, 3, 3))], {"beta": 1000.0}, seed=15, batch=32)

    def check_crd(self, params, shapes=((12,), (20,)), seed=61, batch=16, classes=4):
        s, t, y = logits(seed, batch=batch, classes=classes)
        g = torch.Generator().manual_seed(seed + 1)
        fs = torch.randn((batch,) + shapes[0], generator=g, dtype=torch.float64).relu()
        ft = torch.randn((batch,) + shapes[1], generator=g, dtype=torch.float64).relu() * 2
        got = self.probe.ask({"method": "crd", "temperature": 4.0, "params": params, "classes": classes,
                              "student": s.flatten().tolist(), "teacher": t.flatten().tolist(), "labels": y.tolist(),
                              "pairs": [{"teacher": "t", "student": "s"}],
                              "student_features": [{"name": "s", "shape": list(fs.shape),
                                                    "values": fs.flatten().tolist()}],
                              "teacher_features": [{"name": "t", "shape": list(ft.shape),
                                                    "values": ft.flatten().tolist()}]})
        self.assertNotIn("error", got, got.get("error"))
        drawn = got["draws"]["contrast"]
        contrast_idx = torch.tensor(drawn["values"], dtype=torch.float64).reshape(drawn["shape"]).long()
        self.assertEqual(list(contrast_idx.shape), [batch, int(params.get("nce_k", 16384)) + 1])
        self.assertTrue(torch.equal(contrast_idx[:, 0], torch.arange(batch)))  # the positive: the example's own row
        # Every negative is a row of another class, none twice for an example
        # whose other classes have at least K rows.
        self.assertTrue(bool((y[contrast_idx[:, 1:]] != y.unsqueeze(1)).all()))
        k = contrast_idx.shape[1] - 1
        for row, label in zip(contrast_idx[:, 1:], y):
            if int((y != label).sum()) >= k:
                self.assertEqual(len(set(row.tolist())), k, f"negatives drawn twice: {row.tolist()}")
        s_ref, fs_ref = s.clone().requires_grad_(True), fs.clone().requires_grad_(True)
        weights = {k: v for k, v in params.items() if k not in ("nce_k", "feat_dim")}
        total, parts, after = crd(s_ref, t, y, fs_ref, ft, 4.0, got["adapters"], got["buffers"], contrast_idx,
                                  **weights)
        total.backward()
        label = f"crd {params}"
        self.assertTrue(abs(got["total"] - total.item()) <= ATOL + RTOL * abs(total.item()),
                        f"{label}: total {got['total']} vs {total.item()}")
        self.assertEqual(set(got["parts"]), set(parts), label)
        for name, value in parts.items():
            self.assertTrue(abs(got["parts"][name] - value.item()) <= ATOL + RTOL * abs(value.item()),
                            f"{label}: {name} {got['parts'][name]} vs {value.item()}")
        grad = torch.tensor(got["grad"], dtype=torch.float64).reshape(s.shape)
        self.assertTrue(torch.allclose(grad, s_ref.grad, rtol=RTOL, atol=ATOL), f"{label}: logit gradient")
        fgrad = torch.tensor(got["feature_grads"]["s"], dtype=torch.float64).reshape(fs.shape)
        self.assertTrue(torch.allclose(fgrad, fs_ref.grad, rtol=RTOL, atol=ATOL),
                        f"{label}: feature gradient differs by {(fgrad - fs_ref.grad).abs().max().item()}")
        for name, ref in after.items():
            b = got["buffers_after"][name]
            value = torch.tensor(b["values"], dtype=torch.float64).reshape(b["shape"])
            self.assertTrue(torch.allclose(value, ref.to(torch.float64).reshape(value.shape), rtol=RTOL, atol=ATOL),
                            f"{label}: {name} after the batch")
        return contrast_idx, y

    def test_crd_negatives_are_uniform(self):
        # 400 rows of 4 classes (about 100 each, drawn at random): each example
        # draws 50 of the about 300 rows of other classes, so each row is drawn
        # about 50 times in all, with a standard deviation of about 6.5. The
        # classes' unequal sizes add some spread to the chi-square against 50.
        contrast_idx, y = self.check_crd({"nce_k": 50, "feat_dim": 4}, batch=400, seed=71)
        counts = torch.bincount(contrast_idx[:, 1:].flatten(), minlength=400).double()
        self.assertTrue(bool((counts > 20).all() and (counts < 85).all()), f"counts {counts.min()}..{counts.max()}")
        chi2 = ((counts - 50) ** 2 / 50).sum().item()   # about 399 · 5/6 for uniform draws, plus that spread
        self.assertLess(chi2, 450, "the negatives are not uniform over the other classes' rows")
        self.assertGreater(chi2, 200, "the negatives are too even to be random")

    def test_crd(self):
        self.check_crd({"nce_k": 64, "feat_dim": 8})
        self.check_crd({"nce_k": 5, "feat_dim": 16, "nce_t": 0.5, "nce_m": 0.9, "beta": 2.0, "kd": 0.5, "ce": 0.3},
                       shapes=((3, 2, 2), (6,)), seed=67)

    def test_bad_pairs(self):
        s, t, y = logits(1)
        base = {"temperature": 4.0, "classes": 10, "student": s.flatten().tolist(),
                "teacher": t.flatten().tolist(), "labels": y.tolist(),
                "student_features": [{"name": "a", "shape": [16, 4, 6, 6], "values": [0.0] * (16 * 144)}],
                "teacher_features": [{"name": "b", "shape": [16, 8, 3, 3], "values": [0.0] * (16 * 72)}]}
        missing = self.probe.ask(dict(base, method="at", pairs=[{"teacher": "b", "student": "x"}]))["error"]
        self.assertIn("distillation.pairs[0].student: the student has no tap 'x'", missing)
        spatial = self.probe.ask(dict(base, method="fitnet", pairs=[{"teacher": "b", "student": "a"}]))["error"]
        self.assertIn("cannot be paired", spatial)
        self.assertIn("4×6×6", spatial)

    def test_unknown_method_and_parameter(self):
        s, t, y = logits(1)
        base = {"temperature": 4.0, "classes": 10, "student": s.flatten().tolist(),
                "teacher": t.flatten().tolist(), "labels": y.tolist()}
        self.assertIn("unknown method", self.probe.ask(dict(base, method="fitnetz"))["error"])
        self.assertIn("no such parameter", self.probe.ask(dict(base, method="dist", params={"gama": 1}))["error"])


if __name__ == "__main__":
    PROBE = sys.argv.pop(1)
    unittest.main()
