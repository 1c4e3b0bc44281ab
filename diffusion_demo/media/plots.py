"""Matplotlib figures: schedule curves and the pixel histogram of x_t.

Figures are made with the object-oriented API (``matplotlib.figure.Figure`` on an Agg
canvas), never registered with pyplot: they are thread-safe per figure and freed when the
last reference goes. ``fig_to_bytes`` renders a figure to PNG/SVG bytes for exports.

The schedule chart is redrawn on every slider move, so :func:`schedule_chart` caches the
rendered curves per schedule and only blits the "current t" marker on top (a few ms
instead of a few hundred).

Thread safety: matplotlib shares font objects (and cached text layouts) between figures,
so two threads drawing text at once can corrupt them ("FT_Render_Glyph ... raster
overflow"). Every function here that draws does so under :data:`RENDER_LOCK`; callers that
render a figure themselves should use :func:`fig_to_bytes` / :func:`fig_to_image`, which
take it too (hand gr.Plot an image from here rather than a Figure it would draw unlocked).
"""

from __future__ import annotations

import io
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from ..config import FORWARD, SCHEDULE_NAMES  # noqa: E402
from ..diffusion.forward import gaussian_density, pixel_density  # noqa: E402
from ..diffusion.schedules import ScheduleCurves, ScheduleSpec, curves  # noqa: E402

# One colour per schedule, the same in every chart.
COLOURS = {"linear": "#4C72B0", "scaled_linear": "#DD8452", "cosine": "#55A868", "sigmoid": "#C44E52"}
_HIST_RANGE = (-4.0, 4.0)  # fixed x range: frames stay comparable while t is dragged
# One lock for all matplotlib work in the process (see the module docstring).
RENDER_LOCK = threading.RLock()


@lru_cache(maxsize=64)
def cached_curves(spec: ScheduleSpec) -> ScheduleCurves:
    """schedules.curves, cached per spec (the arrays are made read-only)."""
    c = curves(spec)
    c.beta.flags.writeable = False
    c.alpha_bar.flags.writeable = False
    return c


def fig_to_bytes(fig: Figure, fmt: str = "png", dpi: float | None = None) -> bytes:
    """Render a figure to PNG or SVG bytes (for downloads and exports)."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"Unknown figure format {fmt!r}: expected one of png, svg.")
    with RENDER_LOCK:
        if fig.canvas is None or not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi)
        return buf.getvalue()


def fig_to_image(fig: Figure) -> Image.Image:
    """Render a figure to an RGB PIL image."""
    with RENDER_LOCK:
        canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
        canvas.draw()
        return Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())


def close(fig: Figure) -> None:
    """Free a figure's artists now (figures made here are not held by pyplot)."""
    fig.clear()


# --------------------------------------------------------------------------------------
# Schedule curves
# --------------------------------------------------------------------------------------


def _compare_specs(spec: ScheduleSpec, compare: Sequence[str]) -> list[ScheduleSpec]:
    others = []
    for name in compare:
        if name not in SCHEDULE_NAMES:
            raise ValueError(f"Unknown schedule {name!r}: expected one of {', '.join(SCHEDULE_NAMES)}.")
        if name != spec.name and name not in [o.name for o in others]:
            others.append(ScheduleSpec(name, spec.beta_start, spec.beta_end, spec.T))
    return others


