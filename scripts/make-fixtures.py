#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures for the kernel tests (test/kernels.test.ts).

    npm run fixtures            (= /usr/bin/python3 scripts/make-fixtures.py)

Outputs, next to each other in test/fixtures/:
  kernels.json  the manifest: {"version": 1, "generator": "torch <version>", "cases": [...]}
                where each case is {"op", "name", "params", "tensors": {name: {"shape", "offset"}}}
                and "offset" counts float32 elements from the start of kernels.bin;
  kernels.bin   every tensor, float32 little-endian, concatenated in manifest order.

Everything is float32 and computed by PyTorch on the CPU (its results are the reference), on one
thread, with a fixed seed per case: running the script twice gives byte-identical files.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
DTYPE = torch.float32

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures")


class Writer:
    def __init__(self):
        self.cases = []
        self.chunks = []
        self.offset = 0  # in float32 elements

    def add(self, op, name, params, tensors):
        entry = {"op": op, "name": name, "params": params, "tensors": {}}
        for key, t in tensors.items():
            arr = t.detach().to(DTYPE).contiguous().numpy().astype("<f4", copy=False)
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{op} {name}: tensor {key} is not finite")
            shape = list(arr.shape)
            entry["tensors"][key] = {"shape": shape, "offset": self.offset}
            self.chunks.append(arr.tobytes(order="C"))
            self.offset += arr.size
        self.cases.append(entry)

    def write(self, directory):
        os.makedirs(directory, exist_ok=True)
        names = [(c["op"], c["name"]) for c in self.cases]
        if len(set(names)) != len(names):
            raise ValueError("duplicate (op, name) in the fixture cases")
        with open(os.path.join(directory, "kernels.bin"), "wb") as f:
            for chunk in self.chunks:
                f.write(chunk)
        manifest = {"version": 1, "generator": f"torch {torch.__version__}", "cases": self.cases}
        # One case per line: readable, and diffs stay small when a case changes.
        lines = [json.dumps(c, separators=(",", ":")) for c in self.cases]
        head = json.dumps({k: v for k, v in manifest.items() if k != "cases"}, separators=(",", ":"))
        text = head[:-1] + ',"cases":[\n' + ",\n".join(lines) + "\n]}\n"
        json.loads(text)  # sanity check
        with open(os.path.join(directory, "kernels.json"), "w") as f:
            f.write(text)
        return self.offset * 4


class Rng:
    """Per-case generator: each case's tensors depend only on its own seed."""

    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def normal(self, *shape, scale=1.0):
        return torch.randn(*shape, generator=self.g, dtype=DTYPE) * scale

    def uniform(self, lo, hi, *shape):
        return torch.rand(*shape, generator=self.g, dtype=DTYPE) * (hi - lo) + lo

    def randint(self, hi, *shape):
        return torch.randint(0, hi, shape, generator=self.g)


def leaf(t):
    return t.clone().requires_grad_(True)


# ---------------------------------------------------------------------------------------------
# conv2d
# ---------------------------------------------------------------------------------------------

