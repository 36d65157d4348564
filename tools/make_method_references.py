#!/usr/bin/env python3
"""Regenerate test/references/methods/resnet20.safetensors: PyTorch references for every attribution method.

Run from the repository root with Debian's torch (CPU, 2 threads, deterministic; about a minute of CPU, most of it
the pure-Python noise stream):

    /usr/bin/python3 tools/make_method_references.py
    /usr/bin/python3 tools/make_method_references.py --out /tmp/r.safetensors --check test/references/methods/resnet20.safetensors

An independent re-implementation of each method's formula as docs/design.md section 2 and
src/methods/*.ts define it (it shares no code with the TypeScript; the model code, ReLU-rule swap and
input normalisation come from tools/torch_models.py and tools/make_references.py). Model: the real
CIFAR ResNet-20 (../shared/data/cifar10/resnet20.safetensors); input: the first 4 test1000 images,
x/255 then (x - mean) / std; target: each image's top-1 class.

Conventions (matching the TypeScript)
  minmax(M)     (M - min) / (max - min + 1e-7) per image over (C, H, W); a constant map gives zeros
  up(M, size)   F.interpolate(M, size, mode='bilinear', align_corners=False)
  finish(M)     up(minmax(ReLU(M)), 32x32)                       (src/methods/common.ts finishCam)
  objective     sum_n logits[n, target_n]; g = d objective / d A at the layer's output (standard ReLU rule)
  ReLU rules    standard R*[z>0]; guided R*[z>0]*[R>0]; deconvnet R*[R>0], at every ReLU (incl. after adds)

Tensors (all F32 unless noted; heatmaps (4,1,32,32) in [0,1], signed maps (4,3,32,32))
  input, logits                     the normalised input, its logits
  targets                           I64 (4,), argmax of the logits
  saliency                          minmax(max_c |d y_t / d x|)
  deconvnet, guided_backprop        signed input gradient under that ReLU rule
  guided_backprop_neuron            guided-rule input gradient from one unit of `layer2.0`'s output: the seed is
                                    zeros except A[n, c, i, j] at the strongest activation (argmax over C*H*W,
                                    first max wins; 1 where that activation is exactly 0)
  guided_backprop_neuron_units      I64 (4, 3): channel, row, col of that unit per image
  cam                               finish(sum_k w[t, k] A_k), A = layer3 output, w = linear.weight (no bias)
  cam_raw                           (4,1,8,8) sum_k w[t, k] A_k, before ReLU and normalisation
  grad_cam_layer3, grad_cam_layer2  finish(sum_k mean_ij(g_k) A_k)
  grad_cam_raw                      (4,1,8,8) sum_k mean_ij(g_k) A_k at layer3, before ReLU and normalisation
  guided_grad_cam                   guided_backprop * grad_cam_layer3 (broadcast over channels)
  layer_cam_layer3, layer_cam_layer2  minmax(up(sum_k ReLU(g_k) * A_k, 32x32))
  layer_cam_fused                   layers [layer2, layer3]: T_l = tanh(2 minmax(sum_k ReLU(g_k) A_k)) at each
                                    layer's resolution, up to the largest (16x16), element-wise max, then
                                    minmax(up(., 32x32))
  hybrid                            clamp(grad_cam_layer3, 0, 1)^0.7 * clamp(layer_cam_layer3, 0, 1)^0.3
  grad_cam_plus_plus_layer2, xgrad_cam_layer2, hires_cam_layer2   the same three at layer2 (at layer3 XGrad-CAM
                                    and HiResCAM equal Grad-CAM: the gradient of a GAP head is spatially constant)
  grad_cam_plus_plus                finish(sum_k w_k A_k), w_k = sum_ij a * ReLU(g),
                                    a = g^2 / (2 g^2 + sum_ij(A_k) g^3 + 1e-7)   (layer3)
  xgrad_cam                         finish(sum_k w_k A_k), w_k = sum_ij(g A) / (sum_ij A + 1e-7)   (layer3)
  hires_cam                         finish(sum_k g_k A_k) (element-wise, no averaging)   (layer3)
  smoothgrad                        minmax(max_c |mean_s d y_t / d x_s|), x_s = x + sigma_n * noise, 8 samples,
                                    sigma_n = 0.15 (max(x_n) - min(x_n)); noise from src/util/random.ts
                                    gaussianRandom(0) (mulberry32 + Box-Muller, cos first then the spare sin;
                                    Math.log/sin/cos as Node 20's V8 computes them: fdlibm, ported below),
                                    ONE stream consumed image-major, then sample, then pixel (C*H*W order); each
                                    noisy value computed in float64 as x + sigma * z and rounded to float32
  integrated_gradients              (x - 0) * (1/16) sum_{k=1..16} d y_t / d x at (k/16) x (right Riemann sum;
                                    the scaled input computed in float64, rounded to float32)
Metadata records every parameter, the targets, the chosen units, a check of the noise stream
(first values and float64 sum) and the (image, class, layer) cases whose raw Grad-CAM is negative everywhere.
"""
from __future__ import annotations

