"""The round trip's figure: how far the reconstruction lands from x_0, against t."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from .plots import RENDER_LOCK, fig_to_image


def distance_figure(ts: list[int], dists: np.ndarray, lost_t: int | None = None) -> Image.Image:
    """dists has shape (len(ts), seeds): one faint line per seed, the mean in bold."""
    with RENDER_LOCK:  # matplotlib's text rendering is not thread-safe
        return _distance_figure(ts, dists, lost_t)


def _distance_figure(ts: list[int], dists: np.ndarray, lost_t: int | None) -> Image.Image:
    fig = Figure(figsize=(7, 3.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for s in range(dists.shape[1]):
        ax.plot(ts, dists[:, s], color="#4C72B0", alpha=0.35, lw=1, marker="o", ms=3)
    ax.plot(ts, dists.mean(axis=1), color="#4C72B0", lw=2.5, label="mean over seeds")
    if lost_t is not None:
        ax.axvline(lost_t, color="#C44E52", ls="--", lw=1.5, label=f"identity lost (t ≈ {lost_t})")
    ax.set_xlabel("noise level t (how far x_0 was pushed off the manifold)")
    ax.set_ylabel("RMS distance to x_0")
    ax.set_xlim(0, max(ts))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=9)
    return fig_to_image(fig)
