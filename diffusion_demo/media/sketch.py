"""A drawing on a canvas -> a digit in the model's format, the way MNIST's digits were made.

LeCun et al.'s recipe for MNIST: take the strokes' bounding box, fit it into a 20×20 box
keeping its aspect ratio (anti-aliased, which makes the grey levels), then place it in a
28×28 image so that its centre of mass sits at the centre (14, 14). A drawing that went
through the same steps looks to the model like the digits it was trained on.

Canvas conventions (Gradio's Sketchpad): white strokes on black, or on a transparent
background (RGBA: transparent counts as black).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from ..config import SKETCH, SketchLimits


def canvas_gray(canvas: np.ndarray | Image.Image) -> np.ndarray:
    """Any canvas (L, LA, RGB, RGBA; uint8) -> float32 (H, W) in [0, 1], transparency as black."""
    img = canvas if isinstance(canvas, Image.Image) else Image.fromarray(np.asarray(canvas))
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        img = Image.alpha_composite(black, rgba)
    return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


def check_canvas(gray: np.ndarray, limits: SketchLimits = SKETCH) -> np.ndarray:
    """The stroke mask of a canvas; ValueError saying what is wrong with an unusable one."""
    h, w = gray.shape
    if min(h, w) < limits.min_canvas:
        raise ValueError(
            f"The canvas is {w}×{h} pixels; expected at least {limits.min_canvas}×{limits.min_canvas}."
        )
    strokes = gray > limits.stroke_level
    if not strokes.any():
        raise ValueError("The canvas is empty: draw a digit (white strokes on black) first.")
    if strokes.mean() > limits.max_coverage:
        raise ValueError(
            f"The canvas is {strokes.mean():.0%} white: draw white strokes on a black canvas "
            "(a digit, not a filled area)."
        )
    rows, cols = np.flatnonzero(strokes.any(1)), np.flatnonzero(strokes.any(0))
    extent = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) / min(h, w)
    if extent < limits.min_extent:
        raise ValueError(
            f"The drawing spans only {extent:.0%} of the canvas (a dot?): draw a digit at least "
            f"{limits.min_extent:.0%} of the canvas tall."
        )
    return strokes


def centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted centre of a 2D array."""
    total = a.sum()
    rows, cols = np.indices(a.shape)
    return float((rows * a).sum() / total), float((cols * a).sum() / total)


def sketch_to_digit(canvas: np.ndarray | Image.Image, limits: SketchLimits = SKETCH) -> np.ndarray:
    """A canvas -> float32 (28, 28) in [0, 1]: cropped to the strokes, fitted into 20×20 with
    the aspect ratio kept (anti-aliased), and centred by its centre of mass."""
    gray = canvas_gray(canvas)
    strokes = check_canvas(gray, limits)
    rows, cols = np.flatnonzero(strokes.any(1)), np.flatnonzero(strokes.any(0))
    crop = gray[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    # 1. fit into box×box keeping the aspect ratio; the box filter anti-aliases (area average)
    scale = limits.box / max(crop.shape)
    new_h, new_w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    small = Image.fromarray((crop * 255).astype(np.uint8)).resize((new_w, new_h), Image.Resampling.BOX)
    small_a = np.asarray(small, dtype=np.float32) / 255.0
    # 2. place it so that its centre of mass lands on the centre of the size×size image
    cy, cx = centre_of_mass(small_a)
    centre = limits.size / 2
    top, left = round(centre - cy), round(centre - cx)  # MNIST: the centre of mass at index (14, 14)
    out = np.zeros((limits.size, limits.size), np.float32)
    y0, x0 = max(0, top), max(0, left)
    y1, x1 = min(limits.size, top + new_h), min(limits.size, left + new_w)
    out[y0:y1, x0:x1] = small_a[y0 - top : y1 - top, x0 - left : x1 - left]
    return out


def sketch_tensor(canvas: np.ndarray | Image.Image) -> torch.Tensor:
    """sketch_to_digit as the model's input: (1, 28, 28) in [-1, 1]."""
    return torch.from_numpy(sketch_to_digit(canvas) * 2 - 1)[None]


def editor_canvas(value: object) -> np.ndarray | None:
    """The drawing from a Gradio Sketchpad/ImageEditor value ({"composite": …} or an array/image);
    None when nothing was drawn on it (an untouched editor)."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("composite")
        if value is None:
            return None
    if isinstance(value, str):  # a file path (type="filepath")
        return np.asarray(Image.open(value))
    return np.asarray(value)


def mask_from_image(img: Image.Image, size: int = 28) -> torch.Tensor:
    """A painted mask (white = to fill; on black or transparent) -> (1, 1, size, size) of 0/1.

    It must be square like the digit (28×28, or the digit shown larger): it is averaged down
    to size×size and a pixel is filled where at least half of it was painted."""
    w, h = img.size
    if w != h:
        raise ValueError(
            f"The mask is {w}×{h} pixels; expected a square image like the digit ({size}×{size} or larger)."
        )
    if w < size:
        raise ValueError(f"The mask is {w}×{h} pixels; expected at least {size}×{size}.")
    gray = Image.fromarray((canvas_gray(img) * 255).astype(np.uint8)).resize(
        (size, size), Image.Resampling.BOX
    )
    return torch.from_numpy((np.asarray(gray) >= 128).astype(np.float32))[None, None]
