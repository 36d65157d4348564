#!/usr/bin/env python3
"""Export a torchvision model or any PyTorch checkpoint to LayerTracer's safetensors format.

Needs only torch (+ torchvision for the ImageNet architectures); Debian's python3-torch is enough.

  # torchvision ImageNet weights (needs internet once; torchvision caches the download):
  python3 tools/export_weights.py resnet50 --pretrained --out weights/resnet50.safetensors

  # the seeded test weights instead (offline; bit-identical to src/models/seeded-init.ts):
  python3 tools/export_weights.py resnet50 --random-seed 0 --out weights/resnet50-seed0.safetensors

  # any checkpoint (.pth/.th/.pt/.bin or .safetensors): a bare state_dict or one wrapped in
  # {'state_dict'|'model'|'model_state_dict'|'net': ...}; `module.` prefixes are stripped
  python3 tools/export_weights.py ../shared/data/cifar10/resnet20-12fca82f.th --arch cifar_resnet20 \
      --out weights/resnet20.safetensors

Architectures: resnet18/34/50/101/152, vgg11/13/16/19[_bn], mobilenet_v2, mobilenet_v3_large/small,
efficientnet_b0, densenet121/161/169/201, cifar_resnet<depth> (depth 6n+2, or cifar_resnet --depth N),
plain_cnn. For a checkpoint, --arch may be left out when the key names determine the architecture
unambiguously. Old-style DenseNet keys (`denselayer1.norm.1.weight`) are renamed as torchvision does.

What it does to a checkpoint: drops `num_batches_tracked`, converts float16/bfloat16/float64 to float32,
validates every key and shape by a strict load into the architecture (missing / unexpected / misshapen
keys are listed), and refuses a file that is not a state_dict. The output holds F32 tensors with the
PyTorch state_dict names and metadata: architecture (+ depth), input_size [H,W], normalize
{"mean","std"}, resize (ImageNet: Resize(256) then CenterCrop(224)), classes, num_classes, source,
torch_version. An existing --out is never overwritten without --force.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from collections import OrderedDict
from typing import Dict, Mapping, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import torch_models as tm  # noqa: E402
from safetensors_io import load_file, save_file  # noqa: E402


class ExportError(Exception):
    pass


WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "network", "state_dict_ema")
STRIP_PREFIXES = ("module.", "_orig_mod.")


# ----------------------------------------------------------------------------------------- loading
def _is_tensor_mapping(obj) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(
        isinstance(k, str) and torch.is_tensor(v) for k, v in obj.items())


def _describe(obj) -> str:
    if isinstance(obj, _Stub):
        return f"a pickled {obj._qualname} object"
    if isinstance(obj, Mapping):
        keys = list(obj.keys())
        shown = ", ".join(repr(k) for k in keys[:8]) + (", ..." if len(keys) > 8 else "")
        return f"a {type(obj).__name__} with keys [{shown}]"
    return f"a {type(obj).__module__}.{type(obj).__name__}"


def extract_state_dict(obj, path: str) -> Dict[str, torch.Tensor]:
    """Find the state_dict in a loaded checkpoint object, or raise ExportError."""
    if isinstance(obj, (torch.nn.Module, torch.jit.ScriptModule)):
        return OrderedDict(obj.state_dict())
    if _is_tensor_mapping(obj):
        return OrderedDict(obj)
    if isinstance(obj, Mapping):
        for k in WRAPPER_KEYS:
            if k in obj:
                inner = obj[k]
                if isinstance(inner, torch.nn.Module):
                    return OrderedDict(inner.state_dict())
                if _is_tensor_mapping(inner):
                    return OrderedDict(inner)
        bad = [k for k, v in obj.items() if not torch.is_tensor(v)]
        raise ExportError(
            f"{path}: not a state_dict: it is {_describe(obj)}; expected a mapping of parameter names to "
            f"tensors, or a dict wrapping one under one of {list(WRAPPER_KEYS)}"
            + (f" (non-tensor entries: {bad[:5]})" if bad else ""))
    raise ExportError(f"{path}: not a state_dict: it is {_describe(obj)}; expected a mapping of "
                      f"parameter names to tensors")


class _Stub:
    """Stand-in for a pickled object of a class we do not import: records what it was, runs no code."""

    _qualname = "?"

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        obj._args = args
        return obj

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self._state = state

    def __call__(self, *args, **kwargs):
        return _stub_class(self._qualname + "()")()

    def __repr__(self):
        return f"<pickled {self._qualname}>"


def _stub_class(qualname: str):
    return type(qualname.rsplit(".", 1)[-1], (_Stub,), {"_qualname": qualname})


def _make_safe_pickle_module():
    """A pickle module for torch.load that imports only tensor-rebuilding code.

    torch 1.13's weights_only loader rejects even a float next to the state_dict (akamaster's
    {'best_prec1': 91.7, 'state_dict': ...}); this one builds tensors, containers and plain values, and
    turns every other global into an inert _Stub (so no pickle code runs), which is enough to find a
    state_dict and to say clearly what a file holds when it is not one.
    """
    import builtins
    import collections
    import pickle
    import types

    import torch._utils

    allowed = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch", "Size"): torch.Size,
        ("torch", "Tensor"): torch.Tensor,
        ("torch.nn.parameter", "Parameter"): torch.nn.Parameter,
        ("torch", "device"): torch.device,
    }
    for fn in ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_parameter", "_rebuild_parameter_with_state"):
        if hasattr(torch._utils, fn):
            allowed[("torch._utils", fn)] = getattr(torch._utils, fn)
    try:
        import torch._tensor
        if hasattr(torch._tensor, "_rebuild_from_type_v2"):
            allowed[("torch._tensor", "_rebuild_from_type_v2")] = torch._tensor._rebuild_from_type_v2
    except ImportError:
        pass
    for name in ("set", "frozenset", "slice", "complex", "range"):
        allowed[("builtins", name)] = getattr(builtins, name)
    try:
        allowed[("numpy.core.multiarray", "scalar")] = np.core.multiarray.scalar
        allowed[("numpy", "dtype")] = np.dtype
        allowed[("numpy.core.multiarray", "_reconstruct")] = np.core.multiarray._reconstruct
        allowed[("numpy", "ndarray")] = np.ndarray
    except AttributeError:
        pass

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            key = (module, name)
            if key in allowed:
                return allowed[key]
            if module == "torch" and isinstance(getattr(torch, name, None), (torch.dtype, torch.layout,
                                                                              torch.memory_format)):
                return getattr(torch, name)
            return _stub_class(f"{module}.{name}")

    def load(f, **kwargs):
        return Unpickler(f, **kwargs).load()

    mod = types.ModuleType("layertracer_safe_pickle")
    mod.Unpickler = Unpickler
    mod.load = load
    mod.Pickler = pickle.Pickler
    mod.dump = pickle.dump
    mod.__version__ = "1"
    return mod


def _safe_torch_load(path: str):
    """torch.load with the restricted pickle module.

    torch 1.13.0 (Debian's) ignores torch.load's `pickle_module` unless weights_only is set, so this calls
    the loader torch.load dispatches to directly where it exists, and torch.load(pickle_module=...)
    otherwise (later versions honour it).
    """
    import torch.serialization as ts

    mod = _make_safe_pickle_module()
    if all(hasattr(ts, f) for f in ("_open_file_like", "_is_zipfile", "_open_zipfile_reader", "_load",
                                    "_legacy_load")):
        with ts._open_file_like(path, "rb") as f:
            if ts._is_zipfile(f):
                with ts._open_zipfile_reader(f) as zf:
                    if hasattr(ts, "_is_torchscript_zip") and ts._is_torchscript_zip(zf):
                        return torch.jit.load(path, map_location="cpu")
                    return ts._load(zf, "cpu", mod, encoding="utf-8")
            return ts._legacy_load(f, "cpu", mod, encoding="utf-8")
    return torch.load(path, map_location="cpu", weights_only=False, pickle_module=mod)


def _find_stub(obj, depth=0):
    if isinstance(obj, _Stub):
        return obj._qualname
    if isinstance(obj, Mapping) and depth < 2:
        for v in obj.values():
            q = _find_stub(v, depth + 1)
            if q:
                return q
    return None


def load_checkpoint(path: str, unsafe_pickle: bool = False) -> Dict[str, torch.Tensor]:
    if not os.path.isfile(path):
        raise ExportError(f"{path}: no such file")
    if path.endswith(".safetensors"):
        try:
            tensors, _ = load_file(path)
        except Exception as e:  # noqa: BLE001
            raise ExportError(f"{path}: not a readable safetensors file: {e}") from e
        return OrderedDict((k, torch.from_numpy(v)) for k, v in tensors.items())
    try:
        if unsafe_pickle:
            obj = torch.load(path, map_location="cpu")
        else:
            obj = _safe_torch_load(path)
    except Exception as e:  # noqa: BLE001
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ExportError(f"{path}: cannot be read as a PyTorch checkpoint ({type(e).__name__}: {msg})") from e
    try:
        return extract_state_dict(obj, path)
    except ExportError as e:
        stub = _find_stub(obj)
        if stub and not unsafe_pickle:
            raise ExportError(
                f"{e}. It pickles a Python object of class {stub} (a whole saved model?); save "
                f"model.state_dict() instead, or, for a file you trust with that class importable, rerun "
                f"with --unsafe-pickle (runs pickle code)") from None
        raise


def clean_state_dict(sd: Mapping[str, torch.Tensor], path: str) -> "OrderedDict[str, torch.Tensor]":
    """Strip `module.` prefixes, drop num_batches_tracked, convert floats to float32."""
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    for k, v in sd.items():
        name = k
        changed = True
        while changed:
            changed = False
            for p in STRIP_PREFIXES:
                if name.startswith(p):
                    name, changed = name[len(p):], True
        if name.endswith("num_batches_tracked"):
            continue
        # torchvision's own fix for old DenseNet checkpoints: denselayerN.norm.1.weight -> denselayerN.norm1.weight
        name = re.sub(r"(denselayer\d+\.(?:norm|relu|conv))\.([12])\.", r"\1\2.", name)
        if name in out:
            raise ExportError(f"{path}: key {name!r} occurs twice after stripping prefixes")
        if v.is_floating_point():
            v = v.detach().to(torch.float32)
        elif v.dtype in (torch.complex64, torch.complex128) or v.dtype == torch.bool:
            raise ExportError(f"{path}: tensor {k!r} has unsupported dtype {v.dtype}")
        out[name] = v.detach().cpu().contiguous()
    if not out:
        raise ExportError(f"{path}: the state_dict holds no tensors")
    return out


# ----------------------------------------------------------------------------------------- arch inference
def _count_blocks(keys, layer: str) -> int:
    idx = {int(m.group(1)) for k in keys for m in [re.match(rf"{layer}\.(\d+)\.", k)] if m}
    return max(idx) + 1 if idx else 0


def infer_arch(sd: Mapping[str, torch.Tensor]) -> Tuple[str, Optional[int]]:
    keys = list(sd.keys())
    ks = set(keys)
    if "linear.weight" in ks and "conv1.weight" in ks and any(k.startswith("layer3.") for k in keys):
        n = _count_blocks(keys, "layer3")
        if n and _count_blocks(keys, "layer1") == n == _count_blocks(keys, "layer2"):
            return f"cifar_resnet{6 * n + 2}", 6 * n + 2
    if "fc.weight" in ks and "conv1.weight" in ks:
        counts = tuple(_count_blocks(keys, f"layer{i}") for i in range(1, 5))
        bottleneck = any(".conv3." in k for k in keys)
        table = {((2, 2, 2, 2), False): "resnet18", ((3, 4, 6, 3), False): "resnet34",
                 ((3, 4, 6, 3), True): "resnet50", ((3, 4, 23, 3), True): "resnet101",
                 ((3, 8, 36, 3), True): "resnet152"}
        if (counts, bottleneck) in table:
            return table[(counts, bottleneck)], None
    convs = sorted({int(m.group(1)) for k in keys for m in [re.fullmatch(r"features\.(\d+)\.weight", k)] if m
                    and sd[k].dim() == 4})
    if convs and "classifier.weight" in ks and sd["classifier.weight"].dim() == 2 \
            and sd["classifier.weight"].shape[1] == 320 and convs == [0, 3, 6]:
        return "plain_cnn", None
    if convs and "classifier.6.weight" in ks:
        bn = any(k.endswith("running_var") for k in keys)
        table = {8: "vgg11", 10: "vgg13", 13: "vgg16", 16: "vgg19"}
        if len(convs) in table:
            return table[len(convs)] + ("_bn" if bn else ""), None
    shape = lambda k: tuple(sd[k].shape) if k in sd else None  # noqa: E731
    if "features.1.conv.0.0.weight" in ks and shape("features.18.0.weight") == (1280, 320, 1, 1):
        return "mobilenet_v2", None
    if "classifier.3.weight" in ks and shape("features.16.0.weight") == (960, 160, 1, 1):
        return "mobilenet_v3_large", None
    if "classifier.3.weight" in ks and shape("features.12.0.weight") == (576, 96, 1, 1):
        return "mobilenet_v3_small", None
    if "features.1.0.block.0.0.weight" in ks and shape("features.8.0.weight") == (1280, 320, 1, 1):
        return "efficientnet_b0", None
    if "features.conv0.weight" in ks and "classifier.weight" in ks:
        counts = tuple(len({m.group(1) for k in keys for m in [re.match(rf"features\.denseblock{b}\.denselayer(\d+)\.", k)] if m})
                       for b in range(1, 5))
        table = {(6, 12, 24, 16): "densenet121", (6, 12, 36, 24): "densenet161", (6, 12, 32, 32): "densenet169",
                 (6, 12, 48, 32): "densenet201"}
        if counts in table:
            return table[counts], None
    raise ExportError("cannot infer the architecture from the key names (first keys: "
                      f"{keys[:6]}); pass --arch (one of {', '.join(tm.known_archs())})")


def head_classes(sd: Mapping[str, torch.Tensor]) -> Optional[int]:
    for k in ("fc.weight", "linear.weight", "classifier.6.weight", "classifier.3.weight", "classifier.1.weight",
              "classifier.weight"):
        if k in sd and sd[k].dim() == 2:
            return int(sd[k].shape[0])
    return None


# ----------------------------------------------------------------------------------------- validation
def validate(sd: Mapping[str, torch.Tensor], arch: str, depth: Optional[int], path: str,
             num_classes: Optional[int]) -> torch.nn.Module:
    """Strict load into the architecture; raise ExportError listing every problem."""
    model = tm.build(arch, depth=depth, num_classes=num_classes)
    want = OrderedDict((k, v) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked"))
    missing = [k for k in want if k not in sd]
    unexpected = [k for k in sd if k not in want]
    misshapen = [f"{k}: checkpoint {list(sd[k].shape)} vs {arch} {list(want[k].shape)}"
                 for k in want if k in sd and tuple(sd[k].shape) != tuple(want[k].shape)]
    if missing or unexpected or misshapen:
        def block(title, items):
            if not items:
                return ""
            more = f"\n    ... and {len(items) - 20} more" if len(items) > 20 else ""
            return f"\n  {title} ({len(items)}):\n    " + "\n    ".join(items[:20]) + more
        raise ExportError(f"{path}: the state_dict does not match architecture {arch}"
                          + (f" (built with num_classes={num_classes}, read from the classifier weight)"
                             if num_classes not in (None, 10, 1000) else "")
                          + block("missing keys", missing) + block("unexpected keys", unexpected)
                          + block("wrong shapes", misshapen))
    full = dict(sd)
    for k, v in model.state_dict().items():
        if k.endswith("num_batches_tracked"):
            full[k] = v
    model.load_state_dict(full, strict=True)  # belt and braces
    return model


# ----------------------------------------------------------------------------------------- metadata
def make_metadata(arch: str, depth: Optional[int], source: str, num_classes: int,
                  classes: Optional[list]) -> Dict[str, str]:
    spec = tm.input_spec(arch, depth)
    meta: Dict[str, str] = {}
    if depth is not None:
        meta["architecture"] = "cifar_resnet"
        meta["depth"] = str(depth)
        meta["shortcut"] = "A"
    else:
        meta["architecture"] = arch
    meta["input_size"] = json.dumps(spec["input_size"])
    meta["normalize"] = json.dumps(spec["normalize"])
    meta["normalize_note"] = "x/255 then (x - mean) / std per channel, RGB"
    if spec["resize"] is not None:
        meta["resize"] = str(spec["resize"])
        meta["resize_note"] = "Resize(shorter side to resize, bilinear) then CenterCrop(input_size)"
    if classes is None and len(spec["classes"]) == num_classes:
        classes = spec["classes"]
    if classes is not None:
        if len(classes) != num_classes:
            raise ExportError(f"{len(classes)} class names given for a {num_classes}-class head")
        meta["classes"] = json.dumps(classes, ensure_ascii=False)
    meta["num_classes"] = str(num_classes)
    meta["source"] = source
    meta["exporter"] = "tools/export_weights.py"
    meta["torch_version"] = torch.__version__
    return meta


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_classes(path: str) -> list:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        v = json.loads(text)
        if isinstance(v, list):
            return [str(c) for c in v]
    except json.JSONDecodeError:
        pass
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


# ----------------------------------------------------------------------------------------- main
def export(args) -> str:
    src = args.source
    depth = args.depth
    is_arch = (src in tm.TORCHVISION_ARCHS or src == "plain_cnn" or re.fullmatch(r"cifar_resnet\d*", src)) \
        and not os.path.exists(src)
    if os.path.exists(args.out) and not args.force:
        raise ExportError(f"{args.out} exists; pass --force to overwrite it")

    if is_arch:
        if args.arch and args.arch != src:
            raise ExportError(f"--arch {args.arch} conflicts with the architecture {src}")
        arch = src
        if tm.cifar_depth(arch, depth) is not None:
            depth = tm.cifar_depth(arch, depth)
        if args.pretrained == (args.random_seed is not None):
            raise ExportError(f"{arch}: pass exactly one of --pretrained (torchvision ImageNet weights) or "
                              f"--random-seed N (the seeded test weights)")
        if args.pretrained:
            if arch not in tm.TORCHVISION_ARCHS:
                raise ExportError(f"--pretrained is only for torchvision architectures; for {arch} export a "
                                  f"checkpoint instead")
            import torchvision

            wenum = torchvision.models.get_model_weights(arch)
            try:
                w = wenum[args.weights]
            except KeyError:
                raise ExportError(f"{arch} has no weights {args.weights!r}; "
                                  f"available: {[e.name for e in wenum]}") from None
            try:
                sd = w.get_state_dict(progress=True)
            except Exception as e:  # noqa: BLE001
                raise ExportError(f"could not download {w.url}: {e}. Download it where there is internet "
                                  f"and pass the .pth file as the source with --arch {arch}") from e
            source = f"torchvision {arch} {w.name} ({w.url})"
            classes = list(w.meta.get("categories") or []) or None
        else:
            model = tm.build(arch, depth=depth)
            import seeded_init

            seeded_init.fill_state_dict_(model, args.random_seed)
            sd = model.state_dict()
            source = (f"seeded init, seed {args.random_seed} (tools/seeded_init.py, "
                      f"src/models/seeded-init.ts); not trained")
            classes = None
        sd = clean_state_dict(sd, src)
    else:
        if args.pretrained or args.random_seed is not None:
            raise ExportError("--pretrained / --random-seed apply to an architecture name, not a checkpoint")
        sd = clean_state_dict(load_checkpoint(src, args.unsafe_pickle), src)
        if args.arch:
            arch = args.arch
            if tm.cifar_depth(arch, depth) is not None:
                depth = tm.cifar_depth(arch, depth)
        else:
            arch, depth = infer_arch(sd)
            print(f"inferred architecture: {arch}")
        source = f"checkpoint {os.path.basename(src)} (sha256 {_sha256(src)[:16]})"
        classes = None
    if args.source_note:
        source = args.source_note
    if args.classes:
        classes = _read_classes(args.classes)

    num_classes = head_classes(sd) or 1000
    model = validate(sd, arch, depth, src, num_classes)
    order = [k for k in model.state_dict() if not k.endswith("num_batches_tracked")]
    tensors = OrderedDict((k, sd[k].numpy().astype(np.float32, copy=False)) for k in order)
    for k, v in tensors.items():
        if not np.all(np.isfinite(v)):
            raise ExportError(f"{src}: tensor {k!r} holds NaN or infinity")
    meta = make_metadata(arch, depth, source, num_classes, classes)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    size = save_file(tensors, tmp, metadata=meta, dtypes={k: "F32" for k in tensors})
    os.replace(tmp, args.out)
    n_params = sum(int(v.size) for v in tensors.values())
    print(f"wrote {args.out}: {meta['architecture']}{(' depth ' + str(depth)) if depth else ''}, "
          f"{len(tensors)} tensors, {n_params:,} values, {size:,} bytes")
    return args.out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("source", help="an architecture name (with --pretrained or --random-seed) or a checkpoint file")
    p.add_argument("--out", required=True, help="output .safetensors path")
    p.add_argument("--arch", help="architecture of a checkpoint (inferred from key names when omitted)")
    p.add_argument("--depth", type=int, help="depth for --arch cifar_resnet (6n+2)")
    p.add_argument("--pretrained", action="store_true", help="torchvision ImageNet weights (downloads)")
    p.add_argument("--weights", default="IMAGENET1K_V1", help="torchvision weights name (default IMAGENET1K_V1)")
    p.add_argument("--random-seed", type=int, help="seeded init instead of trained weights")
    p.add_argument("--classes", help="class names: a JSON list or one name per line")
    p.add_argument("--source-note", help="override the `source` metadata string")
    p.add_argument("--unsafe-pickle", action="store_true",
                   help="allow checkpoints that pickle Python objects (runs pickle code: trusted files only)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    try:
        export(args)
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
