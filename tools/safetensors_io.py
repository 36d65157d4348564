"""Minimal safetensors writer/reader (numpy only, no pip packages).

Layout (the standard one, https://github.com/huggingface/safetensors):
  8-byte little-endian u64 N = header length
  N bytes of UTF-8 JSON: {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [b, e]}}
      padded with spaces so that 8 + N is a multiple of 8
  raw little-endian tensor bytes; data_offsets are relative to the start of this section.

Supported dtypes: F32, F16, BF16, U8, I64.  BF16 is written by rounding float32 to
nearest-even with numpy bit arithmetic and read back as float32.

Usage:
    from safetensors_io import save_file, load_file, read_header
    save_file({"w": np.zeros((2, 3), np.float32)}, "x.safetensors", metadata={"k": "v"},
              dtypes={"w": "BF16"})
    tensors, metadata = load_file("x.safetensors")      # dict name -> np.ndarray, dict
"""
from __future__ import annotations

import json
import struct
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

MAX_HEADER_BYTES = 100 * 1024 * 1024

# safetensors dtype -> (numpy dtype used for the raw bytes, bytes per element)
_RAW = {
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "I64": np.dtype("<i8"),
}

_FROM_NUMPY = {
    np.dtype("float32"): "F32",
    np.dtype("float16"): "F16",
    np.dtype("uint8"): "U8",
    np.dtype("int64"): "I64",
}


def f32_to_bf16_bits(a: np.ndarray) -> np.ndarray:
    """float32 array -> uint16 bf16 bit patterns, round to nearest, ties to even.

    NaN stays NaN (quiet bit forced); +-inf and overflow to inf follow IEEE rounding.
    """
    a = np.ascontiguousarray(a, dtype=np.float32)
    u = a.view(np.uint32).astype(np.uint64)  # widen so the rounding add cannot wrap
    lsb = (u >> np.uint64(16)) & np.uint64(1)
    rounded = ((u + np.uint64(0x7FFF) + lsb) >> np.uint64(16)).astype(np.uint16)
    nan = np.isnan(a)
    if nan.any():
        rounded[nan] = ((u[nan] >> np.uint64(16)).astype(np.uint16) | np.uint16(0x0040))
    return rounded


def bf16_bits_to_f32(b: np.ndarray) -> np.ndarray:
    return (b.astype(np.uint32) << np.uint32(16)).view(np.float32)


def _encode(arr: np.ndarray, dtype: str) -> bytes:
    if dtype == "BF16":
        return f32_to_bf16_bits(arr).tobytes()
    raw = _RAW[dtype]
    if dtype in ("F32", "F16"):
        a = np.ascontiguousarray(arr, dtype=raw)
    else:
        if np.issubdtype(np.asarray(arr).dtype, np.floating):
            f = np.asarray(arr)
            if not np.all(np.isfinite(f)) or not np.all(f == np.round(f)):
                raise ValueError(f"cannot store non-integer values as {dtype}")
        a = np.ascontiguousarray(arr).astype(raw)
    return a.tobytes()