class _ScheduleArtists:
    """A three-panel schedule figure and its "current t" marker artists."""

    def __init__(self, spec: ScheduleSpec, compare: Sequence[str], animated: bool, dpi: float = 90) -> None:
        self.spec = spec
        self.curves = cached_curves(spec)
        self.fig = Figure(figsize=(11.5, 3.5), dpi=dpi)
        FigureCanvasAgg(self.fig)
        self.fig.subplots_adjust(left=0.06, right=0.99, top=0.82, bottom=0.15, wspace=0.25)
        ax_b, ax_a, ax_s = self.axes = self.fig.subplots(1, 3)
        t = np.arange(1, spec.T + 1)
        for other in _compare_specs(spec, compare):
            c = cached_curves(other)
            style = dict(color=COLOURS[other.name], lw=1.3, alpha=0.75)
            ax_b.plot(t, c.beta, **style)
            ax_a.plot(t, c.alpha_bar, label=rf"$\bar\alpha_t$ {other.name}", **style)
            ax_s.plot(t, _finite(c.log_snr), **style)
        c, colour = self.curves, COLOURS[spec.name]
        ax_b.plot(t, c.beta, color=colour, lw=2.2)
        ax_a.plot(t, c.alpha_bar, color=colour, lw=2.2, label=rf"$\bar\alpha_t$ {spec.name}")
        ax_a.plot(t, c.sqrt_alpha_bar, color=colour, lw=1.5, ls="--", label=r"$\sqrt{\bar\alpha_t}$ (signal)")
        ax_a.plot(
            t,
            c.sqrt_one_minus_alpha_bar,
            color=colour,
            lw=1.5,
            ls=":",
            label=r"$\sqrt{1-\bar\alpha_t}$ (noise)",
        )
        ax_s.plot(t, _finite(c.log_snr), color=colour, lw=2.2)
        ax_s.axhline(0, color="0.6", lw=0.8, ls="--")
        ax_b.set_yscale("log")
        ax_b.set_title(r"$\beta_t$: noise added at step $t$ (log scale)", fontsize=10)
        ax_a.set_title(r"$\bar\alpha_t$: signal kept after $t$ steps", fontsize=10)
        ax_s.set_title(r"$\log \mathrm{SNR}(t) = \log \bar\alpha_t / (1-\bar\alpha_t)$", fontsize=10)
        ax_a.set_ylim(-0.03, 1.03)
        ax_a.legend(fontsize=7.5, loc="center right", framealpha=0.85)
        for ax in self.axes:
            ax.set_xlim(0, spec.T)
            ax.set_xlabel("t", labelpad=1)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=8)
        # The marker: a vertical line per panel, dots on the current schedule, a readout.
        kw = dict(animated=animated)
        self.vlines = [ax.axvline(0, color="0.15", lw=1.0, **kw) for ax in self.axes]
        self.dot_b = ax_b.plot([], [], "o", color=colour, ms=6, **kw)[0]
        self.dots_a = ax_a.plot([], [], "o", color=colour, ms=6, **kw)[0]
        self.dot_s = ax_s.plot([], [], "o", color=colour, ms=6, **kw)[0]
        self.label = self.fig.text(0.5, 0.95, "", ha="center", va="center", fontsize=11, **kw)
        self.markers = [*self.vlines, self.dot_b, self.dots_a, self.dot_s, self.label]

    def set_t(self, t: int | None) -> None:
        visible = t is not None
        for m in self.markers:
            m.set_visible(visible)
        if t is None:
            return
        c = self.curves
        for v in self.vlines:
            v.set_xdata([t, t])
        if t == 0:
            self.dot_b.set_data([], [])
            self.dots_a.set_data([0, 0, 0], [1.0, 1.0, 0.0])
            self.dot_s.set_data([], [])
            text = "t = 0: the clean image, ᾱ₀ = 1"
        else:
            k = t - 1
            ab = float(c.alpha_bar[k])
            self.dot_b.set_data([t], [c.beta[k]])
            self.dots_a.set_data([t, t, t], [ab, math.sqrt(ab), math.sqrt(1 - ab)])
            log_snr = float(c.log_snr[k])
            self.dot_s.set_data(([t], [log_snr]) if math.isfinite(log_snr) else ([], []))
            # plain Unicode, not mathtext: this label is redrawn on every drag
            text = (
                f"t = {t}:   βₜ = {c.beta[k]:.3g},   ᾱₜ = {ab:.3g},   √ᾱₜ = {math.sqrt(ab):.3f},   "
                f"√(1−ᾱₜ) = {math.sqrt(1 - ab):.3f},   log SNR = {log_snr:.2f}"
            )
        self.label.set_text(text)


def _finite(a: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(a), a, np.nan)


def schedule_figure(spec: ScheduleSpec, compare: Sequence[str] = (), t: int | None = None) -> Figure:
    """β_t, ᾱ_t (with sqrt(ᾱ_t), sqrt(1 - ᾱ_t)) and log-SNR vs t, other schedules overlaid.

    x axis: t = 1 … T (diffusers' index t - 1); `t` draws the "current step" marker.
    """
    with RENDER_LOCK:
        artists = _ScheduleArtists(spec, compare, animated=False)
        artists.set_t(t)
        return artists.fig


