"""The step where the chain decides: what the digit classifier reads in x̂_0 at every step.

`readings` classifies one sample's x̂_0 at each step of a run (uint8 digits, as the reverse
tab's replay grids and the round trip keep them); `decided_at` finds the step after which the
reading no longer changes; `strip_image` draws p(y | x̂_0) as ten rows, one column a step.

May import: models (the classifier), media, config, libraries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib import get_data_path as mpl_data_path
from PIL import Image, ImageDraw, ImageFont

from ..models import classifier
from ..models.unet import CheckpointError

# images.grid's layout: 28-px cells, each followed by one black pixel, one before the first.
CELL, PAD = 28, 1


@lru_cache(maxsize=1)
def shipped_classifier() -> classifier.DigitClassifier | str:
    """The project's digit classifier, or the reason it cannot be loaded (a missing folder)."""
    try:
        return classifier.load()
    except CheckpointError as exc:
        return str(exc)


def grid_cell(grid: np.ndarray, n: int, k: int) -> np.ndarray:
    """Digit k (0-based, row by row) of an images.grid of n digits, as a uint8 (28, 28) array."""
    nrow = math.ceil(math.sqrt(n))
    row, col = divmod(k, nrow)
    y, x = PAD + row * (CELL + PAD), PAD + col * (CELL + PAD)
    return np.asarray(grid)[y : y + CELL, x : x + CELL]


@dataclass(frozen=True)
class Readings:
    """p(y | x̂_0) of one sample along a run: a row of probabilities per step."""

    probs: np.ndarray  # (S, 10) softmax probabilities
    steps: list[int]  # the step number (1-based) of each row
    ts: list[int]  # the timestep the network saw at that step (1-based, as the status says)

    @property
    def labels(self) -> np.ndarray:
        return self.probs.argmax(axis=1)


def readings(
    x0_hats: list[np.ndarray], steps: list[int], ts: list[int], clf: classifier.DigitClassifier
) -> Readings:
    """Classify each step's x̂_0 (uint8 (28, 28), 0 = black), all in one batch."""
    digits = np.stack([np.asarray(d, np.float32) / 255.0 for d in x0_hats])
    return Readings(clf.predict(digits).probs, list(steps), list(ts))


def decided_at(labels: np.ndarray) -> int:
    """The first index from which the reading (argmax) stays the final one to the end."""
    labels = np.asarray(labels)
    changed = np.nonzero(labels != labels[-1])[0]
    return int(changed[-1]) + 1 if len(changed) else 0


def summary(r: Readings, sample: str, reference: int | None = None) -> str:
    """One sentence: where the reading settled, and (round trip) against x_0's reading."""
    k = decided_at(r.labels)
    final, p = int(r.labels[-1]), float(r.probs[-1].max())
    text = (
        f"{sample}: the classifier reads x̂_0 as **{final}** ({p:.0%}) from step {r.steps[k]} "
        f"(t = {r.ts[k]}) on"
    )
    text += " — decided at the very first step." if k == 0 else f", of {r.steps[-1]}."
    if reference is not None:
        text += f" x_0 was read as **{reference}**: the way back " + (
            "kept its identity." if reference == final else f"chose another digit, a **{final}**."
        )
    return text


def _font(size: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans, the font matplotlib ships (so it is there wherever the app runs)."""
    return _FONTS.setdefault(
        size, ImageFont.truetype(str(Path(mpl_data_path()) / "fonts/ttf/DejaVuSans.ttf"), size)
    )


_FONTS: dict[int, ImageFont.FreeTypeFont] = {}
# Layout of the strip (pixels): the heat map's box inside a 720 × 240 picture.
LEFT, TOP, RIGHT, BOTTOM, WIDTH, HEIGHT = 44, 30, 600, 200, 720, 240


def strip_image(
    r: Readings, title: str, cursor: int | None = None, reference: int | None = None
) -> Image.Image:
    """Ten rows (digits 0-9), one column a step, darker = more probable; a red line where the
    reading stops changing, an orange box round the step `cursor` (replay), a green
    triangle at x_0's digit `reference` (round trip). Drawn with PIL: a few ms (matplotlib
    took 70 ms, more than the issue's 5% of a DDIM-50 run)."""
    n = len(r.steps)
    heat = (colormaps["Blues"](np.clip(r.probs.T, 0, 1))[..., :3] * 255).astype(np.uint8)
    img = Image.new("RGB", (WIDTH, HEIGHT), "white")
    img.paste(
        Image.fromarray(heat).resize((RIGHT - LEFT, BOTTOM - TOP), Image.Resampling.NEAREST), (LEFT, TOP)
    )
    pen, small = ImageDraw.Draw(img), _font(11)
    col = (RIGHT - LEFT) / n

    def x(i: float) -> float:
        return LEFT + col * i

    pen.rectangle((LEFT - 1, TOP - 1, RIGHT, BOTTOM), outline="#444444")
    for d in range(10):
        pen.text(
            (LEFT - 8, TOP + (d + 0.5) * (BOTTOM - TOP) / 10), str(d), fill="black", font=small, anchor="rm"
        )
    for i in sorted({int(round(v)) for v in np.linspace(0, n - 1, min(n, 6))}):
        pen.text(
            (x(i + 0.5), BOTTOM + 4),
            f"{r.steps[i]}\nt={r.ts[i]}",
            fill="black",
            font=small,
            anchor="ma",
            align="center",
        )
    pen.text((LEFT, 8), title, fill="black", font=_font(13))
    k = decided_at(r.labels)
    pen.line((x(k), TOP - 4, x(k), BOTTOM + 2), fill="#C44E52", width=3)
    legend = [("#C44E52", f"decided: {int(r.labels[-1])}")]
    if cursor is not None and 0 <= cursor < n:
        pen.rectangle((x(cursor), TOP, x(cursor + 1), BOTTOM), outline="#DD8452", width=2)
        legend.append(("#DD8452", f"step {r.steps[cursor]}"))
    if reference is not None:
        y = TOP + (reference + 0.5) * (BOTTOM - TOP) / 10
        pen.polygon([(LEFT - 20, y), (LEFT - 32, y - 6), (LEFT - 32, y + 6)], fill="#55A868")
        legend.append(("#55A868", "x_0's digit"))
    for j, (colour, label) in enumerate(legend):
        pen.rectangle((RIGHT + 12, TOP + 4 + 20 * j, RIGHT + 24, TOP + 16 + 20 * j), fill=colour)
        pen.text((RIGHT + 30, TOP + 10 + 20 * j), label, fill="black", font=small, anchor="lm")
    return img
