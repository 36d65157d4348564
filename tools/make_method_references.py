#!/usr/bin/env python3
"""Regenerate test/references/methods/resnet20.safetensors: PyTorch references for every attribution method.

Run from the repository root with Debian's torch (CPU, 2 threads, deterministic; under a minute of CPU):

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
  finish(M)     minmax(up(ReLU(M), 32x32)): every heatmap is normalised after upsampling (pytorch-grad-cam's
                convention; src/methods/common.ts finishCam)
  objective     sum_n logits[n, target_n]; g = d objective / d A at the layer's output (standard ReLU rule)
  ReLU rules    standard R*[z>0]; guided R*[z>0]*[R>0]; deconvnet R*[R>0], at every ReLU (incl. after adds)
  noise         src/util/random.ts, ported below: a counter hash (lowbias32) gives 32-bit integers, and the
                inverse normal CDF (Acklam's rational approximation, with a logarithm built from + - * / only)
                maps them to normals; only IEEE-754 basic operations and sqrt, so Python and every JavaScript
                engine agree bit for bit

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
  layer_cam_layer3, layer_cam_layer2  finish(sum_k ReLU(g_k) * A_k)
  layer_cam_fused                   layers [layer2, layer3]: T_l = tanh(2 minmax(sum_k ReLU(g_k) A_k)) at each
                                    layer's resolution, up to the largest (16x16), element-wise max, then
                                    minmax(up(., 32x32))
  hybrid                            clamp(grad_cam_layer3, 0, 1)^0.7 * clamp(layer_cam_layer3, 0, 1)^0.3
  grad_cam_plus_plus_layer2, xgrad_cam_layer2, hires_cam_layer2   the same three at layer2 (at layer3 XGrad-CAM
                                    and HiResCAM equal Grad-CAM: the gradient of a GAP head is spatially constant)
  grad_cam_plus_plus                finish(sum_k w_k A_k), w_k = sum_ij a * ReLU(g),
                                    a = g^2 / (2 g^2 + sum_ij(A_k) g^3 + 1e-6)  (pytorch-grad-cam's eps; layer3)
  xgrad_cam                         finish(sum_k w_k A_k), w_k = sum_ij(g A) / (sum_ij A + 1e-7)   (layer3)
  hires_cam                         finish(sum_k g_k A_k) (element-wise, no averaging)   (layer3)
  score_cam_layer3, score_cam_layer2  finish(sum_k w_k A_k), w = softmax_k(y_t(x * M_k)), M_k = minmax(up_ac(A_k))
                                    per channel, up_ac = bilinear with align_corners=True (the TypeScript's formula)
  score_cam_pgc_layer3              pytorch-grad-cam's ScoreCAM exactly: as above but the masks' min-max eps is 1e-8
                                    (and a constant channel is not special-cased)
  smoothgrad                        minmax(max_c |mean_s d y_t / d x_s|), x_s = x + sigma_n * z_s, 8 samples,
                                    sigma_n = 0.15 (max(x_n) - min(x_n)); z_s[p] = normal p of stream s under
                                    seed 0 (the same noise for every image); x_s computed in float64, rounded to
                                    float32
  smoothgrad_absolute               the same with sigma = 0.5 in normalised-input units, 4 samples, seed 7
  integrated_gradients              (x - 0) * (1/16) sum_{k=1..16} d y_t / d x at (k/16) x (right Riemann sum;
                                    the scaled input computed in float64, rounded to float32)
  integrated_gradients_gl_black     Gauss-Legendre rule on 8 points (numpy's leggauss mapped to [0, 1]) from the
                                    black baseline x' = -mean/std per channel: (x - x') sum_k w_k grad(x' + a_k (x - x'))
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
import torch_models as tm  # noqa: E402  (CIFAR_MEAN, CIFAR_STD)
from safetensors_io import load_file, save_file  # noqa: E402

EPS = 1e-7                  # the engine's minmax eps; XGrad-CAM's (pytorch-grad-cam's 1e-7 too)
GRAD_CAM_PP_EPS = 1e-6      # pytorch-grad-cam's Grad-CAM++ eps
SCORE_CAM_PGC_EPS = 1e-8    # pytorch-grad-cam's Score-CAM mask eps
MODEL = "resnet20"
LAYER = "layer3"            # the last stage (TS defaultCamLayer for cifar_resnet)
LAYER_EARLY = "layer2"
NEURON_LAYER = "layer2.0"
FUSED_LAYERS = ["layer2", "layer3"]
HYBRID_ALPHA = 0.7
SG_SAMPLES, SG_SIGMA, SG_SEED = 8, 0.15, 0
SG_ABS_SAMPLES, SG_ABS_SIGMA, SG_ABS_SEED = 4, 0.5, 7
IG_STEPS, IG_BASELINE = 16, 0.0
IG_GL_STEPS = 8
NOISE_HEAD = 8
NEG_SEARCH_LAYERS = ("layer3", "layer3.1", "layer3.0", "layer2", "layer2.1", "layer2.0",
                     "layer1", "layer1.1", "layer1.0", "relu")


# ----------------------------------------------------------------------------------------- noise (src/util/random.ts)
# A port of the TypeScript, operation for operation: integers mod 2^32, then only + - * / and sqrt on float64,
# which IEEE 754 rounds the same everywhere. Python evaluates a * b + c as two rounded operations, like JS.
U32 = 0xFFFFFFFF
TWO_32 = 4294967296.0


def hash32(x):
    """lowbias32: x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16 (mod 2^32)."""
    x &= U32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & U32
    x ^= x >> 15
    x = (x * 0x846CA68B) & U32
    x ^= x >> 16
    return x


def stream_key(seed, stream=0):
    return hash32((hash32((seed + 0x9E3779B9) & U32) + ((stream * 0x6A09E667) & U32) + 0xBB67AE85) & U32)


def counter_bits(key, counter):
    return hash32((hash32((counter ^ key) & U32) + key + 0x9E3779B9) & U32)


LN2 = 0.6931471805599453
SQRT2 = 1.4142135623730951
ATANH_TERMS = 13
ATANH_COEFFS = [1 / (2 * n + 1) for n in range(ATANH_TERMS)]


def log_of_odd_over_2_33(m):
    """ln(m / 2^33) for odd 0 < m < 2^33: exact scaling to [sqrt(1/2), sqrt(2)), then 2 atanh((f-1)/(f+1))."""
    e, p = 0, 1.0
    while p * 2 <= m:
        p *= 2
        e += 1
    f = m / p
    if f > SQRT2:
        f /= 2
        e += 1
    s = (f - 1) / (f + 1)
    s2 = s * s
    poly = ATANH_COEFFS[ATANH_TERMS - 1]
    for n in range(ATANH_TERMS - 2, -1, -1):
        poly = poly * s2 + ATANH_COEFFS[n]
    return 2 * s * poly + (e - 33) * LN2


# P. J. Acklam's inverse normal CDF.
ACK_A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
         2.506628277459239]
ACK_B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1]
ACK_C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
         2.938163982698783]
ACK_D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416]
TAIL_BITS = math.floor(0.02425 * TWO_32)


def lower_tail(k):
    c, d = ACK_C, ACK_D
    q = math.sqrt(-2 * log_of_odd_over_2_33(2 * k + 1))
    num = ((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]
    den = (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
    return num / den


def bits_to_normal(bits):
    if bits < TAIL_BITS:
        return lower_tail(bits)
    if bits > TWO_32 - 1 - TAIL_BITS:
        return -lower_tail(int(TWO_32) - 1 - bits)
    a, b = ACK_A, ACK_B
    q = (bits + 0.5) / TWO_32 - 0.5
    r = q * q
    num = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
    den = ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1
    return num / den


def normal_stream(seed, stream, count):
    key = stream_key(seed, stream)
    return [bits_to_normal(counter_bits(key, i)) for i in range(count)]


def check_inverse_cdf():
    """Max |z - ndtri(p)| over 20000 spread integers and both extreme ends (the approximation, not the port)."""
    bits = [int(i * (TWO_32 - 1) / 19999) for i in range(20000)] + list(range(64)) + [int(TWO_32) - 1 - i for i in range(64)]
    z = torch.tensor([bits_to_normal(b) for b in bits], dtype=torch.float64)
    p = torch.tensor([(b + 0.5) / TWO_32 for b in bits], dtype=torch.float64)
    return float((z - torch.special.ndtri(p)).abs().max())


# ----------------------------------------------------------------------------------------- helpers
def minmax(m: torch.Tensor) -> torch.Tensor:
    lo = m.amin(dim=(1, 2, 3), keepdim=True)
    hi = m.amax(dim=(1, 2, 3), keepdim=True)
    return (m - lo) / (hi - lo + EPS)


def up(m: torch.Tensor, size) -> torch.Tensor:
    return F.interpolate(m, size=tuple(size), mode="bilinear", align_corners=False)


def finish_cam(m: torch.Tensor, size) -> torch.Tensor:
    return minmax(up(torch.relu(m), size))


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
        return finish_cam(self.layer_cam_raw(layer, targets), self.size)

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
            a = g2 / (2 * g2 + sum_a * g3 + GRAD_CAM_PP_EPS)
            wts = (a * torch.relu(g)).sum(dim=(2, 3), keepdim=True)
        else:
            raise ValueError(method)
        return (wts * A).sum(1, keepdim=True)

    def score_cam(self, layer, targets, pgc=False):
        """Channel masks scored by the target logit, softmax over channels (pgc: pytorch-grad-cam's exact masks)."""
        with torch.no_grad():
            _, cap = self.forward(self.x, [layer])
            A = cap[layer]
            n, k = A.shape[:2]
            upsampled = F.interpolate(A, size=tuple(self.size), mode="bilinear", align_corners=True)
            eps = SCORE_CAM_PGC_EPS if pgc else EPS
            lo = upsampled.amin(dim=(2, 3), keepdim=True)
            hi = upsampled.amax(dim=(2, 3), keepdim=True)
            masks = (upsampled - lo) / (hi - lo + eps)
            if not pgc:  # the engine's minmax gives exact zeros for a constant channel
                masks = torch.where(hi > lo, masks, torch.zeros_like(masks))
            scores = torch.empty(n, k)
            for i in range(n):
                masked = self.x[i][None] * masks[i][:, None]  # (K, 3, H, W)
                scores[i] = self.model(masked)[:, targets[i]]
            w = torch.softmax(scores, dim=1)
            return finish_cam((w[:, :, None, None] * A).sum(1, keepdim=True), self.size)

    def smoothgrad(self, targets, samples, sigma, seed, relative):
        x = self.x.numpy().astype(np.float64)
        n = x.shape[0]
        plane = x[0].size
        noise = np.array([normal_stream(seed, s, plane) for s in range(samples)], dtype=np.float64)  # (S, plane)
        grads = []
        for i in range(n):
            src = x[i].reshape(-1)
            sd = sigma * (src.max() - src.min()) if relative else sigma
            noisy = (src[None, :] + sd * noise).astype(np.float32).reshape(samples, *x.shape[1:])
            g = self.input_grad(torch.from_numpy(noisy), targets[i].repeat(samples))
            grads.append(g.sum(0) * (1.0 / samples))
        mean = torch.stack(grads)
        return self.saliency_from(mean), noise

    def integrated_gradients(self, targets, alphas, weights, base):
        """(x - base) * sum_k w_k grad(base + a_k (x - base)); path points in float64, rounded to float32."""
        x64 = self.x.numpy().astype(np.float64)
        total = torch.zeros_like(self.x)
        w = torch.tensor(weights, dtype=torch.float32)
        for i in range(x64.shape[0]):
            a = np.asarray(alphas, dtype=np.float64)
            path = (base[i][None] + a[:, None, None, None] * (x64[i][None] - base[i][None])).astype(np.float32)
            xi = torch.from_numpy(path).requires_grad_(True)
            logits, _ = self.forward(xi)
            # Weighted seed: d/dx sum_k w_k y_t(x_k), as the TypeScript seeds each path point's backward pass.
            (g,) = torch.autograd.grad((logits[:, int(targets[i])] * w).sum(), xi)
            total[i] = g.sum(0)
        delta = self.x - torch.from_numpy(base.astype(np.float32))
        return delta * total

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
    for layer in (LAYER, LAYER_EARLY):
        out[f"score_cam_{layer}"] = R.score_cam(layer, t)
    out[f"score_cam_pgc_{LAYER}"] = R.score_cam(LAYER, t, pgc=True)
    out["smoothgrad"], noise = R.smoothgrad(t, SG_SAMPLES, SG_SIGMA, SG_SEED, relative=True)
    out["smoothgrad_absolute"], _ = R.smoothgrad(t, SG_ABS_SAMPLES, SG_ABS_SIGMA, SG_ABS_SEED, relative=False)
    noise_head = noise[0, :NOISE_HEAD].tolist()
    noise_sum = 0.0
    for v in noise.reshape(-1):  # stream 0 first, then 1, ...; each in counter order
        noise_sum += float(v)
    x64 = R.x.numpy().astype(np.float64)
    zeros = np.full_like(x64, IG_BASELINE)
    right = [(k + 1) / IG_STEPS for k in range(IG_STEPS)]
    out["integrated_gradients"] = R.integrated_gradients(t, right, [1 / IG_STEPS] * IG_STEPS, zeros)
    black = np.empty_like(x64)
    for ch in range(3):  # pixel value 0 in the normalised space, held as float32 like the TypeScript
        black[:, ch] = -tm.CIFAR_MEAN[ch] / tm.CIFAR_STD[ch]
    black = black.astype(np.float32).astype(np.float64)
    gl_x, gl_w = np.polynomial.legendre.leggauss(IG_GL_STEPS)
    out["integrated_gradients_gl_black"] = R.integrated_gradients(t, list(0.5 * (gl_x + 1)), list(0.5 * gl_w), black)
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
        "finish_cam": "minmax(up(relu(M)))",
        "params": json.dumps({
            "cam": {"layer": LAYER, "head": "linear.weight[target] (no bias)"},
            "grad_cam": {"layers": [LAYER, LAYER_EARLY]},
            "guided_grad_cam": {"layer": LAYER},
            "layer_cam": {"layers": [LAYER, LAYER_EARLY]},
            "layer_cam_fused": {"layers": FUSED_LAYERS, "scale": "tanh(2 * minmax(raw))"},
            "hybrid": {"layer": LAYER, "alpha": HYBRID_ALPHA},
            "grad_cam_plus_plus": {"layers": [LAYER, LAYER_EARLY], "eps": GRAD_CAM_PP_EPS},
            "xgrad_cam": {"layers": [LAYER, LAYER_EARLY], "eps": EPS},
            "hires_cam": {"layers": [LAYER, LAYER_EARLY]},
            "guided_backprop_neuron": {"layer": NEURON_LAYER, "rule": "guided", "unit": "argmax over C*H*W"},
            "score_cam": {"layers": [LAYER, LAYER_EARLY], "score": "logit", "mask_eps": EPS,
                          "mask_upsample": "align_corners=True", "map_upsample": "align_corners=False"},
            "score_cam_pgc": {"layers": [LAYER], "score": "logit", "mask_eps": SCORE_CAM_PGC_EPS,
                              "mask_upsample": "align_corners=True", "map_upsample": "align_corners=False"},
            "smoothgrad": {"samples": SG_SAMPLES, "sigma": SG_SIGMA, "seed": SG_SEED, "sigma_scale": "relative",
                           "sigma_abs": "sigma * (max(x_n) - min(x_n))"},
            "smoothgrad_absolute": {"samples": SG_ABS_SAMPLES, "sigma": SG_ABS_SIGMA, "seed": SG_ABS_SEED,
                                    "sigma_scale": "absolute"},
            "integrated_gradients": {"steps": IG_STEPS, "baseline": IG_BASELINE, "rule": "riemann_right"},
            "integrated_gradients_gl_black": {"steps": IG_GL_STEPS, "baseline": "black", "rule": "gausslegendre"},
        }),
        "neuron_units": json.dumps(units.tolist()),
        "neuron_unit_values": json.dumps(unit_values),
        "smoothgrad_noise_head": json.dumps(noise_head),
        "smoothgrad_noise_streams": str(SG_SAMPLES),
        "smoothgrad_noise_per_stream": str(int(R.x[0].numel())),
        "smoothgrad_noise_sum": repr(noise_sum),
        "smoothgrad_noise_math": "counter hash + Acklam inverse CDF, + - * / sqrt only; sum over streams 0.., float64",
        "check_inverse_cdf_max_abs_error": repr(check_inverse_cdf()),
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
    print(f"  noise head {meta['smoothgrad_noise_head']}; sum {meta['smoothgrad_noise_sum']}; "
          f"max |z - ndtri| {meta['check_inverse_cdf_max_abs_error']}")
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