class ScheduleChart:
    """A schedule figure rendered once; `render(t)` blits only the marker (thread-safe)."""

    def __init__(self, spec: ScheduleSpec, compare: Sequence[str] = ()) -> None:
        with RENDER_LOCK:
            self._artists = _ScheduleArtists(spec, compare, animated=True)
            canvas = self._artists.fig.canvas
            canvas.draw()
            self._background = canvas.copy_from_bbox(self._artists.fig.bbox)

    def render(self, t: int | None) -> Image.Image:
        a = self._artists
        with RENDER_LOCK:
            canvas = a.fig.canvas
            canvas.restore_region(self._background)
            a.set_t(t)
            if t is not None:
                for m in a.markers:
                    (m.axes or a.fig).draw_artist(m)
            return Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())


_charts: OrderedDict[tuple, ScheduleChart] = OrderedDict()
_charts_lock = threading.Lock()


def schedule_chart(spec: ScheduleSpec, compare: Sequence[str] = (), t: int | None = None) -> Image.Image:
    """The schedule figure as an image, from a small cache of rendered charts (LRU of 8)."""
    key = (spec, tuple(o.name for o in _compare_specs(spec, compare)))
    with _charts_lock:
        chart = _charts.get(key)
        if chart is not None:
            _charts.move_to_end(key)
    if chart is None:
        chart = ScheduleChart(spec, compare)
        with _charts_lock:
            _charts[key] = chart
            while len(_charts) > 8:
                _charts.popitem(last=False)
    return chart.render(t)


# --------------------------------------------------------------------------------------
# Pixel histogram of x_t
# --------------------------------------------------------------------------------------


def expected_histogram(edges: np.ndarray, x0: torch.Tensor, alpha_bar: float) -> np.ndarray:
    """Bin-averaged theoretical density of x_t's pixels (what the histogram should show).

    Same mixture as forward.pixel_density (x_0's pixel values scaled by sqrt(ᾱ_t), each
    blurred by N(0, 1 - ᾱ_t)), integrated over each bin so that it stays exact even when
    the noise is narrower than a bin (small t).
    """
    centres, weights = np.unique(np.round(x0.numpy().ravel() * 64) / 64, return_counts=True)
    weights = weights / weights.sum()
    std = math.sqrt(max(1.0 - alpha_bar, 1e-12))
    z = (edges[None, :] - math.sqrt(alpha_bar) * centres[:, None]) / std
    cdf = torch.special.ndtr(torch.from_numpy(z)).numpy()
    mass = (weights[:, None] * np.diff(cdf, axis=1)).sum(axis=0)
    return mass / np.diff(edges)


def histogram_figure(
    x_t: torch.Tensor,
    x0: torch.Tensor,
    alpha_bar: float,
    t: int | None = None,
    bins: int = FORWARD.hist_bins,
) -> Figure:
    """Histogram of x_t's pixel values with the theoretical density and N(0, 1) overlaid."""
    with RENDER_LOCK:
        density = _density(x_t, bins)
        artists = _HistogramArtists(_y_top(density), bins, animated=False)
        artists.set_data(x_t, density, x0, alpha_bar, t)
        return artists.fig


def histogram_image(
    x_t: torch.Tensor,
    x0: torch.Tensor,
    alpha_bar: float,
    t: int | None = None,
    bins: int = FORWARD.hist_bins,
) -> Image.Image:
    """The same histogram as an RGB image, fast: the frame is cached and only the data is drawn."""
    density = _density(x_t, bins)
    key = (_y_top(density), bins)
    with RENDER_LOCK:
        chart = _hist_charts.get(key)
        if chart is None:
            chart = _hist_charts[key] = HistogramChart(*key)
        return chart.render(x_t, density, x0, alpha_bar, t)


_Y_LEVELS = (0.5, 0.75, *(m * 2**k for k in range(10) for m in (1.0, 1.5)))


def _y_top(density: np.ndarray) -> float:
    """The y limit, rounded up to a few fixed levels so the frame (and its cache) is reused."""
    need = max(float(density.max()), 0.42) * 1.15
    return next((level for level in _Y_LEVELS if level >= need), need)


def _density(x_t: torch.Tensor, bins: int) -> np.ndarray:
    values = x_t.detach().float().numpy().ravel()
    edges = np.linspace(*_HIST_RANGE, bins + 1)
    counts, _ = np.histogram(values, bins=edges)
    return counts / (values.size * np.diff(edges))


