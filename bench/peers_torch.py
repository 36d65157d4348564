#!/usr/bin/env python3
"""The PyTorch peer for `npm run bench:peers` (Debian's python3-torch on the CPU, 2 threads, unless
`--device cuda` / `--threads N` say otherwise).

A worker the Node driver keeps open, so PyTorch runs interleaved with LayerTracer and TF.js in one
process tree. One JSON command per line on stdin, one JSON reply per line on stdout:
  {"cmd": "setup", "id": ID, "kind": KIND, ...}   -> {"ok": true} or {"error": "..."}
  {"cmd": "run", "id": ID}                         -> {"ms": wall milliseconds of one run}
  {"cmd": "quit"}
Kinds: forward / backward (torchvision arch, batch, 224x224; backward = d logit[0] / d input),
gradcam (arch, layer4), rise (the shared CIFAR ResNet-20, masks, batch, s, p).
Random weights for the torchvision models (timing does not depend on the values); the shared trained
weights for the CIFAR model, as LayerTracer uses.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))


def parse_args(argv):
    """--device cpu|cuda (default cpu) and --threads N (default 2): the driver passes its own flags on."""
    opts = {"device": "cpu", "threads": 2}
    for flag, value in zip(argv[::2], argv[1::2]):
        if flag == "--device":
            opts["device"] = value
        elif flag == "--threads":
            opts["threads"] = int(value)
        else:
            raise SystemExit(f"peers_torch.py: unknown flag {flag}")
    return opts


OPTS = parse_args(sys.argv[1:])
DEVICE = torch.device(OPTS["device"])
torch.set_num_threads(OPTS["threads"])
torch.manual_seed(0)


def synchronize():
    """A CUDA run is timed until its kernels finish, as LayerTracer's are (until the result is read)."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def torchvision_model(arch):
    import torchvision.models as models

    return getattr(models, arch)(weights=None).eval().to(DEVICE)


class Forward:
    def __init__(self, arch, batch, backward):
        self.model = torchvision_model(arch)
        self.x = torch.randn(batch, 3, 224, 224).to(DEVICE)
        self.backward = backward

    def run(self):
        if not self.backward:
            with torch.no_grad():
                self.model(self.x)
            synchronize()
            return
        x = self.x.clone().requires_grad_(True)
        out = self.model(x)
        (g,) = torch.autograd.grad(out[:, 0].sum(), x)
        g.sum().item()


class GradCam:
    """Grad-CAM at layer4 (Selvaraju et al.): ReLU(sum_k mean(dy/dA_k) A_k), upsampled to the input."""

    def __init__(self, arch):
        self.model = torchvision_model(arch)
        self.x = torch.randn(1, 3, 224, 224).to(DEVICE)
        self.acts = None
        self.model.layer4.register_forward_hook(lambda m, i, o: setattr(self, "acts", o))

    def run(self):
        out = self.model(self.x)
        target = int(out.argmax(1))
        (g,) = torch.autograd.grad(out[0, target], self.acts)
        cam = F.relu((g.mean((2, 3), keepdim=True) * self.acts).sum(1, keepdim=True))
        F.interpolate(cam, size=(224, 224), mode="bilinear", align_corners=False).sum().item()


class Rise:
    """RISE (Petsiuk et al. 2018), the authors' recipe: s x s binary grids, bilinear upsampling with a
    random shift, batches of masked images, saliency = sum_i p_i(c) M_i / (N p)."""

    def __init__(self, masks, batch, s, p):
        from torch_models import load_shared, normalize_uint8_nhwc  # noqa: E402
        from safetensors_io import load_file  # noqa: E402

        self.model = load_shared("resnet20").to(DEVICE)
        data, _ = load_file(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                         "shared", "data", "cifar10", "test1000.safetensors"))
        self.x = normalize_uint8_nhwc(data["images"][:1], "cifar_resnet20").to(DEVICE)
        self.n, self.batch, self.s, self.p = masks, batch, s, p

    def masks(self, count, h, w, gen):
        cell = (h // self.s + 1, w // self.s + 1)
        up = ((self.s + 1) * cell[0], (self.s + 1) * cell[1])
        grid = (torch.rand(count, 1, self.s, self.s, generator=gen, device=DEVICE) < self.p).float()
        big = F.interpolate(grid, size=up, mode="bilinear", align_corners=False)
        dy = torch.randint(0, cell[0], (count,), generator=gen, device=DEVICE).tolist()
        dx = torch.randint(0, cell[1], (count,), generator=gen, device=DEVICE).tolist()
        return torch.stack([big[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(count)])

    def run(self):
        gen = torch.Generator(device=DEVICE).manual_seed(0)
        _, _, h, w = self.x.shape
        with torch.no_grad():
            target = int(self.model(self.x).argmax(1))
            sal = torch.zeros(h * w, device=DEVICE)
            for start in range(0, self.n, self.batch):
                m = self.masks(min(self.batch, self.n - start), h, w, gen)
                probs = F.softmax(self.model(self.x * m), dim=1)[:, target]
                sal += probs @ m.view(m.shape[0], -1)
            (sal / (self.n * self.p)).sum().item()


def setup(cmd):
    kind = cmd["kind"]
    if kind in ("forward", "backward"):
        return Forward(cmd["arch"], cmd.get("batch", 1), kind == "backward")
    if kind == "gradcam":
        return GradCam(cmd["arch"])
    if kind == "rise":
        return Rise(cmd["masks"], cmd["batch"], cmd.get("s", 7), cmd.get("p", 0.5))
    raise ValueError(f"unknown kind {kind}")


def main():
    jobs = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["cmd"] == "quit":
                break
            if cmd["cmd"] == "ready":
                # Answered once torch is imported: the driver waits for it before it times anything.
                reply = {"ok": True, "torch": torch.__version__}
            elif cmd["cmd"] == "setup":
                jobs[cmd["id"]] = setup(cmd)
                reply = {"ok": True, "torch": torch.__version__, "threads": torch.get_num_threads(), "device": str(DEVICE)}
            elif cmd["cmd"] == "run":
                t0 = time.perf_counter()
                jobs[cmd["id"]].run()
                reply = {"ms": (time.perf_counter() - t0) * 1000}
            else:
                reply = {"error": f"unknown command {cmd['cmd']}"}
        except Exception as err:  # the driver reports it and goes on
            reply = {"error": f"{type(err).__name__}: {err}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