def save_file(
    tensors: Mapping[str, np.ndarray],
    path: str,
    metadata: Optional[Mapping[str, str]] = None,
    dtypes: Optional[Mapping[str, str]] = None,
) -> int:
    """Write `tensors` (name -> array) to `path`. Returns the file size in bytes.

    `dtypes` optionally forces the stored dtype per tensor ("F32", "F16", "BF16", "U8", "I64");
    otherwise it is taken from the array (float64 -> F32, other ints -> I64, bool -> U8).
    """
    dtypes = dict(dtypes or {})
    header: Dict[str, object] = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"metadata must map str -> str, got {k!r}: {type(v).__name__}")
        header["__metadata__"] = dict(metadata)
    blobs = []
    offset = 0
    for name, arr in tensors.items():
        arr = np.asarray(arr)
        dt = dtypes.get(name)
        if dt is None:
            if arr.dtype in _FROM_NUMPY:
                dt = _FROM_NUMPY[arr.dtype]
            elif np.issubdtype(arr.dtype, np.floating):
                dt = "F32"
            elif arr.dtype == np.bool_:
                dt = "U8"
            elif np.issubdtype(arr.dtype, np.integer):
                dt = "I64"
            else:
                raise TypeError(f"tensor {name!r}: unsupported numpy dtype {arr.dtype}")
        if dt not in _RAW:
            raise ValueError(f"tensor {name!r}: unsupported safetensors dtype {dt}")
        data = _encode(arr, dt)
        header[name] = {
            "dtype": dt,
            "shape": [int(s) for s in arr.shape],
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((-(8 + len(hjson))) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
    return 8 + len(hjson) + offset


def read_header(path: str) -> Tuple[dict, Dict[str, str], int]:
    """Return (entries, metadata, data_start) without reading the tensor bytes."""
    with open(path, "rb") as f:
        first = f.read(8)
        if len(first) < 8:
            raise ValueError(f"{path}: file shorter than the 8-byte header length")
        (n,) = struct.unpack("<Q", first)
        f.seek(0, 2)
        size = f.tell()
        if n > MAX_HEADER_BYTES or 8 + n > size:
            raise ValueError(f"{path}: header length {n} is invalid for a {size}-byte file")
        f.seek(8)
        header = json.loads(f.read(n).decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError(f"{path}: header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    return header, metadata, 8 + n


def load_file(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """Read every tensor. F16/BF16 come back as float32; others in their own dtype."""
    entries, metadata, start = read_header(path)
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read()
    out: Dict[str, np.ndarray] = {}
    for name, e in entries.items():
        dt = e["dtype"]
        if dt not in _RAW:
            raise ValueError(f"{path}: tensor {name!r} has unsupported dtype {dt}")
        b, end = e["data_offsets"]
        shape = tuple(int(s) for s in e["shape"])
        raw = _RAW[dt]
        count = int(np.prod(shape, dtype=np.int64))
        if end - b != count * raw.itemsize or end > len(data) or b < 0:
            raise ValueError(f"{path}: tensor {name!r} offsets {b}..{end} do not fit shape {shape} {dt}")
        a = np.frombuffer(data, dtype=raw, count=count, offset=b).reshape(shape)
        if dt == "BF16":
            a = bf16_bits_to_f32(a)
        elif dt == "F16":
            a = a.astype(np.float32)
        else:
            a = a.copy()
        out[name] = a
    return out, dict(metadata)


if __name__ == "__main__":  # tiny self-test
    import os
    import tempfile

    x = np.array([1.0, 1.00390625, 1.005859375, -3.5, np.inf, 0.0, -0.0, 3.0e38, 1e-40], np.float32)
    bits = f32_to_bf16_bits(x)
    # 1.00390625 = 1 + 2^-8 is exactly halfway between bf16 1.0 and 1.0078125 -> even (1.0)
    assert bf16_bits_to_f32(bits)[1] == 1.0, bf16_bits_to_f32(bits)
    assert bf16_bits_to_f32(bits)[2] == 1.0078125
    rng = np.random.default_rng(0)
    t = {
        "a": rng.standard_normal((3, 5)).astype(np.float32),
        "h": rng.standard_normal((7,)).astype(np.float16),
        "b": rng.standard_normal((2, 2, 3)).astype(np.float32),
        "u": np.arange(10, dtype=np.uint8),
        "i": np.array([-1, 2**40], np.int64),
        "e": np.zeros((0, 3), np.float32),
    }
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "t.safetensors")
        save_file(t, p, metadata={"k": "v"}, dtypes={"b": "BF16"})
        r, m = load_file(p)
        assert m == {"k": "v"}
        n = struct.unpack("<Q", open(p, "rb").read(8))[0]
        assert (8 + n) % 8 == 0
        for k in t:
            want = bf16_bits_to_f32(f32_to_bf16_bits(t[k])) if k == "b" else t[k]
            assert r[k].shape == t[k].shape and np.array_equal(r[k], np.asarray(want, r[k].dtype)), k
        ref, _ = load_file("/work/shared/data/cifar10/resnet20.safetensors") if os.path.exists(
            "/work/shared/data/cifar10/resnet20.safetensors") else ({}, {})
        print("safetensors_io self-test ok", len(ref), "tensors in shared resnet20")
