"""PyTorch builders for every architecture LayerTracer runs, with PyTorch's state_dict key names.

    build(arch, **kw) -> nn.Module (eval mode, every activation a separate non-inplace module)

arch: resnet18/34/50/101/152, vgg11/13/16/19 and vgg11_bn/13_bn/16_bn/19_bn, mobilenet_v2,
      mobilenet_v3_large/small, efficientnet_b0, densenet121/161/169/201 (torchvision, weights=None),
      cifar_resnet20/32/44/56/110/1202 or cifar_resnet with depth=6n+2 (akamaster layout, option-A
      shortcut), plain_cnn (the ConvNetJS CIFAR-10 net in ../shared/data/cifar10).

Also: input_spec(arch) -> dict(input_size, normalize, resize, classes), and `python3 tools/torch_models.py
--verify` which checks the shared CIFAR models' top-1 on test1000 (91.2 / 93.2 / 75.6 %).
"""
from __future__ import annotations

import os
import re
import sys
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

TORCHVISION_ARCHS = [
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
    "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0",
    "densenet121", "densenet161", "densenet169", "densenet201",
]
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR_MEAN = [0.4914, 0.4822, 0.4465]
CIFAR_STD = [0.2023, 0.1994, 0.2010]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


# ----------------------------------------------------------------------------------------- CIFAR ResNet
class OptionAShortcut(nn.Module):
    """Parameter-free shortcut: x[:, :, ::2, ::2], channels zero-padded by `pad` on both sides."""

    def __init__(self, pad: int):
        super().__init__()
        self.pad = pad

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad), "constant", 0.0)


class CifarBasicBlock(nn.Module):
    """akamaster/pytorch_resnet_cifar10 BasicBlock, option A shortcut. ReLUs are modules (relu1, relu2)."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU()
        if stride != 1 or in_planes != planes:
            self.shortcut = OptionAShortcut(planes // 4)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = out + self.shortcut(x)
        return self.relu2(out)


class CifarResNet(nn.Module):
    def __init__(self, depth: int = 20, num_classes: int = 10):
        super().__init__()
        if (depth - 2) % 6 != 0 or depth < 8:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2 (20, 32, 44, 56, 110, ...), got {depth}")
        n = (depth - 2) // 6
        self.depth = depth
        self.in_planes = 16
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.layer1 = self._make_layer(16, n, 1)
        self.layer2 = self._make_layer(32, n, 2)
        self.layer3 = self._make_layer(64, n, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(64, num_classes)

    def _make_layer(self, planes, blocks, stride):
        layers = []
        for s in [stride] + [1] * (blocks - 1):
            layers.append(CifarBasicBlock(self.in_planes, planes, s))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = torch.flatten(self.avgpool(out), 1)
        return self.linear(out)


# ----------------------------------------------------------------------------------------- plain CNN
class PlainCNN(nn.Module):
    """ConvNetJS CIFAR-10 net: 3 x (conv5x5 pad2, ReLU, maxpool 2x2), Linear(320, 10) on the CHW flatten."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(16, 20, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(20, 20, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        )
        self.classifier = nn.Linear(320, num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


# ----------------------------------------------------------------------------------------- helpers
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.Hardsigmoid, nn.SiLU, nn.Sigmoid)


def make_relus_non_inplace(model: nn.Module) -> nn.Module:
    """Replace every activation module by a fresh non-inplace one (same name), so hooks see true values.

    torchvision's BasicBlock / Bottleneck reuse one `relu` module for several activations, including the
    one after the residual add; swapping the module covers all of those call sites. MobileNet and
    EfficientNet build theirs with inplace=True.
    """
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, ACTIVATIONS):
                fresh = type(child)() if isinstance(child, nn.Sigmoid) else type(child)(inplace=False)
                setattr(parent, name, fresh)
    return model


def cifar_depth(arch: str, depth: Optional[int] = None) -> Optional[int]:
    m = re.fullmatch(r"cifar_resnet(\d+)?", arch)
    if not m:
        return None
    if m.group(1):
        d = int(m.group(1))
        if depth is not None and depth != d:
            raise ValueError(f"{arch} conflicts with depth={depth}")
        return d
    if depth is None:
        raise ValueError("cifar_resnet needs a depth (6n+2), e.g. --arch cifar_resnet20 or --depth 20")
    return int(depth)