import argparse
import json
import math
import struct
import os
import sys
import time
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import make_references as mr  # noqa: E402  (build_model, swap_relus)
from safetensors_io import load_file, save_file  # noqa: E402

EPS = 1e-7
MODEL = "resnet20"
LAYER = "layer3"            # the last stage (TS defaultCamLayer for cifar_resnet)
LAYER_EARLY = "layer2"
NEURON_LAYER = "layer2.0"
FUSED_LAYERS = ["layer2", "layer3"]
HYBRID_ALPHA = 0.7
SG_SAMPLES, SG_SIGMA, SG_SEED = 8, 0.15, 0
IG_STEPS, IG_BASELINE = 16, 0.0
NOISE_HEAD = 8
NEG_SEARCH_LAYERS = ("layer3", "layer3.1", "layer3.0", "layer2", "layer2.1", "layer2.0",
                     "layer1", "layer1.1", "layer1.0", "relu")


# ----------------------------------------------------------------------------------------- fdlibm (V8's Math.*)
# Node 20's V8 computes Math.log / Math.sin / Math.cos with its port of fdlibm (src/base/ieee754.cc), which
# differs from glibc's libm in the last bit for ~5% of the Box-Muller inputs. To reproduce the TS stream bit for
# bit these are straight ports of fdlibm's e_log.c, k_sin.c, k_cos.c (V8's variant) and the small/medium paths
# of e_rem_pio2.c (all that |theta| < 2 pi needs); constants written as their IEEE hex words. Verified against
# Node 20 on every value this script draws. Newer V8 (2024+) uses llvm-libc for these functions instead, so
# the JS stream itself is engine-version dependent; see smoothgrad_noise_* in the metadata.
def _bits(x): return struct.unpack('<q', struct.pack('<d', x))[0]
def _from(b): return struct.unpack('<d', struct.pack('<q', b))[0]
def hi(x): return _bits(x) >> 32            # signed high word
def lo(x): return _bits(x) & 0xFFFFFFFF
def insert(h, l): return struct.unpack('<d', struct.pack('<Q', ((h & 0xFFFFFFFF) << 32) | (l & 0xFFFFFFFF)))[0]
def set_hi(x, h): return insert(h, lo(x))
def set_lo(x, l): return insert(hi(x), l)
def hexd(h, l): return insert(h, l)

LN2_HI = hexd(0x3FE62E42, 0xFEE00000); LN2_LO = hexd(0x3DEA39EF, 0x35793C76); TWO54 = hexd(0x43500000, 0)
LG = [hexd(0x3FE55555, 0x55555593), hexd(0x3FD99999, 0x9997FA04), hexd(0x3FD24924, 0x94229359),
      hexd(0x3FCC71C5, 0x1D8E78AF), hexd(0x3FC74664, 0x96CB03DE), hexd(0x3FC39A09, 0xD078C69F),
      hexd(0x3FC2F112, 0xDF3E5244)]