class _HistogramArtists:
    """The histogram's frame (axes, N(0, 1), legend) and its data artists."""

    def __init__(self, top: float, bins: int, animated: bool) -> None:
        self.fig = Figure(figsize=(6.4, 2.9), dpi=90)
        FigureCanvasAgg(self.fig)
        self.fig.subplots_adjust(left=0.09, right=0.98, top=0.88, bottom=0.17)
        ax = self.ax = self.fig.add_subplot()
        self.edges = np.linspace(*_HIST_RANGE, bins + 1)
        zeros = np.zeros(bins)
        kw = dict(animated=animated)
        theory_label = "theory: √ᾱₜ·x₀ pixels + N(0, 1−ᾱₜ) noise"
        self.hist = ax.stairs(
            zeros, self.edges, fill=True, color="#9DB4D8", alpha=0.9, label="pixels of xₜ", **kw
        )
        self.theory_line = ax.plot([], [], color="#1F3A93", lw=1.8, label=theory_label, **kw)[0]
        # bin-averaged theory, used when the noise is narrower than a bin (not in the legend)
        self.theory_steps = ax.stairs(
            zeros, self.edges, color="#1F3A93", lw=1.8, label="_theory (bins)", **kw
        )
        xs = np.linspace(*_HIST_RANGE, 401)
        self.reference = ax.plot(
            xs,
            gaussian_density(xs, 0.0, 1.0),
            color="0.35",
            lw=1.2,
            ls="--",
            label="N(0, 1): where x_T should end",
        )[0]
        ax.set_ylim(0, top)
        ax.set_xlim(*_HIST_RANGE)
        ax.set_xlabel("pixel value", labelpad=1)
        ax.set_ylabel("density")
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.25)
        self.legend = ax.legend(fontsize=7.5, loc="upper right", framealpha=0.85)
        self.title = self.fig.text(0.5, 0.94, "", ha="center", va="center", fontsize=9.5, **kw)
        # drawn in this order on every frame; N(0, 1) and the legend stay on top of the data
        self.dynamic = [
            self.hist,
            self.theory_steps,
            self.theory_line,
            self.reference,
            self.legend,
            self.title,
        ]

    def set_data(
        self, x_t: torch.Tensor, density: np.ndarray, x0: torch.Tensor, alpha_bar: float, t: int | None
    ) -> None:
        self.hist.set_data(density, self.edges)
        std = math.sqrt(max(1.0 - alpha_bar, 0.0))
        smooth = std >= 1.5 * (self.edges[1] - self.edges[0])
        if smooth:
            xs = np.linspace(*_HIST_RANGE, 801)
            self.theory_line.set_data(xs, pixel_density(xs, x0, alpha_bar))
        else:  # noise narrower than a bin: compare bin by bin
            self.theory_steps.set_data(expected_histogram(self.edges, x0, alpha_bar), self.edges)
        self.theory_line.set_visible(smooth)
        self.theory_steps.set_visible(not smooth)
        values = x_t.detach().float()
        name = "Pixel values of xₜ" if t is None else f"Pixel values of x at t = {t}"
        self.title.set_text(
            f"{name}   (mean {float(values.mean()):+.3f}, std {float(values.std()):.3f};  ᾱₜ = {alpha_bar:.4g})"
        )


class HistogramChart:
    """A histogram frame drawn once; `render` draws only the data on top (call under RENDER_LOCK)."""

    def __init__(self, top: float, bins: int = FORWARD.hist_bins) -> None:
        with RENDER_LOCK:
            self._artists = _HistogramArtists(top, bins, animated=True)
            canvas = self._artists.fig.canvas
            canvas.draw()
            self._background = canvas.copy_from_bbox(self._artists.fig.bbox)

    def render(
        self, x_t: torch.Tensor, density: np.ndarray, x0: torch.Tensor, alpha_bar: float, t: int | None
    ) -> Image.Image:
        a = self._artists
        with RENDER_LOCK:
            canvas = a.fig.canvas
            canvas.restore_region(self._background)
            a.set_data(x_t, density, x0, alpha_bar, t)
            for artist in a.dynamic:
                if artist.get_visible():
                    (artist.axes or a.fig).draw_artist(artist)
            return Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())


_hist_charts: dict[tuple[float, int], HistogramChart] = {}
