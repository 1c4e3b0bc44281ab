"""Image input and output: validate uploads, convert PIL <-> tensors, grids and upscaling.

Tensors here are float32 in [-1, 1] with shape (C, H, W) — the range diffusion models use.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..config import ASSETS, IMAGES

EXAMPLES_DIR = ASSETS / "examples"
# Decompression bombs: PIL refuses far beyond our own limit; ours is checked before decoding.
Image.MAX_IMAGE_PIXELS = IMAGES.max_pixels


def examples() -> dict[str, Path]:
    """Shipped example images by name (file stem), digits first."""
    files = sorted(EXAMPLES_DIR.glob("*.png"), key=lambda p: (not p.stem.startswith("digit"), p.stem))
    return {p.stem: p for p in files}


def load_image(path: str | os.PathLike, max_pixels: int = IMAGES.max_pixels) -> Image.Image:
    """Open an upload safely and return an RGB or L image; ValueError with a clear message otherwise.

    Handles palette, RGBA (composited on white), CMYK, 16-bit and animated images (first
    frame), EXIF rotation; refuses non-images, empty files and too many pixels.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ValueError("No image file was received.")
    if path.stat().st_size == 0:
        raise ValueError(f"{name} is empty (0 bytes): expected an image file (PNG, JPEG, WebP, GIF, BMP).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
            w, h = img.size
            if w < IMAGES.min_side or h < IMAGES.min_side:
                raise ValueError(f"{name} has no pixels ({w}×{h}).")
            if w * h > max_pixels:
                raise ValueError(
                    f"{name} is {w}×{h} = {w * h:,} pixels; the limit is {max_pixels:,}. "
                    "Please upload a smaller image."
                )
            img.seek(0)  # animated images: the first frame
            img.load()
    except ValueError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(f"{name} is too large to decode safely (limit {max_pixels:,} pixels).") from None
    except UnidentifiedImageError:
        raise ValueError(
            f"{name} is not an image this app can read: expected PNG, JPEG, WebP, GIF or BMP."
        ) from None
    except (OSError, SyntaxError, EOFError):
        raise ValueError(f"{name} is damaged or truncated and could not be decoded.") from None
    return _normalise_mode(ImageOps.exif_transpose(img))


def _normalise_mode(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16-bit / float: rescale to 8 bit
        a = np.asarray(img, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(a)
        return Image.fromarray(a.astype(np.uint8), "L")
    if img.mode in ("1", "L", "LA"):
        img = img.convert("LA") if img.mode != "LA" else img
        return _on_white(img).convert("L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "PA", "La"):
        return _on_white(img.convert("RGBA")).convert("RGB")
    return img.convert("RGB")


def _on_white(img: Image.Image) -> Image.Image:
    bg = Image.new(img.mode, img.size, (255,) * len(img.mode))
    bg.alpha_composite(img) if img.mode == "RGBA" else bg.paste(img, mask=img.getchannel("A"))
    return bg


def fit(img: Image.Image, size: int = IMAGES.work_size) -> Image.Image:
    """Resize so the longer side is `size`, aspect kept (never less than 1 px per side)."""
    w, h = img.size
    scale = size / max(w, h)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    return img.resize(new, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC)


def to_tensor(img: Image.Image) -> torch.Tensor:
    """PIL (L or RGB) -> float32 (C, H, W) in [-1, 1]."""
    a = np.asarray(img, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(a[None] if a.ndim == 2 else a.transpose(2, 0, 1).copy())


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(C, H, W) or (H, W) in [-1, 1] -> uint8 array (H, W) or (H, W, C), values clipped."""
    a = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)
    return a


def to_pil(x: torch.Tensor, width: int | None = None) -> Image.Image:
    """Tensor in [-1, 1] -> PIL image, optionally upscaled (nearest: pixels stay visible)."""
    img = Image.fromarray(to_uint8(x))
    if width and img.width != width:
        img = img.resize((width, max(1, round(img.height * width / img.width))), Image.Resampling.NEAREST)
    return img


def noise_to_pil(eps: torch.Tensor, width: int | None = None) -> Image.Image:
    """ε ~ N(0, I) shown with ±3σ mapped to black/white."""
    return to_pil(eps / 3.0, width)


def grid(batch: torch.Tensor, nrow: int | None = None, pad: int = 1) -> torch.Tensor:
    """(N, C, H, W) -> one (C, H', W') image, padded with -1 (black), nearly square."""
    n, c, h, w = batch.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    # each cell is the image with `pad` black pixels below and to its right; the cells are
    # laid out by one reshape (no Python loop: the reverse tab builds grids for every frame)
    cells = torch.full((rows * nrow, c, h + pad, w + pad), -1.0)
    cells[:n, :, :h, :w] = batch
    out = cells.reshape(rows, nrow, c, h + pad, w + pad).permute(2, 0, 3, 1, 4)
    out = out.reshape(c, rows * (h + pad), nrow * (w + pad))
    return torch.nn.functional.pad(out, (pad, 0, pad, 0), value=-1.0)


def strip(frames: list[torch.Tensor], pad: int = 2) -> torch.Tensor:
    """A row of (C, H, W) frames, separated by white gaps."""
    c, h, _ = frames[0].shape
    parts = []
    for i, f in enumerate(frames):
        if i:
            parts.append(torch.ones(c, h, pad))
        parts.append(f)
    return torch.cat(parts, dim=2)


def to_digit(img: Image.Image, size: int = 28) -> torch.Tensor:
    """Any image -> the model's input: (1, size, size) in [-1, 1], white strokes on black.

    A light-background photo or scan is inverted so the strokes are bright, as in MNIST.
    """
    gray = img.convert("L")
    if light_background(gray):
        gray = ImageOps.invert(gray)
    if 2 * size * min(gray.size) < max(gray.size):  # e.g. 20000×20: pad would round a side to 0 px
        gray = fit(gray, size)
    gray = ImageOps.pad(gray, (size, size), color=0, centering=(0.5, 0.5))
    a = np.asarray(gray, dtype=np.float32) / 255.0
    return torch.from_numpy(a * 2 - 1)[None]


def light_background(img: Image.Image) -> bool:
    """Whether the image's border is mostly light (dark strokes on light: to be inverted)."""
    a = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    return float(np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]).mean()) > 0.5


def upload_digit(img: Image.Image, size: int = 28) -> tuple[torch.Tensor, str]:
    """An uploaded digit as the model's input, and a note for the status saying how it was read.

    An upload already `size`×`size` is taken as it is (only inverted when its background is
    light): its pixels are the model's input, so what is "kept" is exactly what was given.
    Any other size is fitted to 256 px first (a smooth downscale), then to `size`×`size`.
    """
    inverted = ", light background inverted" if light_background(img) else ""
    if img.size == (size, size):
        return to_digit(img, size), f"used as it is, {size}×{size}{inverted}"
    w, h = img.size
    return to_digit(fit(img, 256), size), f"{w}×{h}, fitted to {size}×{size}{inverted}"


def digit_examples() -> dict[str, str]:
    """The shipped example digits (assets/examples/digit-*.png), name -> path."""
    return {name: str(path) for name, path in examples().items() if name.startswith("digit")}
