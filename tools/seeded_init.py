"""Seeded, bit-reproducible weights shared by Python and TypeScript (src/models/seeded-init.ts).

Reference files for PyTorch parity are generated from torchvision models filled with these values, so
only the small outputs are committed and the TypeScript tests regenerate the same weights.

The generator (u32 arithmetic wraps mod 2^32):
  keyhash(name, seed) = FNV-1a 32-bit over the UTF-8 bytes of name (offset 2166136261,
                        prime 16777619), then XOR seed
  element i (flat C-order index):
      x = (keyhash + i * 0x9E3779B9) mod 2^32
      x ^= x >> 16; x *= 0x85EBCA6B; x ^= x >> 13; x *= 0xC2B2AE35; x ^= x >> 16
      u = (x >> 8) / 2^24;  r = 2u - 1                  (exact in float64 and float32)
  value by role, computed in float64 as a + b*r and rounded once to float32:
      ndim >= 2 `*.weight` (conv / linear)  b = sqrt(6 / fan_in), fan_in = prod(shape[1:])
      1-D `*.weight` (norm weight)          1 + 0.25 r
      `*.bias`                              0.1 r
      `*.running_mean`                      0.1 r
      `*.running_var`                       1.25 + 0.25 r
      `*.num_batches_tracked`               0 (int64, not random)
      `input` (image batch [N,3,H,W])       r

Python API: seeded_values(name, shape, seed=0) -> np.ndarray (float32, or int64 for
num_batches_tracked), seeded_input(shape, seed=0), fill_state_dict_(model, seed=0).

Run `python3 tools/seeded_init.py` to regenerate test/references/seeded_init_check.safetensors.
"""
from __future__ import annotations

import json
import math
import os
import sys
from typing import Sequence, Tuple

import numpy as np

FNV_OFFSET = 2166136261
FNV_PRIME = 16777619
_CHUNK = 1 << 22  # elements per vectorised chunk (keeps VGG's 102M-element fc lean on memory)


def keyhash(name: str, seed: int = 0) -> int:
    h = FNV_OFFSET
    for byte in name.encode("utf-8"):
        h ^= byte
        h = (h * FNV_PRIME) & 0xFFFFFFFF
    return (h ^ (int(seed) & 0xFFFFFFFF)) & 0xFFFFFFFF