# (name, n, c, h, w, k, kh/kw, stride, pad, groups, bias); groups = "dw" means groups = c = k.
CONV_CASES = [
    # groups 1, channel counts 3 and 17 (not multiples of 4) in and out
    ("c3k17_3x3_s1p1_7x7_n1_bias", 1, 3, 7, 7, 17, 3, 1, 1, 1, True),
    ("c17k3_3x3_s1p1_5x5_n2", 2, 17, 5, 5, 3, 3, 1, 1, 1, False),
    ("c3k17_3x3_s2p1_13x13_n2_bias", 2, 3, 13, 13, 17, 3, 2, 1, 1, True),
    ("c17k17_3x3_s2p1_7x7_n1", 1, 17, 7, 7, 17, 3, 2, 1, 1, False),
    ("c3k3_3x3_s1p0_5x5_n1_bias", 1, 3, 5, 5, 3, 3, 1, 0, 1, True),
    ("c17k3_3x3_s2p0_7x7_n2_bias", 2, 17, 7, 7, 3, 3, 2, 0, 1, True),
    ("c3k17_1x1_s1p0_5x5_n2", 2, 3, 5, 5, 17, 1, 1, 0, 1, False),
    ("c17k3_1x1_s2p0_7x7_n1_bias", 1, 17, 7, 7, 3, 1, 2, 0, 1, True),
    ("c17k17_1x1_s1p0_13x13_n1_bias", 1, 17, 13, 13, 17, 1, 1, 0, 1, True),
    ("c3k17_1x1_s2p0_13x13_n2", 2, 3, 13, 13, 17, 1, 2, 0, 1, False),
    ("c3k3_1x1_s1p1_5x5_n1", 1, 3, 5, 5, 3, 1, 1, 1, 1, False),
    # groups 2
    ("g2_c6k10_3x3_s1p1_7x7_n2_bias", 2, 6, 7, 7, 10, 3, 1, 1, 2, True),
    ("g2_c6k10_3x3_s2p1_13x13_n1", 1, 6, 13, 13, 10, 3, 2, 1, 2, False),
    ("g2_c10k6_1x1_s1p0_5x5_n2_bias", 2, 10, 5, 5, 6, 1, 1, 0, 2, True),
    ("g2_c6k6_3x3_s2p0_7x5_n1_bias", 1, 6, 7, 5, 6, 3, 2, 0, 2, True),
    ("g2_c34k34_1x1_s2p0_7x7_n1", 1, 34, 7, 7, 34, 1, 2, 0, 2, False),
    # groups 4
    ("g4_c8k12_3x3_s1p1_7x7_n1", 1, 8, 7, 7, 12, 3, 1, 1, 4, False),
    ("g4_c12k8_3x3_s2p1_13x13_n2_bias", 2, 12, 13, 13, 8, 3, 2, 1, 4, True),
    ("g4_c8k8_1x1_s2p0_7x7_n2", 2, 8, 7, 7, 8, 1, 2, 0, 4, False),
    ("g4_c20k12_3x3_s1p0_5x5_n1_bias", 1, 20, 5, 5, 12, 3, 1, 0, 4, True),
    ("g4_c68k68_3x3_s1p1_5x7_n2", 2, 68, 5, 7, 68, 3, 1, 1, 4, False),
    # depthwise (groups = c = k)
    ("dw_c3_3x3_s1p1_7x7_n2_bias", 2, 3, 7, 7, 3, 3, 1, 1, "dw", True),
    ("dw_c17_3x3_s2p1_13x13_n1", 1, 17, 13, 13, 17, 3, 2, 1, "dw", False),
    ("dw_c17_3x3_s1p0_5x5_n2_bias", 2, 17, 5, 5, 17, 3, 1, 0, "dw", True),
    ("dw_c3_1x1_s1p0_5x5_n1", 1, 3, 5, 5, 3, 1, 1, 0, "dw", False),
    ("dw_c17_3x3_s2p1_7x5_n2_bias", 2, 17, 7, 5, 17, 3, 2, 1, "dw", True),
    ("dw_c17_1x1_s2p0_7x7_n1_bias", 1, 17, 7, 7, 17, 1, 2, 0, "dw", True),
    # non-square inputs
    ("c3k17_3x3_s1p1_7x5_n2_bias", 2, 3, 7, 5, 17, 3, 1, 1, 1, True),
    ("c17k3_3x3_s2p1_5x7_n1", 1, 17, 5, 7, 3, 3, 2, 1, 1, False),
    ("c17k17_1x1_s2p0_7x5_n1_bias", 1, 17, 7, 5, 17, 1, 2, 0, 1, True),
    ("g2_c6k10_3x3_s2p0_13x7_n2", 2, 6, 13, 7, 10, 3, 2, 0, 2, False),
    # slightly larger: several output-channel tiles, several rows of pixels
    ("large_c16k24_3x3_s1p1_13x13_n2_bias", 2, 16, 13, 13, 24, 3, 1, 1, 1, True),
    ("large_c24k32_3x3_s2p1_13x13_n2", 2, 24, 13, 13, 32, 3, 2, 1, 1, False),
]


