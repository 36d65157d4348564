#!/usr/bin/env python3
"""Train LayerTracer's two default models on the synthetic shapes dataset and export them.

What it writes
    weights/default-resnet.safetensors   CIFAR ResNet (akamaster layout, option-A shortcuts), depth 14
    weights/default-vgg.safetensors      plain conv stack: features.N conv3x3/ReLU/MaxPool + `classifier`
Both use PyTorch state_dict key names, so the engine loads them through the same code paths as the
CIFAR ResNets and plain conv stacks (src/graph/architectures/cifar-resnet.ts, plain-cnn.ts). Metadata:
architecture, input_size [64,64], normalize {mean,std} (per channel of x/255, from the train split),
classes, accuracy (test top-1), val_accuracy, dataset (splits, seeds, counts, generator), trained_by,
source, generator, epochs, parameters, train_seconds, training (recipe), and depth for the ResNet.

How to run (from the repository root)
    # 1. generate the data (TypeScript generator, src/data/synthetic; ~1 ms per image)
    npx esbuild tools/generate-dataset.ts --bundle --platform=node --format=esm --outfile=dist/gen.mjs \
        --external:pngjs --external:jpeg-js --external:webgpu
    mkdir -p /tmp/synth
    node dist/gen.mjs --split train --count 12000 --out /tmp/synth/synth-train.safetensors
    node dist/gen.mjs --split val   --count 2000  --out /tmp/synth/synth-val.safetensors
    node dist/gen.mjs --split test  --count 2000  --out /tmp/synth/synth-test.safetensors
    # 2. train and export (Debian's python3-torch; numpy; nothing downloaded)
    /usr/bin/python3 tools/train_default_models.py --data /tmp/synth [--force] [--models resnet,vgg]

How long
    CPU only, 2 threads (--threads). On the 2-core development machine: about 33 s per VGG epoch when
    the machine is otherwise idle, and about 130 s per ResNet-14 epoch on one thread while other jobs
    shared the cores. weights/README.md has the measured runs.

Training recipe (and why)
    AdamW with a one-cycle schedule, batch 64, random dihedral augmentation (the 8 rotations by 90
    degrees and flips; every class silhouette has a mirror axis). Three training-only aids, none in
    the exported weights:
    - The ResNet trains with exit heads (ExitHeads, --exit-weight-resnet): a linear classifier on the
      pooled output of every block from stage 2 on but the last, so that E2CM's nearest-class-mean exits
      on those pooled features can fire at run time.
    - The VGG trains with a batch norm after every conv (folded into the convs at export, checked to
      give the same test predictions) and an auxiliary 1x1-conv head on its last conv predicting each
      position's class from the ground-truth mask (--aux-weight-vgg; 0 turns it off). This makes its
      late features object-centred, which favours the localisation scores of every attribution method
      alike: keep that in mind when comparing with models trained on labels only.
    - These small nets sit at chance for epochs until the full-resolution stem finds colour-contrast
      edge detectors. The VGG finds them first; the ResNet's conv1 (same 16x3x3x3 shape) starts from
      the trained VGG's features.0 filters, which cuts its plateau from several epochs to about one.
      So the VGG is always trained first (or read from weights/default-vgg.safetensors).

Determinism
    torch.manual_seed plus a seeded torch.Generator for shuffling and augmentation; deterministic
    algorithms on CPU. The same data, thread count and torch build give the same weights.

Refuses to overwrite an existing weights file unless --force is given.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import load_file, save_file  # noqa: E402
from torch_models import build  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_FILE_BYTES = 5 * 1024 * 1024
TARGET_ACCURACY = 0.97

# VGG-style stack: channels per conv, 'M' = 2x2 max-pool. Every conv is followed by a ReLU; the
# engine's plain-CNN loader wants a pool after the last conv. 64x64 -> 4x4x128 -> classifier.
VGG_CFG: List[object] = [16, "M", 32, "M", 64, 64, "M", 128, "M"]


class PlainVGG(nn.Module):
    """features = nn.Sequential(conv3x3 pad 1, ReLU, [MaxPool2d(2, 2)], ...), classifier = Linear(CHW).

    This is the exported (and the engine's) form. Training uses TrainVGG, the same stack with a batch
    norm after every conv, folded into the conv at export (fold_vgg): without it this plain stack
    learns far too slowly for the CPU budget.
    """

    def __init__(self, cfg: List[object], num_classes: int, input_size: Tuple[int, int], batch_norm: bool = False):
        super().__init__()
        layers: List[nn.Module] = []
        cin, h, w = 3, input_size[0], input_size[1]
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                h, w = h // 2, w // 2
            else:
                layers.append(nn.Conv2d(cin, int(v), 3, padding=1, bias=not batch_norm))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(int(v)))
                layers.append(nn.ReLU())
                cin = int(v)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(cin * h * w, num_classes)
        for mod in self.modules():
            if isinstance(mod, nn.Conv2d):
                nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
                if mod.bias is not None:
                    nn.init.zeros_(mod.bias)
            elif isinstance(mod, nn.Linear):
                nn.init.normal_(mod.weight, 0, 0.01)
                nn.init.zeros_(mod.bias)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


@torch.no_grad()
def fold_vgg(trained: PlainVGG, cfg: List[object], input_size: Tuple[int, int]) -> PlainVGG:
    """The batch-norm-free PlainVGG computing the same function in eval mode: each BN folded into its conv,
    w' = w * g / sqrt(var + eps), b' = beta - mean * g / sqrt(var + eps)."""
    plain = PlainVGG(cfg, trained.classifier.out_features, input_size)
    src = [m for m in trained.features if not isinstance(m, nn.ReLU)]
    dst = [m for m in plain.features if isinstance(m, (nn.Conv2d, nn.MaxPool2d))]
    i = 0
    for d in dst:
        if isinstance(d, nn.MaxPool2d):
            assert isinstance(src[i], nn.MaxPool2d)
            i += 1
            continue
        conv, bn = src[i], src[i + 1]
        assert isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        d.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
        d.bias.copy_(bn.bias - bn.running_mean * scale)
        i += 2
    plain.classifier.load_state_dict(trained.classifier.state_dict())
    return plain.eval()


def check_plain_layout(model: PlainVGG) -> None:
    """The engine infers the layout from key indices: conv i, ReLU i+1, pool i+2 iff next conv is i+3 or last."""
    convs = [i for i, m in enumerate(model.features) if isinstance(m, nn.Conv2d)]
    for n, i in enumerate(convs):
        assert isinstance(model.features[i + 1], nn.ReLU), f"features.{i + 1} must be a ReLU"
        last = n == len(convs) - 1
        pooled = i + 2 < len(model.features) and isinstance(model.features[i + 2], nn.MaxPool2d)
        expect_pool = last or convs[n + 1] - i == 3
        assert pooled == expect_pool, f"features.{i}: pool placement the engine cannot infer"


# ------------------------------------------------------------------------------------------- data
def load_split(path: str) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, Dict[str, str]]:
    """uint8 images (N, 3, H, W), int64 labels (N), uint8 masks (N, H, W), metadata."""
    tensors, meta = load_file(path)
    images = tensors["images"]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
        raise SystemExit(f"{path}: images must be U8 [N,H,W,3], got {images.dtype} {images.shape}")
    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    y = torch.from_numpy(tensors["labels"].astype(np.int64))
    masks = torch.from_numpy(tensors["masks"]) if "masks" in tensors else torch.zeros(x.shape[0], *x.shape[2:], dtype=torch.uint8)
    return x, y, masks, meta


def channel_stats(x_u8: torch.Tensor) -> Tuple[List[float], List[float]]:
    """Per-channel mean and std of x/255 over a uint8 (N, 3, H, W) set, in float64."""
    mean = torch.zeros(3, dtype=torch.float64)
    sq = torch.zeros(3, dtype=torch.float64)
    for i in range(0, len(x_u8), 1000):
        b = x_u8[i:i + 1000].to(torch.float64) / 255.0
        mean += b.sum(dim=(0, 2, 3))
        sq += (b * b).sum(dim=(0, 2, 3))
    n = x_u8.shape[0] * x_u8.shape[2] * x_u8.shape[3]
    mean /= n
    std = (sq / n - mean * mean).sqrt()
    return [round(float(v), 6) for v in mean], [round(float(v), 6) for v in std]


class Normalizer:
    def __init__(self, mean: List[float], std: List[float]):
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)

    def __call__(self, x_u8: torch.Tensor) -> torch.Tensor:
        return (x_u8.float() / 255.0 - self.mean) / self.std


def dihedral(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A random one of the 8 rotations/reflections per image (x: (N, C, H, W), masks may ride along as
    a channel). Every class silhouette has a mirror axis and the data already has random rotations, so
    labels do not change."""
    k = torch.randint(0, 8, (x.shape[0],), generator=gen)
    out = x.clone()
    for t in range(1, 8):
        idx = (k == t).nonzero().flatten()
        if len(idx) == 0:
            continue
        v = x[idx]
        if t >= 4:
            v = v.flip(3)
        out[idx] = torch.rot90(v, t % 4, dims=(2, 3))
    return out


class AuxSegmentation(nn.Module):
    """Training-only helper, never exported: a 1x1 conv on the output of `layer` predicting each
    position's class (0 = background, 1 + label = object) from the ground-truth mask. Dense targets give
    thousands of labels per image instead of one, which gets the small networks past the long initial
    plateau of shape classification within the CPU budget. It also pushes the features at that layer
    to be object-centred, which favours localisation scores of every attribution method alike (see
    weights/README.md)."""

    def __init__(self, layer: nn.Module, channels: int, num_classes: int):
        super().__init__()
        self.head = nn.Conv2d(channels, num_classes + 1, 1)
        self.features = None
        layer.register_forward_hook(lambda _m, _i, out: setattr(self, "features", out))

    def loss(self, masks: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        f = self.features
        scale = masks.shape[-1] // f.shape[-1]
        inside = F.avg_pool2d(masks.float().unsqueeze(1), scale).squeeze(1) > 0.5  # (N, h, w)
        target = torch.where(inside, labels.view(-1, 1, 1) + 1, torch.zeros_like(labels).view(-1, 1, 1))
        return F.cross_entropy(self.head(f), target)


class ExitHeads(nn.Module):
    """Training-only helper, never exported: a linear classifier on the global-average-pooled output of
    each chosen residual block (deep supervision, as BranchyNet trains its side branches). It makes the
    pooled features at those blocks class-separable, which is what E2CM's nearest-class-mean exits read
    at run time; the exported network is the plain ResNet (see weights/README.md)."""

    def __init__(self, blocks: Dict[str, nn.Module], channels: Dict[str, int], num_classes: int):
        super().__init__()
        self.names = list(blocks)
        self.heads = nn.ModuleDict({n.replace(".", "_"): nn.Linear(channels[n], num_classes) for n in self.names})
        self.features: Dict[str, torch.Tensor] = {}
        for n, block in blocks.items():
            block.register_forward_hook(lambda _m, _i, out, n=n: self.features.__setitem__(n, out))

    def loss(self, labels: torch.Tensor) -> torch.Tensor:
        losses = [F.cross_entropy(self.heads[n.replace(".", "_")](self.features[n].mean((2, 3))), labels) for n in self.names]
        return torch.stack(losses).mean()


def resnet_exit_blocks(model: nn.Module, first_stage: int) -> Dict[str, nn.Module]:
    """Every residual block from `first_stage` on except the last one (that one feeds the classifier)."""
    blocks = {f"{s}.{b}": blk for s in ("layer1", "layer2", "layer3") for b, blk in enumerate(getattr(model, s))}
    names = [n for n in blocks if int(n[5]) >= first_stage][:-1]
    return {n: blocks[n] for n in names}


@torch.no_grad()
def ncm_accuracy(model: nn.Module, blocks: Dict[str, nn.Module], train, val, norm: "Normalizer") -> Dict[str, float]:
    """Nearest-class-mean accuracy of each block's pooled features on `val`, class means from `train`
    (what E2CM will see), for the training log."""
    model.eval()
    feats: Dict[str, List[torch.Tensor]] = {}
    hooks = [b.register_forward_hook(lambda _m, _i, o, n=n: feats.setdefault(n, []).append(o.mean((2, 3)))) for n, b in blocks.items()]

    def pooled(x_u8):
        feats.clear()
        for i in range(0, len(x_u8), 250):
            model(norm(x_u8[i:i + 250]))
        return {n: torch.cat(v) for n, v in feats.items()}

    (xtr, ytr), (xva, yva) = train, val
    ftr, fva = pooled(xtr), pooled(xva)
    for h in hooks:
        h.remove()
    out = {}
    for n in blocks:
        means = torch.stack([ftr[n][ytr == k].mean(0) for k in range(int(ytr.max()) + 1)])
        out[n] = float((torch.cdist(fva[n], means).argmin(1) == yva).float().mean())
    return out


# ------------------------------------------------------------------------------------------- train
@torch.no_grad()
def evaluate(model: nn.Module, x_u8: torch.Tensor, y: torch.Tensor, norm: Normalizer, batch: int = 250) -> float:
    model.eval()
    correct = 0
    for i in range(0, len(x_u8), batch):
        pred = model(norm(x_u8[i:i + batch])).argmax(1)
        correct += int((pred == y[i:i + batch]).sum())
    return correct / len(y)


def train(model: nn.Module, name: str, data, norm: Normalizer, epochs: int, lr: float, batch: int, seed: int,
          log_every: int, aux: AuxSegmentation = None, aux_weight: float = 0.0, exit_heads: ExitHeads = None,
          exit_weight: float = 0.0) -> Dict[str, float]:
    (xtr, ytr, mtr), (xva, yva) = data
    gen = torch.Generator().manual_seed(seed)
    steps_per_epoch = len(xtr) // batch
    params = list(model.parameters()) + (list(aux.parameters()) if aux is not None else [])
    params += list(exit_heads.parameters()) if exit_heads is not None else []
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch,
                                                pct_start=0.2, anneal_strategy="cos")
    t0 = time.time()
    step = 0
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        running_loss, running_aux, running_correct, seen = 0.0, 0.0, 0, 0
        for s in range(steps_per_epoch):
            idx = perm[s * batch:(s + 1) * batch]
            both = dihedral(torch.cat([xtr[idx], mtr[idx].unsqueeze(1)], 1), gen)  # image and mask alike
            xb, mb = norm(both[:, :3]), both[:, 3]
            yb = ytr[idx]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            total = loss
            if aux is not None and aux_weight > 0:
                aux_loss = aux.loss(mb, yb)
                total = loss + aux_weight * aux_loss
                running_aux += float(aux_loss) * len(yb)
            if exit_heads is not None and exit_weight > 0:
                total = total + exit_weight * exit_heads.loss(yb)
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            sched.step()
            step += 1
            running_loss += float(loss) * len(yb)
            running_correct += int((logits.argmax(1) == yb).sum())
            seen += len(yb)
            if log_every and step % log_every == 0:
                print(f"  [{name}] epoch {epoch + 1}/{epochs} step {s + 1}/{steps_per_epoch}: loss "
                      f"{running_loss / seen:.4f} (aux {running_aux / seen:.4f}), train acc "
                      f"{100 * running_correct / seen:.1f} %, {time.time() - t0:.0f} s", flush=True)
        val = evaluate(model, xva, yva, norm)
        print(f"  [{name}] epoch {epoch + 1}/{epochs}: train loss {running_loss / max(seen, 1):.4f}, "
              f"val acc {100 * val:.2f} %, {time.time() - t0:.0f} s", flush=True)
    return {"val": val, "seconds": time.time() - t0}


# ------------------------------------------------------------------------------------------- export
def export(model: nn.Module, path: str, metadata: Dict[str, str], force: bool) -> int:
    if os.path.exists(path) and not force:
        raise SystemExit(f"{path} already exists; refusing to overwrite it (pass --force to replace it)")
    tensors = {k: v.detach().cpu().numpy().astype(np.float32)
               for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    tmp = f"{path}.tmp"
    size = save_file(tensors, tmp, metadata=metadata)
    if size > MAX_FILE_BYTES:
        os.remove(tmp)
        raise SystemExit(f"{path}: {size} bytes is over the {MAX_FILE_BYTES}-byte limit")
    os.replace(tmp, path)
    return size


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="/tmp/synth",
                   help="folder with synth-{train,val,test}.safetensors from tools/generate-dataset.ts")
    p.add_argument("--out-dir", default=os.path.join(ROOT, "weights"))
    p.add_argument("--models", default="resnet,vgg", help="comma list: resnet, vgg")
    p.add_argument("--depth", type=int, default=14, help="CIFAR ResNet depth 6n+2 (default 14: two blocks per stage)")
    p.add_argument("--exit-weight-resnet", type=float, default=0.3,
                   help="weight of the ResNet's training-only exit heads (deep supervision of the pooled features of "
                        "every block from --exit-first-stage on but the last; 0 = plain classification)")
    p.add_argument("--exit-first-stage", type=int, default=2, help="first stage whose blocks get exit heads")
    p.add_argument("--train-count", type=int, default=0, help="use only the first N training images (0 = all)")
    p.add_argument("--epochs-resnet", type=int, default=10)
    p.add_argument("--epochs-vgg", type=int, default=12)
    p.add_argument("--lr-resnet", type=float, default=2e-3)
    p.add_argument("--lr-vgg", type=float, default=3e-3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--aux-weight-vgg", type=float, default=0.5,
                   help="weight of the VGG's training-only mask-segmentation loss (0 = plain classification)")
    p.add_argument("--aux-weight-resnet", type=float, default=0.0,
                   help="the same for the ResNet (off by default: it did not shorten its plateau)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--log-every", type=int, default=25, help="progress line every N steps (0 = per epoch only)")
    p.add_argument("--force", action="store_true", help="replace existing weights files")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in ("resnet", "vgg"):
            raise SystemExit(f"unknown model {m!r}; use resnet and/or vgg")
    models = [m for m in ("vgg", "resnet") if m in models]  # the ResNet's stem starts from the VGG's
    outputs = {"resnet": os.path.join(args.out_dir, "default-resnet.safetensors"),
               "vgg": os.path.join(args.out_dir, "default-vgg.safetensors")}
    for m in models:  # fail before hours of training, not after
        if os.path.exists(outputs[m]) and not args.force:
            raise SystemExit(f"{outputs[m]} already exists; refusing to overwrite it (pass --force to replace it)")

    splits = {}
    for split in ("train", "val", "test"):
        path = os.path.join(args.data, f"synth-{split}.safetensors")
        if not os.path.exists(path):
            raise SystemExit(f"{path} is missing; generate it first (see the top of {__file__})")
        splits[split] = load_split(path)
    xtr, ytr, masks_tr, mtr = splits["train"]
    if args.train_count:
        xtr, ytr, masks_tr = xtr[:args.train_count], ytr[:args.train_count], masks_tr[:args.train_count]
    xva, yva, _, mva = splits["val"]
    xte, yte, _, mte = splits["test"]
    classes = json.loads(mtr["classes"])
    for split, (_, _, _, meta) in splits.items():
        if json.loads(meta["classes"]) != classes or meta.get("generator") != mtr.get("generator"):
            raise SystemExit(f"{split} split was made by another generator version or class list than train")
    input_size = [int(xtr.shape[2]), int(xtr.shape[3])]
    mean, std = channel_stats(xtr)
    norm = Normalizer(mean, std)
    print(f"data: train {len(xtr)}, val {len(xva)}, test {len(xte)} images {input_size}, "
          f"{len(classes)} classes; mean {mean}, std {std}", flush=True)
    dataset = {
        "generator": mtr.get("generator"),
        "train": {"seed": int(mtr["seed"]), "count": len(xtr)},
        "val": {"seed": int(mva["seed"]), "count": len(xva)},
        "test": {"seed": int(mte["seed"]), "count": len(xte)},
    }
    common = {
        "input_size": json.dumps(input_size),
        "normalize": json.dumps({"mean": mean, "std": std}),
        "classes": json.dumps(classes),
        "dataset": json.dumps(dataset),
        "generator": str(mtr.get("generator")),
        "trained_by": "tools/train_default_models.py",
        "format": "pt",
    }

    report = []
    vgg_stem = None  # (16, 3, 3, 3) first-layer filters of the trained, BN-folded VGG
    if "resnet" in models and "vgg" not in models and os.path.exists(outputs["vgg"]):
        vgg_stem = torch.from_numpy(load_file(outputs["vgg"])[0]["features.0.weight"])
    for m in models:
        torch.manual_seed(args.seed)
        if m == "resnet":
            model = build("cifar_resnet", depth=args.depth, num_classes=len(classes))
            epochs, lr = args.epochs_resnet, args.lr_resnet
            aux = AuxSegmentation(model.layer3, 64, len(classes))
            aux_weight = args.aux_weight_resnet
            exit_blocks = resnet_exit_blocks(model, args.exit_first_stage)
            exit_channels = {n: blk.conv2.out_channels for n, blk in exit_blocks.items()}
            exit_heads = ExitHeads(exit_blocks, exit_channels, len(classes)) if args.exit_weight_resnet > 0 else None
            exit_weight = args.exit_weight_resnet
            # From random filters the ResNet sits at chance for epochs: its full-resolution stem must first
            # find colour-contrast edge detectors, which the VGG's first layer already is (same shape,
            # 16x3x3x3; conv1 is followed by its own batch norm, so the scale does not matter).
            stem = "random"
            if vgg_stem is not None and tuple(vgg_stem.shape) == tuple(model.conv1.weight.shape):
                with torch.no_grad():
                    model.conv1.weight.copy_(vgg_stem)
                stem = "features.0 of the trained VGG"
            else:
                print("WARNING: no trained VGG to start the ResNet's conv1 from; training from random filters "
                      "(expect a long plateau at chance)", flush=True)
            meta = {"architecture": "cifar_resnet", "depth": str(args.depth),
                    "source": f"CIFAR ResNet-{args.depth} (option-A shortcuts) trained on the LayerTracer "
                              "synthetic shapes dataset"}
        else:
            model = PlainVGG(VGG_CFG, len(classes), tuple(input_size), batch_norm=True)
            last_relu = [mod for mod in model.features if isinstance(mod, nn.ReLU)][-1]
            aux = AuxSegmentation(last_relu, [v for v in VGG_CFG if v != "M"][-1], len(classes))
            aux_weight = args.aux_weight_vgg
            stem = "random"
            exit_heads, exit_weight, exit_blocks = None, 0.0, {}
            epochs, lr = args.epochs_vgg, args.lr_vgg
            meta = {"architecture": "plain_cnn", "vgg_cfg": json.dumps(VGG_CFG),
                    "source": "VGG-style plain conv stack trained on the LayerTracer synthetic shapes dataset"}
        params = sum(t.numel() for t in model.parameters())
        print(f"{m}: {params} parameters, {epochs} epochs, AdamW one-cycle lr {lr}, batch {args.batch}", flush=True)
        result = train(model, m, ((xtr, ytr, masks_tr), (xva, yva)), norm, epochs, lr, args.batch, args.seed,
                       args.log_every, aux, aux_weight, exit_heads, exit_weight)
        test_acc = evaluate(model, xte, yte, norm)
        print(f"{m}: test accuracy {100 * test_acc:.2f} % on {len(yte)} images (val {100 * result['val']:.2f} %), "
              f"trained in {result['seconds']:.0f} s", flush=True)
        if m == "resnet":
            blocks = {f"{st}.{b}": blk for st in ("layer1", "layer2", "layer3") for b, blk in enumerate(getattr(model, st))}
            ncm = ncm_accuracy(model, blocks, (xtr[:3000], ytr[:3000]), (xva, yva), norm)
            print("resnet: nearest-class-mean accuracy of pooled block features on val (means from 3000 train images): "
                  + ", ".join(f"{n} {100 * a:.1f} %" for n, a in ncm.items()), flush=True)
        if test_acc < TARGET_ACCURACY:
            print(f"WARNING: {m} test accuracy {100 * test_acc:.2f} % is below the {100 * TARGET_ACCURACY:.0f} % target",
                  flush=True)
        if m == "vgg":
            folded = fold_vgg(model.eval(), VGG_CFG, tuple(input_size))
            check_plain_layout(folded)
            folded_acc = evaluate(folded, xte, yte, norm)
            print(f"vgg: batch norm folded into the convs: test accuracy {100 * folded_acc:.2f} %", flush=True)
            if abs(folded_acc - test_acc) > 0.002:
                raise SystemExit("folding batch norm changed the predictions; not exporting")
            model, test_acc = folded, folded_acc
            vgg_stem = model.features[0].weight.detach().clone()
            params = sum(t.numel() for t in model.parameters())
        meta.update(common)
        meta.update({
            "accuracy": f"{test_acc:.4f}",
            "val_accuracy": f"{result['val']:.4f}",
            "epochs": str(epochs),
            "parameters": str(params),
            "train_seconds": f"{result['seconds']:.0f}",
            "seed": str(args.seed),
            "training": json.dumps({"optimizer": "AdamW one-cycle", "lr": lr, "batch": args.batch,
                                    "augmentation": "random dihedral (rotations by 90 degrees, flips)",
                                    "aux_mask_loss_weight": aux_weight, "conv1_init": stem,
                                    "exit_heads": {"weight": exit_weight, "blocks": list(exit_blocks)}}),
        })
        os.makedirs(args.out_dir, exist_ok=True)
        size = export(model.eval(), outputs[m], meta, args.force)
        print(f"wrote {outputs[m]} ({size} bytes)", flush=True)
        report.append((m, params, test_acc, result["seconds"], size))

    for m, params, acc, secs, size in report:
        print(f"{m:7s} params {params:7d}  test {100 * acc:.2f} %  train {secs:.0f} s  file {size} bytes")
    return 0 if all(acc >= TARGET_ACCURACY for _, _, acc, _, _ in report) else 1


if __name__ == "__main__":
    sys.exit(main())
