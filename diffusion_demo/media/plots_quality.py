"""The reverse tab's steps-vs-quality chart, from the sweep `evaluate --sweep` ships with the model.

Two panels against the number of sampler steps (log scale): the fraction of samples the
classifier reads confidently, and the Fréchet distance over the real-vs-real baseline. One
colour per sampler; solid at the default guidance w, dashed at w = 0 (the unconditional
model). A star marks the current settings, interpolated on the curve of the nearest w.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image

from ..config import MODEL
from ..diffusion.samplers import SAMPLERS
from .plots import RENDER_LOCK, fig_to_image

QUALITY_FILE = "quality.json"
PANELS = (("confident", "confident fraction (↑)"), ("fd_ratio", "Fréchet / real-vs-real (↓)"))


def load_quality(checkpoint: Path = MODEL.checkpoint) -> dict:
    """The sweep shipped next to the model ({} when there is none or it is unreadable)."""
    try:
        data = json.loads((Path(checkpoint) / QUALITY_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data.get("points"), list) else {}


def curve(points: list[dict], sampler: str, w: float, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of one sampler at one w, sorted by steps."""
    rows = sorted((p["steps"], p[key]) for p in points if p["sampler"] == sampler and p["w"] == w)
    return np.array([r[0] for r in rows], float), np.array([r[1] for r in rows], float)


def quality_chart(data: dict, sampler: str, steps: int, w: float) -> Image.Image:
    """The chart for `data` (load_quality()), the star at (sampler, steps, nearest w)."""
    with RENDER_LOCK:  # matplotlib's text rendering is not thread-safe
        return _chart(data, sampler, steps, w)


def _chart(data: dict, sampler: str, steps: int, w: float) -> Image.Image:
    fig = Figure(figsize=(8, 3), dpi=100, layout="constrained")
    points = data.get("points", [])
    if not points:
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(
            0.5,
            0.5,
            "No quality sweep shipped with this model\n(python -m diffusion_demo evaluate --sweep)",
            ha="center",
            va="center",
        )
        return fig_to_image(fig)
    ws = sorted({p["w"] for p in points})
    nearest_w = min(ws, key=lambda v: abs(v - w))
    for k, (key, label) in enumerate(PANELS):
        ax = fig.add_subplot(1, 2, k + 1)
        for name, colour in ((s.id, s.colour) for s in SAMPLERS.values()):
            for v in ws:
                x, y = curve(points, name, v, key)
                if len(x):
                    ax.plot(
                        x,
                        y,
                        color=colour,
                        ls="-" if v == max(ws) else "--",
                        marker="o",
                        ms=3,
                        lw=1.5,
                        label=f"{name}, w = {v:g}",
                    )
        x, y = curve(points, sampler, nearest_w, key)
        if len(x) and steps > 0:
            at = float(np.interp(math.log(steps), np.log(x), y))
            ax.plot([steps], [at], marker="*", ms=16, color="#222222", zorder=5)
        ax.axvline(steps, color="#888888", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel("sampler steps")
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
        if key == "fd_ratio":
            ax.axhline(1.0, color="#888888", lw=0.8)
    # under both plots, a colour per sampler and a line style per w (a line per curve ran off
    # the figure once there were eight samplers): inside a plot the legend hid the w = 0 curves
    shown = {p["sampler"] for p in points}
    handles = [
        Line2D([], [], color=s.colour, marker="o", ms=3, label=s.label)
        for s in SAMPLERS.values()
        if s.id in shown
    ]
    handles += [
        Line2D([], [], color="#555555", ls="-" if v == max(ws) else "--", label=f"w = {v:g}") for v in ws
    ]
    fig.legend(
        handles=handles, fontsize=7, ncol=min(6, len(handles)), loc="outside lower center", frameon=False
    )
    n = data.get("num_samples")
    fig.suptitle(f"{n} samples per point · star: {sampler}-{steps}, w = {nearest_w:g}", fontsize=9)
    return fig_to_image(fig)