def known_archs() -> List[str]:
    return TORCHVISION_ARCHS + ["cifar_resnet<6n+2>", "plain_cnn"]


def build(arch: str, depth: Optional[int] = None, num_classes: Optional[int] = None) -> nn.Module:
    """Build an untrained model in eval mode with non-inplace ReLU modules."""
    import torchvision

    if arch in TORCHVISION_ARCHS:
        kw = {"weights": None}
        if num_classes is not None:
            kw["num_classes"] = num_classes
        model = getattr(torchvision.models, arch)(**kw)
    elif arch == "plain_cnn":
        model = PlainCNN(num_classes or 10)
    elif cifar_depth(arch, depth) is not None:
        model = CifarResNet(cifar_depth(arch, depth), num_classes or 10)
    else:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(known_archs())}")
    make_relus_non_inplace(model)
    return model.eval()


def imagenet_classes() -> List[str]:
    import torchvision

    return list(torchvision.models.ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


def input_spec(arch: str, depth: Optional[int] = None) -> Dict[str, object]:
    """Preprocessing a model expects: input_size [H, W], normalize mean/std (of x/255), resize, classes."""
    if arch in TORCHVISION_ARCHS:
        return {"input_size": [224, 224], "normalize": {"mean": IMAGENET_MEAN, "std": IMAGENET_STD},
                "resize": 256, "classes": imagenet_classes()}
    if arch == "plain_cnn":
        # x/255 - 0.5  ==  (x/255 - 0.5) / 1
        return {"input_size": [32, 32], "normalize": {"mean": [0.5, 0.5, 0.5], "std": [1.0, 1.0, 1.0]},
                "resize": None, "classes": CIFAR_CLASSES}
    if cifar_depth(arch, depth) is not None:
        return {"input_size": [32, 32], "normalize": {"mean": CIFAR_MEAN, "std": CIFAR_STD},
                "resize": None, "classes": CIFAR_CLASSES}
    raise ValueError(f"unknown architecture {arch!r}")


def normalize_uint8_nhwc(images, arch: str) -> torch.Tensor:
    """uint8 [N,H,W,3] -> float32 [N,3,H,W] normalised as `arch` expects (torch float32 arithmetic)."""
    x = torch.as_tensor(images).permute(0, 3, 1, 2).float() / 255.0
    if arch == "plain_cnn":
        return (x - 0.5).contiguous()
    spec = input_spec(arch)
    mean = torch.tensor(spec["normalize"]["mean"], dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(spec["normalize"]["std"], dtype=torch.float32).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "shared", "data", "cifar10")
SHARED_MODELS = {  # name -> (arch, file)
    "resnet20": ("cifar_resnet20", "resnet20.safetensors"),
    "resnet56": ("cifar_resnet56", "resnet56.safetensors"),
    "plain_cnn": ("plain_cnn", "convnetjs_plain_cnn.safetensors"),
}


def load_shared(name: str, shared_dir: str = SHARED) -> nn.Module:
    """Build a shared CIFAR model and load its weights strictly."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from safetensors_io import load_file

    arch, fname = SHARED_MODELS[name]
    tensors, _ = load_file(os.path.join(shared_dir, fname))
    model = build(arch)
    sd = {k: torch.from_numpy(v) for k, v in tensors.items()}
    # The shared files carry no num_batches_tracked buffers; keep the model's own (unused in eval).
    for k, v in model.state_dict().items():
        if k.endswith("num_batches_tracked") and k not in sd:
            sd[k] = v
    model.load_state_dict(sd, strict=True)
    return model.eval()


def _verify(shared_dir: str = SHARED) -> None:
    from safetensors_io import load_file

    torch.set_num_threads(2)
    data, _ = load_file(os.path.join(shared_dir, "test1000.safetensors"))
    images, labels = data["images"], torch.from_numpy(data["labels"].astype("int64"))
    for name, (arch, _) in SHARED_MODELS.items():
        model = load_shared(name, shared_dir)
        x = normalize_uint8_nhwc(images, arch)
        with torch.no_grad():
            pred = torch.cat([model(x[i:i + 250]) for i in range(0, len(x), 250)]).argmax(1)
        correct = int((pred == labels).sum())
        print(f"{name:10s} ({arch}): top-1 {correct}/{len(labels)} = {100.0 * correct / len(labels):.1f} %")


if __name__ == "__main__":
    if "--verify" in sys.argv:
        _verify()
    else:
        print(__doc__)
