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

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from ..models import classifier
from ..models.unet import CheckpointError
from .plots import fig_to_image

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


def strip_image(
    r: Readings, title: str, cursor: int | None = None, reference: int | None = None
) -> Image.Image:
    """Ten rows (digits 0-9), one column a step, darker = more probable; a red line where the
    reading stops changing, an orange box round the step `cursor` (replay), a green
    triangle at x_0's digit `reference` (round trip)."""
    n = len(r.steps)
    fig = Figure(figsize=(7.2, 2.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(r.probs.T, aspect="auto", cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks(range(10))
    ax.set_ylabel("digit y", fontsize=9)
    ticks = sorted({int(round(i)) for i in np.linspace(0, n - 1, min(n, 6))})
    ax.set_xticks(ticks, [f"{r.steps[i]}\nt={r.ts[i]}" for i in ticks], fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    k = decided_at(r.labels)
    ax.axvline(k - 0.5, color="#C44E52", lw=2, label=f"decided: {int(r.labels[-1])}")
    if cursor is not None and 0 <= cursor < n:
        ax.add_patch(Rectangle((cursor - 0.5, -0.5), 1, 10, fill=False, ec="#DD8452", lw=2))
    if reference is not None:
        ax.plot([-0.5], [reference], marker=">", color="#55A868", ms=9, clip_on=False, label="x_0's digit")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    return fig_to_image(fig)