def uniform_r(name: str, count: int, seed: int = 0, start: int = 0) -> np.ndarray:
    """r in [-1, 1) (float64, exactly representable in float32) for elements start..start+count-1."""
    kh = np.uint32(keyhash(name, seed))
    i = (np.arange(start, start + count, dtype=np.uint64) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    with np.errstate(over="ignore"):
        x = i * np.uint32(0x9E3779B9)
        x += kh
        x ^= x >> np.uint32(16)
        x *= np.uint32(0x85EBCA6B)
        x ^= x >> np.uint32(13)
        x *= np.uint32(0xC2B2AE35)
        x ^= x >> np.uint32(16)
    u = (x >> np.uint32(8)).astype(np.float64) / 16777216.0
    return 2.0 * u - 1.0


def role(name: str, shape: Sequence[int]) -> Tuple[str, float, float]:
    """(role, a, b): value = float32(a + b * r). Raises for names it does not know."""
    leaf = name.rsplit(".", 1)[-1]
    nd = len(shape)
    if name == "input":
        return "input", 0.0, 1.0
    if leaf == "num_batches_tracked":
        return "num_batches_tracked", 0.0, 0.0
    if leaf == "weight":
        if nd >= 2:
            fan_in = int(np.prod([int(s) for s in shape[1:]], dtype=np.int64))
            if fan_in <= 0:
                raise ValueError(f"seeded init: {name!r} has fan_in 0 (shape {list(shape)})")
            return "kaiming_uniform", 0.0, math.sqrt(6.0 / fan_in)
        if nd == 1:
            return "norm_weight", 1.0, 0.25
        raise ValueError(f"seeded init: {name!r} is a 0-d weight")
    if leaf == "bias":
        return "bias", 0.0, 0.1
    if leaf == "running_mean":
        return "running_mean", 0.0, 0.1
    if leaf == "running_var":
        return "running_var", 1.25, 0.25
    raise ValueError(f"seeded init: no role for tensor {name!r} (expected *.weight, *.bias, "
                     f"*.running_mean, *.running_var, *.num_batches_tracked or 'input')")


def seeded_values(name: str, shape: Sequence[int], seed: int = 0) -> np.ndarray:
    shape = tuple(int(s) for s in shape)
    kind, a, b = role(name, shape)
    n = int(np.prod(shape, dtype=np.int64))
    if kind == "num_batches_tracked":
        return np.zeros(shape, dtype=np.int64)
    out = np.empty(n, dtype=np.float32)
    for s in range(0, n, _CHUNK):
        c = min(_CHUNK, n - s)
        r = uniform_r(name, c, seed, s)
        out[s:s + c] = (a + b * r).astype(np.float32)  # float64 -> float32: round to nearest even
    return out.reshape(shape)


def seeded_input(shape: Sequence[int], seed: int = 0) -> np.ndarray:
    return seeded_values("input", shape, seed)


def fill_state_dict_(model, seed: int = 0):
    """Overwrite every parameter and buffer of a torch module in place with the seeded values."""
    import torch

    with torch.no_grad():
        for name, t in model.state_dict(keep_vars=True).items():
            v = seeded_values(name, tuple(t.shape), seed)
            t.data.copy_(torch.from_numpy(v).to(t.dtype))
    return model


def u32_sum(a: np.ndarray) -> int:
    """Digest: sum of the float32 bit patterns mod 2^32 (cheap to recompute in TypeScript)."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return int(bits.sum() & np.uint64(0xFFFFFFFF))


# Cases of the cross-check file: (stored key, generator name, shape, seed)
CHECK_CASES = [
    ("conv.weight", "conv.weight", [5, 3, 7, 7], 0),
    ("features.0.weight@s7", "features.0.weight", [3, 3, 5, 5], 7),
    ("fc.weight@small", "classifier.6.weight", [3, 11], 0),
    ("layer1.0.bn1.weight", "layer1.0.bn1.weight", [17], 0),
    ("layer1.0.bn1.bias@s123", "layer1.0.bn1.bias", [13], 123),
    ("bn.running_mean", "bn.running_mean", [9], 0),
    ("bn.running_var@sffffffff", "bn.running_var", [19], 0xFFFFFFFF),
    ("bl\u00f6ck.\u5377\u79ef.weight", "bl\u00f6ck.\u5377\u79ef.weight", [4, 2, 3, 1], 42),
    ("input", "input", [2, 3, 5, 7], 0),
    ("input@s3", "input", [1, 3, 4, 6], 3),
]


def write_check_file(path: str) -> None:
    import torch
    import torchvision

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from safetensors_io import save_file

    torch.set_num_threads(2)
    tensors = {}
    cases = []
    for key, name, shape, seed in CHECK_CASES:
        tensors[key] = seeded_values(name, shape, seed)
        cases.append({"key": key, "name": name, "shape": shape, "seed": seed, "count": int(np.prod(shape))})
    digests = {}
    for arch in ("resnet18", "resnet50"):
        m = torchvision.models.__dict__[arch](weights=None)
        fill_state_dict_(m, 0)
        sd = m.state_dict()
        if arch == "resnet18":
            fc = sd["fc.weight"].numpy().reshape(-1)[:1000].copy()
            tensors["resnet18.fc.weight[:1000]"] = fc
            cases.append({"key": "resnet18.fc.weight[:1000]", "name": "fc.weight", "shape": [1000, 512],
                          "seed": 0, "count": 1000})
        digests[arch] = {k: [list(v.shape), u32_sum(v.numpy())] for k, v in sd.items()
                         if not k.endswith("num_batches_tracked")}
    meta = {
        "description": "seeded_init cross-check: tensor `key` = seededValues(name, shape, seed) flattened, "
                       "first `count` values",
        "cases": json.dumps(cases, ensure_ascii=False),
        "digests": json.dumps(digests),
        "digest": "per tensor [shape, sum of float32 bit patterns mod 2^32] of the whole seeded state_dict "
                  "(seed 0), num_batches_tracked excluded",
        "torch_version": torch.__version__,
        "generator": "tools/seeded_init.py",
    }
    size = save_file(tensors, path, metadata=meta, dtypes={k: "F32" for k in tensors})
    print(f"wrote {path}: {len(tensors)} tensors, {size} bytes")


if __name__ == "__main__":
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "test", "references",
                                                             "seeded_init_check.safetensors")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    # Spot checks against a scalar re-implementation of the spec.
    def scalar(name, i, seed=0):
        x = (keyhash(name, seed) + i * 0x9E3779B9) & 0xFFFFFFFF
        x ^= x >> 16
        x = (x * 0x85EBCA6B) & 0xFFFFFFFF
        x ^= x >> 13
        x = (x * 0xC2B2AE35) & 0xFFFFFFFF
        x ^= x >> 16
        return 2.0 * ((x >> 8) / 2.0 ** 24) - 1.0
    for nm, n, sd in [("a.weight", 50, 0), ("input", 17, 5), ("x", 8, 0xFFFFFFFF)]:
        v = uniform_r(nm, n, sd)
        assert all(v[i] == scalar(nm, i, sd) for i in range(n))
    big = uniform_r("fc.weight", 3, 0, start=(1 << 32) - 1)
    assert big[0] == scalar("fc.weight", (1 << 32) - 1) and big[1] == scalar("fc.weight", 0)
    write_check_file(out)
