#!/usr/bin/env python3
"""Regenerate the PyTorch parity references test/references/<model>.safetensors.

Run from the repository root with Debian's torch (no internet, no model hub needed):

    /usr/bin/python3 tools/make_references.py                    # all seven models
    /usr/bin/python3 tools/make_references.py resnet18 plain_cnn # a subset
    /usr/bin/python3 tools/make_references.py --out-dir /tmp/refs --check test/references
                                                                 # regenerate elsewhere and compare

Outputs are deterministic: weights come from the seeded generator (tools/seeded_init.py, mirrored bit
for bit by src/models/seeded-init.ts) or from the shared real CIFAR files, inputs are the seeded image or
the first CIFAR test images, and torch runs on the CPU with a fixed thread count (2) and
deterministic algorithms. Reruns on the same machine and torch build give identical bytes (--check
verifies); a different CPU or torch build can change the last float bits, well inside the tolerances.

Models and inputs
  resnet18, resnet50, vgg16, vgg16_bn  torchvision code (weights=None), every tensor filled by
                                       fill_state_dict_(model, seed=0); input seeded_input([1,3,224,224], 0)
  mobilenet_v2, mobilenet_v3_large,    the same at seeded_input([2,3,72,72], 0): two images (batching), and
  efficientnet_b0, densenet121         odd map sizes late in the network (72 -> 36, 18, 9, 5, 3); the input
                                       is not stored (regenerate it with seededInput), act/grad tensors over
                                       4,096 elements and the input gradients are stored as BF16
  resnet20, resnet56, plain_cnn        ../shared/data/cifar10/*.safetensors (real weights); input the first 4
                                       test1000 images, x/255 then (x-mean)/std (plain CNN: x/255 - 0.5)

Tensors in each file
  input                    F32 [N,3,H,W], the normalised input
  logits, probs            [N,classes]; probs = softmax(logits)
  target                   I64 [N], argmax of the logits per image
  grad_input_standard      d(sum_n logits[n, target_n]) / d input, with every ReLU's backward replaced by
  grad_input_guided          standard  R*[z>0];  guided  R*[z>0]*[R>0];  deconvnet  R*[R>0]
  grad_input_deconvnet       (z = the ReLU's forward input; gradient 0 at z == 0; all ReLUs, including
                             the one after each residual add and DenseNet's functional final ReLU, made a
                             module for this). ReLU6 is a ReLU with a ceiling and takes the rule too:
                             standard R*[0<z<6], guided R*[0<z<6]*[R>0], deconvnet R*[R>0]. Every other
                             activation (hardswish, hardsigmoid, SiLU, sigmoid) keeps its plain gradient.
  act:<layer>              forward output of the named module (PyTorch named_modules name)
  grad:<layer>             standard-rule gradient of the same objective w.r.t. that output
Metadata `module_shapes` (the four newer families): every module whose forward hook fires, with the
output shape of its last call, so the engine's layer names and graph are checked module by module.
Storage: BF16 (round to nearest even) for act/grad tensors over 65,536 elements (--bf16-over), F32
otherwise; input, logits and probs always F32, target I64. Metadata: model, architecture, weights, input, targets, layers, rules, torch version.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import types
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402

import seeded_init  # noqa: E402
import torch_models as tm  # noqa: E402
from safetensors_io import bf16_bits_to_f32, f32_to_bf16_bits, load_file, save_file  # noqa: E402

BF16_OVER = 65536
SEED = 0
N_CIFAR = 4

MODELS = OrderedDict([
    # name: (arch, layers, weights)
    ("resnet18", ("resnet18", ["layer2", "layer4", "layer4.1.conv2"], "seeded")),
    ("resnet50", ("resnet50", ["layer3", "layer4"], "seeded")),
    ("vgg16", ("vgg16", ["features.29", "classifier.3"], "seeded")),
    ("vgg16_bn", ("vgg16_bn", ["features.42"], "seeded")),
    ("resnet20", ("cifar_resnet20", ["layer1", "layer3", "layer2.0"], "shared")),
    ("resnet56", ("cifar_resnet56", ["layer1", "layer3", "layer2.0"], "shared")),
    ("plain_cnn", ("plain_cnn", ["features.7", "features.8"], "shared")),
    ("mobilenet_v2", ("mobilenet_v2", ["features.3", "features.14.conv.1", "features.18"], "seeded_small")),
    ("mobilenet_v3_large", ("mobilenet_v3_large", ["features.5", "features.13.block.2", "features.16", "classifier.1"],
                            "seeded_small")),
    ("efficientnet_b0", ("efficientnet_b0", ["features.2.1", "features.6.0.block.2", "features.8"], "seeded_small")),
    ("densenet121", ("densenet121", ["features.denseblock2.denselayer12", "features.transition2", "features.denseblock4",
                                     "features.norm5"], "seeded_small")),
])
SMALL_INPUT = [2, 3, 72, 72]
SMALL_BF16_OVER = 4096
RULES = ("standard", "guided", "deconvnet")


# ----------------------------------------------------------------------------------------- ReLU rules
class _RuleFn(torch.autograd.Function):
    """ReLU (ceiling None) or ReLU6 (ceiling 6) whose backward follows `rule` (docs/design.md section 1.2)."""

    @staticmethod
    def forward(ctx, z, rule, ceiling):
        ctx.save_for_backward(z)
        ctx.rule = rule
        ctx.ceiling = ceiling
        return z.clamp(min=0, max=ceiling)

    @staticmethod
    def backward(ctx, R):
        (z,) = ctx.saved_tensors
        zero = torch.zeros_like(R)
        passes = (z > 0) if ctx.ceiling is None else (z > 0) & (z < ctx.ceiling)
        if ctx.rule == "standard":
            g = torch.where(passes, R, zero)
        elif ctx.rule == "guided":
            g = torch.where(passes & (R > 0), R, zero)
        elif ctx.rule == "deconvnet":
            g = torch.where(R > 0, R, zero)
        else:
            raise ValueError(ctx.rule)
        return g, None, None


class RuleReLU(nn.Module):
    """Drop-in nn.ReLU (or nn.ReLU6 with ceiling=6) whose backward follows `state['rule']` (shared by every
    instance of a model)."""

    def __init__(self, state, ceiling=None):
        super().__init__()
        self.state = state
        self.ceiling = ceiling

    def forward(self, z):
        return _RuleFn.apply(z, self.state["rule"], self.ceiling)


def swap_relus(model: nn.Module) -> dict:
    """Every ReLU and ReLU6 module (the ReLU-family units) takes the rule in `state`."""
    state = {"rule": "standard"}
    n = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.ReLU6):
                setattr(parent, name, RuleReLU(state, ceiling=6.0))
                n += 1
            elif isinstance(child, nn.ReLU):
                setattr(parent, name, RuleReLU(state))
                n += 1
    if isinstance(model, torchvision.models.DenseNet):
        # DenseNet.forward ends in F.relu(features, inplace=True), which no module swap reaches: the same
        # forward with that ReLU as a module (no parameters, so the state_dict is unchanged).
        model.relu = RuleReLU(state)
        model.forward = types.MethodType(_densenet_forward, model)
        n += 1
    state["count"] = n
    return state


def _densenet_forward(self, x):
    out = self.relu(self.features(x))
    return self.classifier(torch.flatten(F.adaptive_avg_pool2d(out, (1, 1)), 1))


# ----------------------------------------------------------------------------------------- one model
def build_model(name: str):
    arch, layers, weights = MODELS[name]
    if weights in ("seeded", "seeded_small"):
        model = tm.build(arch)
        seeded_init.fill_state_dict_(model, SEED)
        shape = SMALL_INPUT if weights == "seeded_small" else [1, 3, 224, 224]
        x = torch.from_numpy(seeded_init.seeded_input(shape, SEED))
        info = {
            "weights": f"seeded:{SEED} (tools/seeded_init.py fill_state_dict_, src/models/seeded-init.ts)",
            "input": f"seeded_input({shape}, seed={SEED}) (tensor name 'input'); used as the "
                     f"normalised input directly",
        }
        if weights == "seeded_small":
            info["input_shape"] = json.dumps(shape)
    else:
        model = tm.load_shared(name)
        data, _ = load_file(os.path.join(tm.SHARED, "test1000.safetensors"))
        imgs = data["images"][:N_CIFAR]
        x = tm.normalize_uint8_nhwc(imgs, arch)
        fname = tm.SHARED_MODELS[name][1]
        norm = ("x/255 - 0.5" if arch == "plain_cnn" else
                f"x/255 then (x - mean) / std, mean {tm.CIFAR_MEAN}, std {tm.CIFAR_STD}")
        info = {
            "weights": f"../shared/data/cifar10/{fname}",
            "input": f"test1000.safetensors images[0:{N_CIFAR}] (uint8 NHWC -> NCHW), {norm}, float32",
            "labels": json.dumps([int(v) for v in data["labels"][:N_CIFAR]]),
        }
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval(), x.contiguous(), info


def run_model(name: str):
    arch, layers, _ = MODELS[name]
    model, x, info = build_model(name)
    state = swap_relus(model)
    modules = dict(model.named_modules())
    for layer in layers:
        if layer not in modules:
            raise KeyError(f"{name}: no module named {layer!r}")

    captured = {}

    def hook(layer):
        def fn(_mod, _inp, out):
            if out.requires_grad:
                out.retain_grad()
            captured[layer] = out
        return fn

    handles = [modules[layer].register_forward_hook(hook(layer)) for layer in layers]
    module_shapes = OrderedDict()
    if MODELS[name][2] == "seeded_small":
        def shape_hook(mname):
            def fn(_mod, _inp, out):
                module_shapes[mname] = list(out.shape)
            return fn
        handles += [m.register_forward_hook(shape_hook(n)) for n, m in model.named_modules() if n]
    out = OrderedDict()
    out["input"] = x.numpy().copy()
    target = None
    for rule in RULES:
        state["rule"] = rule
        captured.clear()
        xi = x.clone().requires_grad_(True)
        logits = model(xi)
        if target is None:
            target = logits.detach().argmax(1)
            out["logits"] = logits.detach().numpy().copy()
            out["probs"] = torch.softmax(logits.detach(), 1).numpy().copy()
            out["target"] = target.numpy().astype(np.int64)
        else:
            assert torch.equal(logits.detach(), torch.from_numpy(out["logits"])), "forward depends on the rule"
        objective = logits.gather(1, target[:, None]).sum()
        objective.backward()
        out[f"grad_input_{rule}"] = xi.grad.detach().numpy().copy()
        if rule == "standard":
            for layer in layers:
                t = captured[layer]
                out[f"act:{layer}"] = t.detach().numpy().copy()
                out[f"grad:{layer}"] = t.grad.detach().numpy().copy()
    for h in handles:
        h.remove()

    # Move act/grad after the input gradients for a tidy file: input, logits, probs, target, grads, layers.
    order = ["input", "logits", "probs", "target"] + [f"grad_input_{r}" for r in RULES]
    order += [k for k in out if k.startswith(("act:", "grad:"))]
    out = OrderedDict((k, out[k]) for k in order)

    meta = {
        "model": name,
        "architecture": "cifar_resnet" if arch.startswith("cifar_resnet") else arch,
        "targets": json.dumps([int(t) for t in out["target"]]),
        "layers": json.dumps(layers),
        "objective": "sum_n logits[n, target_n]; target_n = argmax_c logits[n, c]",
        "relu_rules": "standard R*[z>0]; guided R*[z>0]*[R>0]; deconvnet R*[R>0]; z = ReLU input, "
                      "0 at z == 0; applied at every ReLU (incl. after residual adds)",
        "layer_tensors": "act:<layer> = forward output of named_modules()[layer]; grad:<layer> = "
                         "standard-rule gradient of the objective w.r.t. that output",
        "relu_count": str(state["count"]),
        "torch_version": torch.__version__,
        "torchvision_version": __import__("torchvision").__version__,
        "generator": "tools/make_references.py",
    }
    if arch.startswith("cifar_resnet"):
        meta["depth"] = arch[len("cifar_resnet"):]
    if module_shapes:
        meta["module_shapes"] = json.dumps(module_shapes)
    meta.update(info)
    return out, meta


def dtypes_for(tensors, bf16_over=BF16_OVER):
    d = {}
    for k, v in tensors.items():
        if k == "target":
            d[k] = "I64"
        elif k in ("input", "logits", "probs"):
            d[k] = "F32"
        else:
            d[k] = "BF16" if v.size > bf16_over else "F32"
    return d


def storage_for(name, tensors, args):
    """dtypes and the storage note: the small-input files also store input gradients as BF16."""
    over = min(args.bf16_over, SMALL_BF16_OVER) if MODELS[name][2] == "seeded_small" else args.bf16_over
    note = (f"BF16 (round to nearest even) for act/grad tensors over {over} elements, F32 otherwise "
            f"(input, logits, probs always F32); target I64")
    return dtypes_for(tensors, over), note


def summarize(name, tensors, dtypes, size, secs):
    logits = tensors["logits"]
    finite = all(np.all(np.isfinite(v)) for v in tensors.values())
    print(f"{name}: {size:,} bytes in {secs:.1f} s; targets {tensors['target'].tolist()}; "
          f"max|logit| {np.abs(logits).max():.4g}; top prob {tensors['probs'].max(1).round(4).tolist()}; "
          f"all finite: {finite}")
    for k, v in tensors.items():
        if k == "target":
            continue
        a = np.abs(v)
        stored = v
        if dtypes[k] == "BF16":
            stored = bf16_bits_to_f32(f32_to_bf16_bits(v))
        relerr = float(np.abs(stored - v).max() / (a.max() + 1e-30))
        frac0 = float((v == 0).mean())
        print(f"    {k:26s} {dtypes[k]:4s} {str(list(v.shape)):20s} max|x| {a.max():.4g}  mean|x| {a.mean():.4g}"
              f"  zeros {100 * frac0:.1f}%" + (f"  bf16 max err/max {relerr:.1e}" if dtypes[k] == "BF16" else ""))
    return finite


def main(argv=None):
    ap = argparse.ArgumentParser(description="Regenerate test/references/<model>.safetensors")
    ap.add_argument("models", nargs="*", help=f"subset of {list(MODELS)} (default: all)")
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "test", "references"))
    ap.add_argument("--check", metavar="DIR", help="after writing, compare each file byte for byte with DIR")
    ap.add_argument("--bf16-over", type=int, default=BF16_OVER, metavar="N",
                    help=f"store act/grad tensors with more than N elements as BF16 (default {BF16_OVER})")
    ap.add_argument("--omit-seeded-input", action="store_true",
                    help="leave `input` out of the seeded 224x224 files (regenerate it with seeded_input; "
                         "saves 602,112 bytes per file)")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    names = args.models or list(MODELS)
    for n in names:
        if n not in MODELS:
            ap.error(f"unknown model {n!r}; choose from {list(MODELS)}")
    os.makedirs(args.out_dir, exist_ok=True)
    total = 0
    ok = True
    for name in names:
        t0 = time.time()
        tensors, meta = run_model(name)
        kind = MODELS[name][2]
        if (args.omit_seeded_input and kind == "seeded") or kind == "seeded_small":
            del tensors["input"]
            shape = meta.get("input_shape", "[1, 3, 224, 224]")
            meta["input_stored"] = f"no: regenerate with seededInput({shape}, 0)"
        dt, meta["storage"] = storage_for(name, tensors, args)
        path = os.path.join(args.out_dir, f"{name}.safetensors")
        size = save_file(tensors, path, metadata=meta, dtypes=dt)
        total += size
        ok &= summarize(name, tensors, dt, size, time.time() - t0)
        if args.check:
            other = os.path.join(args.check, f"{name}.safetensors")
            same = os.path.exists(other) and open(other, "rb").read() == open(path, "rb").read()
            print(f"    identical to {other}: {same}")
            ok &= same
        del tensors
    all_refs = sum(os.path.getsize(os.path.join(args.out_dir, f)) for f in os.listdir(args.out_dir)
                   if f.endswith(".safetensors"))
    print(f"written this run: {total:,} bytes; all *.safetensors in {args.out_dir}: {all_refs:,} bytes")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