Lg1, Lg2, Lg3, Lg4, Lg5, Lg6, Lg7 = LG
def log(x):
    hx = hi(x); lx = lo(x); k = 0
    if hx < 0x00100000:
        if ((hx & 0x7FFFFFFF) | lx) == 0: return float('-inf')
        if hx < 0: return float('nan')
        k -= 54; x *= TWO54; hx = hi(x)
    if hx >= 0x7FF00000: return x + x
    k += (hx >> 20) - 1023
    hx &= 0x000FFFFF
    i = (hx + 0x95F64) & 0x100000
    x = set_hi(x, hx | (i ^ 0x3FF00000))
    k += i >> 20
    f = x - 1.0
    if (0x000FFFFF & (2 + hx)) < 3:
        if f == 0.0:
            if k == 0: return 0.0
            dk = float(k); return dk * LN2_HI + dk * LN2_LO
        R = f * f * (0.5 - 0.33333333333333333 * f)
        if k == 0: return f - R
        dk = float(k); return dk * LN2_HI - ((R - dk * LN2_LO) - f)
    s = f / (2.0 + f); dk = float(k); z = s * s
    i = hx - 0x6147A; w = z * z; j = 0x6B851 - hx
    t1 = w * (Lg2 + w * (Lg4 + w * Lg6))
    t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)))
    i |= j; R = t2 + t1
    if i > 0:
        hfsq = 0.5 * f * f
        if k == 0: return f - (hfsq - s * (hfsq + R))
        return dk * LN2_HI - ((hfsq - (s * (hfsq + R) + dk * LN2_LO)) - f)
    if k == 0: return f - s * (f - R)
    return dk * LN2_HI - ((s * (f - R) - dk * LN2_LO) - f)

S1 = hexd(0xBFC55555, 0x55555549); S2 = hexd(0x3F811111, 0x1110F8A6); S3 = hexd(0xBF2A01A0, 0x19C161D5)
S4 = hexd(0x3EC71DE3, 0x57B1FE7D); S5 = hexd(0xBE5AE5E6, 0x8A2B9CEB); S6 = hexd(0x3DE5D93A, 0x5ACFD57C)
def k_sin(x, y, iy):
    ix = hi(x) & 0x7FFFFFFF
    if ix < 0x3E400000 and int(x) == 0: return x
    z = x * x; v = z * x; r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)))
    if iy == 0: return x + v * (S1 + z * r)
    return x - ((z * (0.5 * y - v * r) - y) - v * S1)

C1 = hexd(0x3FA55555, 0x5555554C); C2 = hexd(0xBF56C16C, 0x16C15177); C3 = hexd(0x3EFA01A0, 0x19CB1590)
C4 = hexd(0xBE927E4F, 0x809C52AD); C5 = hexd(0x3E21EE9E, 0xBDB4B1C4); C6 = hexd(0xBDA8FAE9, 0xBE8838D4)
def k_cos(x, y):
    ix = hi(x) & 0x7FFFFFFF
    if ix < 0x3E400000 and int(x) == 0: return 1.0
    z = x * x
    r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))))
    if ix < 0x3FD33333: return 1.0 - (0.5 * z - (z * r - x * y))
    qx = 0.28125 if ix > 0x3FE90000 else insert(ix - 0x00200000, 0)
    iz = 0.5 * z - qx; a = 1.0 - qx
    return a - (iz - (z * r - x * y))

NPIO2_HW = [0x3FF921FB, 0x400921FB, 0x4012D97C, 0x401921FB, 0x401F6A7A, 0x4022D97C, 0x4025FDBB, 0x402921FB,
            0x402C463A, 0x402F6A7A, 0x4031475C, 0x4032D97C, 0x40346B9C, 0x4035FDBB, 0x40378FDB, 0x403921FB,
            0x403AB41B, 0x403C463A, 0x403DD85A, 0x403F6A7A, 0x40407E4C, 0x4041475C, 0x4042106C, 0x4042D97C,
            0x4043A28C, 0x40446B9C, 0x404534AC, 0x4045FDBB, 0x4046C6CB, 0x40478FDB, 0x404858EB, 0x404921FB]
