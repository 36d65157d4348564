"""Writes the reference for the antialiased input resize (src/image/resize.ts, resizeImageAntialiased).

torchvision's Resize on a PIL image is PIL's Image.resize(size, BILINEAR): a triangle filter whose
support widens with the downscale factor (antialiasing), computed in 22-bit fixed point, horizontal
pass first with an 8-bit intermediate. This script draws a small picture that aliases badly without
filtering (a zone plate, thin stripes, a checkerboard and hard-edged shapes) and resizes it with PIL.

    /usr/bin/python3 tools/make_resize_reference.py

writes test/references/resize/zoneplate.png (the input, 128x96) and
test/references/resize/pil-bilinear.safetensors (U8 tensors out_WxH [H, W, 3], PIL's output at each size).
Needs only numpy and PIL (Debian's python3-pil or torchvision's).
"""
import os
import sys

import numpy as np
from PIL import Image, __version__ as PIL_VERSION

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import save_file  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT_DIR = os.path.join(ROOT, "test", "references", "resize")
WIDTH, HEIGHT = 128, 96
# Downscales of both kinds (even, odd, non-uniform, the default models' 64x64 and CIFAR's 32x32) and one up in x, down in y.
SIZES = [(64, 64), (32, 32), (45, 27), (100, 75), (13, 17), (150, 30)]


def picture() -> np.ndarray:
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    r2 = (x - WIDTH / 2) ** 2 + (y - HEIGHT / 2) ** 2
    zone = 0.5 + 0.5 * np.cos(np.pi * r2 / 90.0)  # frequency rises to the corners: aliases at any downscale
    stripes = ((x // 1) % 2).astype(np.float64)  # one-pixel columns
    checker = (((x // 3) + (y // 3)) % 2).astype(np.float64)
    disc = (((x - 92) ** 2 + (y - 30) ** 2) < 18**2).astype(np.float64)
    rgb = np.stack(
        [
            zone,
            np.where(x < WIDTH / 2, stripes, checker),
            np.clip(0.8 * disc + 0.2 * (y / HEIGHT), 0, 1),
        ],
        axis=-1,
    )
    return np.round(rgb * 255).astype(np.uint8)


def main() -> None:
    os.makedirs(OUT_DIR, exist_ok=True)
    img = Image.fromarray(picture(), "RGB")
    img.save(os.path.join(OUT_DIR, "zoneplate.png"), optimize=True)
    tensors = {f"out_{w}x{h}": np.asarray(img.resize((w, h), Image.BILINEAR), dtype=np.uint8) for (w, h) in SIZES}
    save_file(
        tensors,
        os.path.join(OUT_DIR, "pil-bilinear.safetensors"),
        metadata={"source": "PIL Image.resize(size, Image.BILINEAR) of zoneplate.png", "pil_version": PIL_VERSION},
    )
    print(f"wrote {OUT_DIR}/zoneplate.png and pil-bilinear.safetensors ({len(SIZES)} sizes, PIL {PIL_VERSION})")


if __name__ == "__main__":
    main()