def conv2d_cases(wr, seed0):
    for i, (name, n, c, h, w, k, ks, stride, pad, groups, bias) in enumerate(CONV_CASES):
        if groups == "dw":
            assert c == k
            groups = c
        assert c % groups == 0 and k % groups == 0
        r = Rng(seed0 + i)
        x = leaf(r.normal(n, c, h, w))
        fan_in = (c // groups) * ks * ks
        wt = leaf(r.normal(k, c // groups, ks, ks, scale=1.0 / fan_in ** 0.5))
        b = leaf(r.normal(k)) if bias else None
        y = F.conv2d(x, wt, b, stride=stride, padding=pad, groups=groups)
        dy = r.normal(*y.shape)
        y.backward(dy)
        tensors = {"x": x, "w": wt}
        if bias:
            tensors["b"] = b
        tensors.update({"y": y, "dy": dy, "dx": x.grad, "dw": wt.grad})
        if bias:
            tensors["db"] = b.grad
        params = {"n": n, "c": c, "h": h, "w": w, "k": k, "kh": ks, "kw": ks, "stride": stride,
                  "pad": pad, "groups": groups, "bias": bias}
        wr.add("conv2d", name, params, tensors)


# ---------------------------------------------------------------------------------------------
# batch norm
# ---------------------------------------------------------------------------------------------

# (name, n, c, h, w, momentum, eps)
BN_CASES = [
    ("n1_c3_5x5", 1, 3, 5, 5, 0.1, 1e-5),
    ("n2_c17_7x5", 2, 17, 7, 5, 0.1, 1e-5),
    ("n4_c3_13x13", 4, 3, 13, 13, 0.1, 1e-5),
    ("n1_c17_13x7", 1, 17, 13, 7, 0.1, 1e-5),
    ("n3_c17_5x5_m0.2_eps1e-3", 3, 17, 5, 5, 0.2, 1e-3),
    ("n8_c5_1x1", 8, 5, 1, 1, 0.1, 1e-5),
]


def bn_inputs(r, n, c, h, w):
    # Shifted, scaled activations so that the batch statistics are far from (0, 1).
    shift = r.normal(1, c, 1, 1)
    scale = r.uniform(0.5, 2.0, 1, c, 1, 1)
    x = r.normal(n, c, h, w) * scale + shift
    gamma = r.uniform(0.5, 1.5, c) * torch.sign(r.normal(c))
    beta = r.normal(c)
    running_mean = r.normal(c)
    running_var = r.uniform(0.5, 2.0, c)
    return x, gamma, beta, running_mean, running_var


def batchnorm_cases(wr, seed0):
    for i, (name, n, c, h, w, momentum, eps) in enumerate(BN_CASES):
        params = {"n": n, "c": c, "h": h, "w": w, "momentum": momentum, "eps": eps}

        r = Rng(seed0 + i)
        x0, g0, b0, rm0, rv0 = bn_inputs(r, n, c, h, w)
        x, gamma, beta = leaf(x0), leaf(g0), leaf(b0)
        rm, rv = rm0.clone(), rv0.clone()
        y = F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=momentum, eps=eps)
        dy = r.normal(*y.shape)
        y.backward(dy)
        wr.add("batchnorm_train", name, params, {
            "x": x0, "gamma": g0, "beta": b0, "runningMean": rm0, "runningVar": rv0,
            "y": y, "runningMeanOut": rm, "runningVarOut": rv,
            "dy": dy, "dx": x.grad, "dgamma": gamma.grad, "dbeta": beta.grad,
        })

        r = Rng(seed0 + 100 + i)
        x0, g0, b0, rm0, rv0 = bn_inputs(r, n, c, h, w)
        with torch.no_grad():
            y = F.batch_norm(x0, rm0.clone(), rv0.clone(), g0, b0, training=False,
                             momentum=momentum, eps=eps)
        wr.add("batchnorm_eval", name, params, {
            "x": x0, "gamma": g0, "beta": b0, "runningMean": rm0, "runningVar": rv0, "y": y,
        })


# ---------------------------------------------------------------------------------------------
# element-wise
# ---------------------------------------------------------------------------------------------

# Lengths around the 4-lane SIMD width and its tails.
ELEMENTWISE_SHAPES = [("len1", [1]), ("len7", [7]), ("len1003", [1003]), ("2x17x7x5", [2, 17, 7, 5])]


def elementwise_cases(wr, seed0):
    for i, (name, shape) in enumerate(ELEMENTWISE_SHAPES):
        length = int(np.prod(shape))
        params = {"length": length}

        r = Rng(seed0 + i)
        x0 = r.normal(*shape)
        # keep |x| > 1e-3 so that the ReLU's derivative is unambiguous
        x0 = torch.where(x0.abs() < 1e-3, torch.where(x0 < 0, x0 - 1e-2, x0 + 1e-2), x0)
        x = leaf(x0)
        y = F.relu(x)
        dy = r.normal(*shape)
        y.backward(dy)
        wr.add("relu", name, params, {"x": x0, "y": y, "dy": dy, "dx": x.grad})

        r = Rng(seed0 + 100 + i)
        x0 = r.normal(*shape, scale=3.0)
        x = leaf(x0)
        y = torch.sigmoid(x)
        dy = r.normal(*shape)
        y.backward(dy)
        wr.add("sigmoid", name, params, {"x": x0, "y": y, "dy": dy, "dx": x.grad})

        r = Rng(seed0 + 200 + i)
        a = r.normal(*shape)
        b = r.normal(*shape)
        wr.add("add", name, params, {"a": a, "b": b, "y": a + b})


# (name, n, c, h, w)
CHANNEL_CASES = [
    ("n1_c3_5x5", 1, 3, 5, 5),
    ("n2_c17_7x7", 2, 17, 7, 7),
    ("n2_c17_13x5", 2, 17, 13, 5),
    ("n3_c5_1x1", 3, 5, 1, 1),
]


def channel_scale_cases(wr, seed0):
    for i, (name, n, c, h, w) in enumerate(CHANNEL_CASES):
        r = Rng(seed0 + i)
        x0 = r.normal(n, c, h, w)
        s0 = torch.sigmoid(r.normal(n, c, scale=2.0))  # as the SE block produces it
        x, s = leaf(x0), leaf(s0)
        y = x * s[:, :, None, None]
        dy = r.normal(*y.shape)
        y.backward(dy)
        wr.add("channel_scale", name, {"n": n, "c": c, "h": h, "w": w},
               {"x": x0, "s": s0, "y": y, "dy": dy, "dx": x.grad, "ds": s.grad})


# ---------------------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------------------

def global_avg_pool_cases(wr, seed0):
    for i, (name, n, c, h, w) in enumerate(CHANNEL_CASES):
        r = Rng(seed0 + i)
        x = leaf(r.normal(n, c, h, w, scale=2.0) + 0.5)
        y = x.mean(dim=(2, 3))
        dy = r.normal(*y.shape)
        y.backward(dy)
        wr.add("global_avg_pool", name, {"n": n, "c": c, "h": h, "w": w},
               {"x": x, "y": y, "dy": dy, "dx": x.grad})


# (name, n, c, h, w, kernel, stride, pad)
MAXPOOL_CASES = [
    ("k3s2p1_n1_c3_7x7", 1, 3, 7, 7, 3, 2, 1),
    ("k3s2p1_n2_c17_13x13", 2, 17, 13, 13, 3, 2, 1),
    ("k3s2p1_n2_c3_7x5", 2, 3, 7, 5, 3, 2, 1),
    ("k2s2p0_n1_c17_7x7", 1, 17, 7, 7, 2, 2, 0),
    ("k2s2p0_n2_c3_5x5", 2, 3, 5, 5, 2, 2, 0),
    ("k2s2p0_n1_c3_13x7", 1, 3, 13, 7, 2, 2, 0),
    ("k3s1p1_n1_c5_5x7", 1, 5, 5, 7, 3, 1, 1),
]


def max_pool_cases(wr, seed0):
    for i, (name, n, c, h, w, kernel, stride, pad) in enumerate(MAXPOOL_CASES):
        r = Rng(seed0 + i)
        x = leaf(r.normal(n, c, h, w))
        y = F.max_pool2d(x, kernel, stride, pad)
        dy = r.normal(*y.shape)
        y.backward(dy)
        wr.add("max_pool2d", name,
               {"n": n, "c": c, "h": h, "w": w, "kernel": kernel, "stride": stride, "pad": pad},
               {"x": x, "y": y, "dy": dy, "dx": x.grad})


# ---------------------------------------------------------------------------------------------
# linear, loss
# ---------------------------------------------------------------------------------------------

# (name, n, inF, outF, bias)
LINEAR_CASES = [
    ("n1_in17_out10_bias", 1, 17, 10, True),
    ("n2_in64_out10_bias", 2, 64, 10, True),
    ("n8_in37_out3", 8, 37, 3, False),
    ("n5_in3_out17_bias", 5, 3, 17, True),
    ("n4_in1280_out10_bias", 4, 1280, 10, True),
]


def linear_cases(wr, seed0):
    for i, (name, n, in_f, out_f, bias) in enumerate(LINEAR_CASES):
        r = Rng(seed0 + i)
        x = leaf(r.normal(n, in_f))
        wt = leaf(r.normal(out_f, in_f, scale=1.0 / in_f ** 0.5))
        b = leaf(r.normal(out_f)) if bias else None
        y = F.linear(x, wt, b)
        dy = r.normal(*y.shape)
        y.backward(dy)
        tensors = {"x": x, "w": wt}
        if bias:
            tensors["b"] = b
        tensors.update({"y": y, "dy": dy, "dx": x.grad, "dw": wt.grad})
        if bias:
            tensors["db"] = b.grad
        wr.add("linear", name, {"n": n, "inF": in_f, "outF": out_f, "bias": bias}, tensors)


# (name, n, classes, smoothing)
CE_CASES = [
    ("n8_c10_s0", 8, 10, 0.0),
    ("n8_c10_s0.1", 8, 10, 0.1),
    ("n5_c3_s0", 5, 3, 0.0),
    ("n5_c3_s0.1", 5, 3, 0.1),
    ("n1_c10_s0.1", 1, 10, 0.1),
    ("n16_c3_s0_confident", 16, 3, 0.0),
]


def cross_entropy_cases(wr, seed0):
    for i, (name, n, classes, smoothing) in enumerate(CE_CASES):
        r = Rng(seed0 + i)
        scale = 10.0 if "confident" in name else 2.0
        logits = leaf(r.normal(n, classes, scale=scale))
        labels = r.randint(classes, n)
        loss = F.cross_entropy(logits, labels, reduction="mean", label_smoothing=smoothing)
        loss.backward()
        wr.add("cross_entropy", name, {"n": n, "classes": classes, "smoothing": smoothing}, {
            "logits": logits, "labels": labels.to(DTYPE), "loss": loss.reshape(1),
            "dlogits": logits.grad,
        })


# ---------------------------------------------------------------------------------------------
# optimizers: 3 steps with fixed gradients (not from a loss)
# ---------------------------------------------------------------------------------------------

STEPS = 3
OPT_LEN = 1003

# (name, lr, momentum, weightDecay, nesterov)
SGD_CASES = [
    ("m0.9_nesterov_wd1e-4", 0.1, 0.9, 1e-4, True),
    ("m0.9_wd1e-4", 0.1, 0.9, 1e-4, False),
    ("m0_wd0", 0.1, 0.0, 0.0, False),
    # weight decay large enough that getting it wrong is far outside the tolerance
    ("m0.9_nesterov_wd0.05", 0.1, 0.9, 0.05, True),
]


def sgd_cases(wr, seed0):
    for i, (name, lr, momentum, wd, nesterov) in enumerate(SGD_CASES):
        r = Rng(seed0 + i)
        p0 = r.normal(OPT_LEN)
        grads = r.normal(STEPS, OPT_LEN)
        p = p0.clone().requires_grad_(True)
        opt = torch.optim.SGD([p], lr=lr, momentum=momentum, weight_decay=wd, nesterov=nesterov)
        for s in range(STEPS):
            p.grad = grads[s].clone()
            opt.step()
        tensors = {"param": p0, "grads": grads, "paramOut": p}
        buf = opt.state[p].get("momentum_buffer")
        if momentum != 0:
            tensors["momentumOut"] = buf
        else:
            assert buf is None  # PyTorch keeps no buffer without momentum
        wr.add("sgd", name, {"lr": lr, "momentum": momentum, "weightDecay": wd,
                             "nesterov": nesterov, "steps": STEPS}, tensors)


# (name, lr, beta1, beta2, eps, weightDecay)
ADAMW_CASES = [
    ("lr1e-3_wd1e-2", 1e-3, 0.9, 0.999, 1e-8, 1e-2),
    ("lr1e-2_b0.8_0.99_eps1e-6_wd0.1", 1e-2, 0.8, 0.99, 1e-6, 0.1),
    ("lr5e-2_wd0", 5e-2, 0.9, 0.999, 1e-8, 0.0),
]


def adamw_cases(wr, seed0):
    for i, (name, lr, beta1, beta2, eps, wd) in enumerate(ADAMW_CASES):
        r = Rng(seed0 + i)
        # weights of the size a conv layer's have: with lr 1e-3 an update of parameters ~ 1 would
        # sit near float32's resolution, and the test compares the update (paramOut - param) too
        p0 = r.normal(OPT_LEN, scale=0.1)
        # gradients of mixed magnitudes, so that eps and the bias corrections matter
        grads = r.normal(STEPS, OPT_LEN) * torch.pow(10.0, r.uniform(-3.0, 0.0, 1, OPT_LEN))
        p = p0.clone().requires_grad_(True)
        opt = torch.optim.AdamW([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=wd,
                                amsgrad=False, foreach=False)
        for s in range(STEPS):
            p.grad = grads[s].clone()
            opt.step()
        st = opt.state[p]
        wr.add("adamw", name, {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps,
                               "weightDecay": wd, "steps": STEPS},
               {"param": p0, "grads": grads, "paramOut": p, "mOut": st["exp_avg"],
                "vOut": st["exp_avg_sq"]})


def main():
    wr = Writer()
    conv2d_cases(wr, 1000)
    batchnorm_cases(wr, 2000)
    elementwise_cases(wr, 3000)
    channel_scale_cases(wr, 4000)
    global_avg_pool_cases(wr, 5000)
    max_pool_cases(wr, 6000)
    linear_cases(wr, 7000)
    cross_entropy_cases(wr, 8000)
    sgd_cases(wr, 9000)
    adamw_cases(wr, 10000)
    size = wr.write(OUT_DIR)
    counts = {}
    for c in wr.cases:
        counts[c["op"]] = counts.get(c["op"], 0) + 1
    print(f"wrote {len(wr.cases)} cases, {size} bytes of tensors to {OUT_DIR} "
          f"(torch {torch.__version__}): " + ", ".join(f"{k} {v}" for k, v in counts.items()),
          file=sys.stderr)


if __name__ == "__main__":
    main()