INVPIO2 = hexd(0x3FE45F30, 0x6DC9C883); PIO2_1 = hexd(0x3FF921FB, 0x54400000); PIO2_1T = hexd(0x3DD0B461, 0x1A626331)
PIO2_2 = hexd(0x3DD0B461, 0x1A600000); PIO2_2T = hexd(0x3BA3198A, 0x2E037073)
PIO2_3 = hexd(0x3BA3198A, 0x2E000000); PIO2_3T = hexd(0x397B839A, 0x252049C1)
def rem_pio2(x):
    hx = hi(x); ix = hx & 0x7FFFFFFF
    if ix <= 0x3FE921FB: return 0, x, 0.0
    if ix < 0x4002D97C:
        if hx > 0:
            z = x - PIO2_1
            if ix != 0x3FF921FB:
                y0 = z - PIO2_1T; y1 = (z - y0) - PIO2_1T
            else:
                z -= PIO2_2; y0 = z - PIO2_2T; y1 = (z - y0) - PIO2_2T
            return 1, y0, y1
        z = x + PIO2_1
        if ix != 0x3FF921FB:
            y0 = z + PIO2_1T; y1 = (z - y0) + PIO2_1T
        else:
            z += PIO2_2; y0 = z + PIO2_2T; y1 = (z - y0) + PIO2_2T
        return -1, y0, y1
    if ix <= 0x413921FB:
        t = abs(x); n = int(t * INVPIO2 + 0.5); fn = float(n)
        r = t - fn * PIO2_1; w = fn * PIO2_1T
        if n < 32 and ix != NPIO2_HW[n - 1]:
            y0 = r - w
        else:
            j = ix >> 20; y0 = r - w
            i = j - ((hi(y0) >> 20) & 0x7FF)
            if i > 16:
                t = r; w = fn * PIO2_2; r = t - w; w = fn * PIO2_2T - ((t - r) - w); y0 = r - w
                i = j - ((hi(y0) >> 20) & 0x7FF)
                if i > 49:
                    t = r; w = fn * PIO2_3; r = t - w; w = fn * PIO2_3T - ((t - r) - w); y0 = r - w
        y1 = (r - y0) - w
        if hx < 0: return -n, -y0, -y1
        return n, y0, y1
    raise ValueError("large argument reduction not ported")

def sin(x):
    ix = hi(x) & 0x7FFFFFFF
    if ix <= 0x3FE921FB: return k_sin(x, 0.0, 0)
    n, y0, y1 = rem_pio2(x)
    m = n & 3
    return [k_sin(y0, y1, 1), k_cos(y0, y1), -k_sin(y0, y1, 1), -k_cos(y0, y1)][m]

def cos(x):
    ix = hi(x) & 0x7FFFFFFF
    if ix <= 0x3FE921FB: return k_cos(x, 0.0)
    n, y0, y1 = rem_pio2(x)
    m = n & 3
    return [k_cos(y0, y1), -k_sin(y0, y1, 1), -k_cos(y0, y1), k_sin(y0, y1, 1)][m]


# ----------------------------------------------------------------------------------------- RNG (src/util/random.ts)
def uniform_random(seed: int):
    """mulberry32, bit for bit: every JS int32 operation done mod 2^32 on unsigned values."""
    M = 0xFFFFFFFF
    s = seed & M

    def imul(a, b):
        return (a * b) & M

    def nxt():
        nonlocal s
        s = (s + 0x6D2B79F5) & M
        t = s
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & M
        return ((t ^ (t >> 14)) & M) / 4294967296.0

    return nxt


def gaussian_random(seed: int):
    """Box-Muller as gaussianRandom: r cos(theta) first, r sin(theta) on the next call."""
    u = uniform_random(seed)
    spare = None

    def nxt():
        nonlocal spare
        if spare is not None:
            v, spare = spare, None
            return v
        r = math.sqrt(-2.0 * log(1.0 - u()))  # sqrt is correctly rounded everywhere
        theta = 2.0 * math.pi * u()
        spare = r * sin(theta)
        return r * cos(theta)

    return nxt


# ----------------------------------------------------------------------------------------- helpers
def minmax(m: torch.Tensor) -> torch.Tensor:
    lo = m.amin(dim=(1, 2, 3), keepdim=True)
    hi = m.amax(dim=(1, 2, 3), keepdim=True)
    return (m - lo) / (hi - lo + EPS)


def up(m: torch.Tensor, size) -> torch.Tensor:
    return F.interpolate(m, size=tuple(size), mode="bilinear", align_corners=False)


def finish_cam(m: torch.Tensor, size) -> torch.Tensor:
    return up(minmax(torch.relu(m)), size)


class Runner:
    def __init__(self):
        self.model, self.x, self.info = mr.build_model(MODEL)
        self.state = mr.swap_relus(self.model)
        self.modules = dict(self.model.named_modules())
        self.size = list(self.x.shape[2:])
        with torch.no_grad():
            self.logits = self.model(self.x)
        self.targets = self.logits.argmax(1)

    def forward(self, x, layers=(), rule="standard"):
        """logits and the named modules' outputs (kept in the autograd graph)."""
        self.state["rule"] = rule
        captured = {}
        handles = [self.modules[l].register_forward_hook(lambda _m, _i, out, l=l: captured.__setitem__(l, out))
                   for l in layers]
        try:
            logits = self.model(x)
        finally:
            for h in handles:
                h.remove()
        return logits, captured

    @staticmethod
    def objective(logits, targets):
        return logits.gather(1, targets[:, None]).sum()

    def input_grad(self, x, targets, rule="standard"):
        xi = x.clone().requires_grad_(True)
        logits, _ = self.forward(xi, rule=rule)
        (g,) = torch.autograd.grad(self.objective(logits, targets), xi)
        return g

    def act_grad(self, layer, targets, x=None):
        x = self.x if x is None else x
        xi = x.clone().requires_grad_(True)  # so the layer output is part of the autograd graph
        logits, cap = self.forward(xi, [layer])
        A = cap[layer]
        (g,) = torch.autograd.grad(self.objective(logits, targets), A)
        return A.detach(), g

    # ------------------------------------------------------------------ methods
    def saliency_from(self, g):
        return minmax(g.abs().amax(dim=1, keepdim=True))

    def neuron(self, layer, rule):
        xi = self.x.clone().requires_grad_(True)
        _, cap = self.forward(xi, [layer], rule=rule)
        A = cap[layer]
        n, c, h, w = A.shape
        vals = A.detach().reshape(n, -1).numpy()
        flat = vals.argmax(axis=1)  # numpy: first maximum wins
        seed = torch.zeros_like(A)
        units = []
        for i, k in enumerate(flat):
            v = float(vals[i, k])
            seed.view(n, -1)[i, k] = v if v != 0 else 1.0
            units.append([int(k // (h * w)), int((k % (h * w)) // w), int(k % w)])
        (g,) = torch.autograd.grad(A, xi, grad_outputs=seed)
        return g, np.array(units, dtype=np.int64), [float(vals[i, k]) for i, k in enumerate(flat)]

    def cam_raw(self, targets):
        with torch.no_grad():
            _, cap = self.forward(self.x, [LAYER])
        A = cap[LAYER]
        w = self.model.linear.weight[targets]  # (N, K)
        return (A * w[:, :, None, None]).sum(1, keepdim=True)

    def grad_cam_raw(self, layer, targets):
        A, g = self.act_grad(layer, targets)
        return (g.mean(dim=(2, 3), keepdim=True) * A).sum(1, keepdim=True)

    def layer_cam_raw(self, layer, targets):
        A, g = self.act_grad(layer, targets)
        return (torch.relu(g) * A).sum(1, keepdim=True)

    def layer_cam(self, layer, targets):
        return minmax(up(self.layer_cam_raw(layer, targets), self.size))

    def layer_cam_fused(self, layers, targets):
        scaled = [torch.tanh(2 * minmax(self.layer_cam_raw(l, targets))) for l in layers]
        largest = max(scaled, key=lambda s: s.shape[2] * s.shape[3])  # first of the largest, as TS
        size = list(largest.shape[2:])
        fused = None
        for s in scaled:
            u = s if list(s.shape[2:]) == size else up(s, size)
            fused = u if fused is None else torch.maximum(fused, u)
        return minmax(up(fused, self.size))

    def variant_raw(self, method, layer, targets):
        A, g = self.act_grad(layer, targets)
        if method == "hires_cam":
            wts = g
        elif method == "xgrad_cam":
            wts = (g * A).sum(dim=(2, 3), keepdim=True) / (A.sum(dim=(2, 3), keepdim=True) + EPS)
        elif method == "grad_cam_plus_plus":
            g2 = g * g
            g3 = g2 * g
            sum_a = A.sum(dim=(2, 3), keepdim=True)
            a = g2 / (2 * g2 + sum_a * g3 + EPS)
            wts = (a * torch.relu(g)).sum(dim=(2, 3), keepdim=True)
        else:
            raise ValueError(method)
        return (wts * A).sum(1, keepdim=True)

    def smoothgrad(self, targets):
        x = self.x.numpy().astype(np.float64)
        n = x.shape[0]
        plane = x[0].size
        rng = gaussian_random(SG_SEED)
        head, total = [], 0.0
        grads = []
        for i in range(n):
            src = x[i].reshape(-1)
            sigma = SG_SIGMA * (src.max() - src.min())
            noise = np.empty((SG_SAMPLES, plane), dtype=np.float64)
            for s in range(SG_SAMPLES):
                row = noise[s]
                for p in range(plane):
                    z = rng()
                    if len(head) < NOISE_HEAD:
                        head.append(z)
                    total += z
                    row[p] = z
            noisy = (src[None, :] + sigma * noise).astype(np.float32).reshape(SG_SAMPLES, *x.shape[1:])
            g = self.input_grad(torch.from_numpy(noisy), targets[i].repeat(SG_SAMPLES))
            grads.append(g.sum(0) * (1.0 / SG_SAMPLES))
        mean = torch.stack(grads)
        return self.saliency_from(mean), head, total

    def integrated_gradients(self, targets):
        x64 = self.x.numpy().astype(np.float64)
        base = np.full_like(x64, IG_BASELINE)
        total = torch.zeros_like(self.x)
        for i in range(x64.shape[0]):
            alphas = np.arange(1, IG_STEPS + 1, dtype=np.float64) / IG_STEPS
            path = (base[i][None] + alphas[:, None, None, None] * (x64[i][None] - base[i][None])).astype(np.float32)
            g = self.input_grad(torch.from_numpy(path), targets[i].repeat(IG_STEPS))
            total[i] = g.sum(0)
        delta = self.x - torch.from_numpy(base.astype(np.float32))
        return delta * (total * (1.0 / IG_STEPS))

    def negative_grad_cam_cases(self, layers=NEG_SEARCH_LAYERS):
        """(image, class, layer) whose raw Grad-CAM is < 0 at every position, with its max value."""
        cases = []
        n = self.x.shape[0]
        for layer in layers:
            for c in range(self.logits.shape[1]):
                raw = self.grad_cam_raw(layer, torch.full((n,), c, dtype=torch.long))
                mx = raw.amax(dim=(1, 2, 3))
                for i in range(n):
                    if float(mx[i]) < 0:
                        cases.append({"image": i, "class": c, "layer": layer, "max_raw": float(mx[i]),
                                      "top1": int(self.targets[i]), "logit": float(self.logits[i, c])})
        return cases


def run():
    R = Runner()
    t = R.targets
    out = OrderedDict()
    out["input"] = R.x.numpy()
    out["logits"] = R.logits.numpy()
    out["targets"] = t.numpy().astype(np.int64)

    out["saliency"] = R.saliency_from(R.input_grad(R.x, t, "standard"))
    out["deconvnet"] = R.input_grad(R.x, t, "deconvnet")
    gb = R.input_grad(R.x, t, "guided")
    out["guided_backprop"] = gb
    g_neuron, units, unit_values = R.neuron(NEURON_LAYER, "guided")
    out["guided_backprop_neuron"] = g_neuron
    out["guided_backprop_neuron_units"] = units

    cam_raw = R.cam_raw(t)
    out["cam"] = finish_cam(cam_raw, R.size)
    out["cam_raw"] = cam_raw
    gc_raw3 = R.grad_cam_raw(LAYER, t)
    out["grad_cam_layer3"] = finish_cam(gc_raw3, R.size)
    out["grad_cam_layer2"] = finish_cam(R.grad_cam_raw(LAYER_EARLY, t), R.size)
    out["grad_cam_raw"] = gc_raw3
    out["guided_grad_cam"] = gb * out["grad_cam_layer3"]
    out["layer_cam_layer3"] = R.layer_cam(LAYER, t)
    out["layer_cam_layer2"] = R.layer_cam(LAYER_EARLY, t)
    out["layer_cam_fused"] = R.layer_cam_fused(FUSED_LAYERS, t)
    out["hybrid"] = (out["grad_cam_layer3"].clamp(0, 1).pow(HYBRID_ALPHA)
                     * out["layer_cam_layer3"].clamp(0, 1).pow(1 - HYBRID_ALPHA))
    for m in ("grad_cam_plus_plus", "xgrad_cam", "hires_cam"):
        out[m] = finish_cam(R.variant_raw(m, LAYER, t), R.size)
    # At the last stage of a GAP + linear head g is spatially constant (w / (H W)), so XGrad-CAM and HiResCAM
    # coincide with Grad-CAM there; layer2 is where the three formulas differ.
    for m in ("grad_cam_plus_plus", "xgrad_cam", "hires_cam"):
        out[f"{m}_layer2"] = finish_cam(R.variant_raw(m, LAYER_EARLY, t), R.size)
    out["smoothgrad"], noise_head, noise_sum = R.smoothgrad(t)
    out["integrated_gradients"] = R.integrated_gradients(t)
    negatives = R.negative_grad_cam_cases()

    # Self-checks of the reference itself (not of the TS).
    hw = cam_raw.shape[2] * cam_raw.shape[3]
    ident = float((torch.relu(gc_raw3) - torch.relu(cam_raw) / hw).abs().max())
    ident_scale = float(torch.relu(cam_raw).abs().max() / hw)
    ig_sum = out["integrated_gradients"].sum(dim=(1, 2, 3))
    with torch.no_grad():
        y0 = R.model(torch.zeros_like(R.x)).gather(1, t[:, None])[:, 0]
    completeness = (ig_sum - (R.logits.gather(1, t[:, None])[:, 0] - y0)).tolist()

    out = OrderedDict((k, v.detach().numpy() if torch.is_tensor(v) else v) for k, v in out.items())
    meta = {
        "model": MODEL,
        "architecture": "cifar_resnet",
        "weights": R.info["weights"],
        "input": R.info["input"],
        "labels": R.info["labels"],
        "targets": json.dumps([int(v) for v in t]),
        "target_rule": "top-1: argmax of the logits per image",
        "objective": "sum_n logits[n, target_n]; layer gradients under the standard ReLU rule",
        "minmax": "(M - min) / (max - min + 1e-7) per image over (C, H, W)",
        "upsample": "F.interpolate(mode='bilinear', align_corners=False) to 32x32",
        "finish_cam": "up(minmax(relu(M)))",
        "params": json.dumps({
            "cam": {"layer": LAYER, "head": "linear.weight[target] (no bias)"},
            "grad_cam": {"layers": [LAYER, LAYER_EARLY]},
            "guided_grad_cam": {"layer": LAYER},
            "layer_cam": {"layers": [LAYER, LAYER_EARLY]},
            "layer_cam_fused": {"layers": FUSED_LAYERS, "scale": "tanh(2 * minmax(raw))"},
            "hybrid": {"layer": LAYER, "alpha": HYBRID_ALPHA},
            "grad_cam_plus_plus": {"layers": [LAYER, LAYER_EARLY], "eps": EPS},
            "xgrad_cam": {"layers": [LAYER, LAYER_EARLY], "eps": EPS},
            "hires_cam": {"layers": [LAYER, LAYER_EARLY]},
            "guided_backprop_neuron": {"layer": NEURON_LAYER, "rule": "guided", "unit": "argmax over C*H*W"},
            "smoothgrad": {"samples": SG_SAMPLES, "sigma": SG_SIGMA, "seed": SG_SEED, "batch": "any",
                           "sigma_abs": "sigma * (max(x_n) - min(x_n))"},
            "integrated_gradients": {"steps": IG_STEPS, "baseline": IG_BASELINE, "rule": "riemann_right"},
        }),
        "neuron_units": json.dumps(units.tolist()),
        "neuron_unit_values": json.dumps(unit_values),
        "smoothgrad_noise_head": json.dumps(noise_head),
        "smoothgrad_noise_count": str(int(SG_SAMPLES * R.x.numel())),
        "smoothgrad_noise_sum": repr(noise_sum),
        "smoothgrad_noise_math": "Math.log/sin/cos as fdlibm (Node 20 / V8 11.x); sum in stream order, float64",
        "negative_grad_cam_search": json.dumps({"layers": list(NEG_SEARCH_LAYERS), "classes": "all 10",
                                                "images": "all 4", "criterion": "max raw Grad-CAM < 0"}),
        "negative_grad_cam_cases": json.dumps(negatives),
        "check_gradcam_vs_cam": f"max |relu(grad_cam_raw) - relu(cam_raw)/{hw}| = {ident:.3e} (scale {ident_scale:.3e})",
        "check_ig_completeness": json.dumps(completeness),
        "torch_version": torch.__version__,
        "generator": "tools/make_method_references.py",
    }
    return out, meta


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "references", "methods", f"{MODEL}.safetensors"))
    ap.add_argument("--check", metavar="FILE", help="after writing, compare byte for byte with FILE")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    tensors, meta = run()
    dtypes = {k: ("I64" if v.dtype == np.int64 else "F32") for k, v in tensors.items()}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    size = save_file(tensors, args.out, metadata=meta, dtypes=dtypes)
    print(f"{args.out}: {size:,} bytes in {time.time() - t0:.1f} s; targets {meta['targets']}")
    ok = True
    for k, v in tensors.items():
        finite = bool(np.all(np.isfinite(v)))
        ok &= finite
        print(f"    {k:30s} {dtypes[k]} {str(list(v.shape)):16s} min {v.min():+.4g} max {v.max():+.4g} "
              f"zeros {100 * float((v == 0).mean()):5.1f}%{'' if finite else '  NOT FINITE'}")
    print(f"  neuron units (c, i, j) at {NEURON_LAYER}: {meta['neuron_units']}")
    print(f"  {meta['check_gradcam_vs_cam']}")
    print(f"  IG completeness error per image: {meta['check_ig_completeness']}")
    print(f"  noise head {meta['smoothgrad_noise_head']}; sum {meta['smoothgrad_noise_sum']}")
    neg = json.loads(meta["negative_grad_cam_cases"])
    print(f"  all-negative raw Grad-CAM cases: {len(neg)}: "
          + ", ".join(f"img {c['image']} class {c['class']} {c['layer']} (max {c['max_raw']:.3g})" for c in neg[:12]))
    if args.check:
        same = open(args.check, "rb").read() == open(args.out, "rb").read()
        print(f"  identical to {args.check}: {same}")
        ok &= same
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
