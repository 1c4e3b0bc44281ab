"""Figures for the 2D picture: point clouds, trajectories, the learned ε-field, animations.

Object-oriented matplotlib on an Agg canvas (``matplotlib.figure.Figure``), never held by
pyplot, freed when the last reference goes. Every draw happens under plots.RENDER_LOCK
(matplotlib's shared font caches are not thread-safe): render figures with :func:`render`
(or plots.fig_to_image), not by handing them to gr.Plot. Every figure is small (one axes,
~1000 points) so that a slider move redraws in tens of milliseconds.

May import: config, diffusion.schedules, toy2d, media.plots, matplotlib and numpy.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402
from PIL import Image  # noqa: E402

from ..config import TOY2D_LIMITS  # noqa: E402
from ..diffusion.schedules import ScheduleSpec, curves  # noqa: E402
from ..toy2d.data import check_seed, forward_cloud, get_set  # noqa: E402
from ..toy2d.model import TRAINED_SPEC  # noqa: E402
from ..toy2d.sampling import reverse_run  # noqa: E402
from ..toy2d.store import STORE, model_for  # noqa: E402
from ..toy2d.train import train  # noqa: E402
from .plots import RENDER_LOCK, fig_to_image  # noqa: E402

# Inches and dots per inch of every panel: ~420 px square, crisp in a half-width column.
FIG_SIZE = 4.2
DPI = 100
# Colours: forward paths warm, reverse paths cool (PATH_COLOURS), the data faint grey.
FORWARD_COLOUR = "#DD8452"
# One colour per reverse path, so each can be followed through the tangle (no orange).
PATH_COLOURS = ("#4C72B0", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#64B5CD", "#8C8C8C")
DATA_COLOUR = "#B0B0B0"
CMAP = "twilight"  # cyclic: a point's colour is the angle of where it starts (or ends)


def render(fig: Figure) -> Image.Image:
    """Draw a figure (under the render lock) to an RGB PIL image and free its artists."""
    try:
        return fig_to_image(fig)
    finally:
        fig.clear()


def view_limit(data: np.ndarray) -> float:
    """Half-width of the square view: N(0, I) to ~3σ, or the data if it reaches further."""
    return float(max(3.0, 1.1 * np.abs(data).max()))


def point_colours(x: np.ndarray) -> np.ndarray:
    """A value in [0, 1] per point from its angle around the origin (for the cyclic colour map)."""
    return (np.arctan2(x[:, 1], x[:, 0]) / (2 * math.pi) + 0.5) % 1.0


def _figure(lim: float, title: str) -> tuple[Figure, object]:
    fig = Figure(figsize=(FIG_SIZE, FIG_SIZE), dpi=DPI)
    FigureCanvasAgg(fig)
    # fixed margins: a constrained layout would cost more than the scatter itself
    fig.subplots_adjust(left=0.09, right=0.97, bottom=0.07, top=0.9)
    ax = fig.add_subplot()
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.2)
    return fig, ax


def _draw_data(ax, data: np.ndarray, alpha: float = 0.35) -> None:
    """The data set under a panel: faint dots for a curve, open circles for a few typed points."""
    if len(data) <= 300:
        ax.scatter(data[:, 0], data[:, 1], s=60, facecolors="none", edgecolors="0.35", linewidths=1.0)
    else:
        ax.scatter(data[:, 0], data[:, 1], s=2, c=DATA_COLOUR, alpha=alpha, linewidths=0)


def _gaussian_rings(ax) -> None:
    # Where N(0, I) puts 39% and 86% of its mass: the end point of the forward process.
    for r, label in ((1.0, "1σ"), (2.0, "2σ")):
        ax.add_patch(Circle((0, 0), r, fill=False, ls="--", lw=0.8, color="0.55"))
        ax.annotate(label, (r * 0.71, r * 0.71), fontsize=7, color="0.45")


def cloud_figure(
    x: np.ndarray,
    colours: np.ndarray,
    title: str,
    lim: float,
    data: np.ndarray | None = None,
) -> Figure:
    """A scatter of one point cloud, coloured per point, over the faint data set."""
    fig, ax = _figure(lim, title)
    if data is not None:
        _draw_data(ax, data)
    _gaussian_rings(ax)
    ax.scatter(x[:, 0], x[:, 1], s=5, c=colours, cmap=CMAP, vmin=0, vmax=1, linewidths=0)
    return fig


def trajectories_figure(
    fwd: np.ndarray,
    rev: np.ndarray,
    t_fwd: int,
    t_rev: int,
    data: np.ndarray,
    lim: float,
) -> Figure:
    """Forward paths x_0 -> x_T (the chain pushing points off the data) and reverse paths
    x_T -> x_0 (the learned chain bringing noise back), each marked at the current t.

    fwd: (T_f + 1, k, 2) forward states by t; rev: (T_r + 1, k, 2) reverse states by t.
    Paths are drawn through every `stride`-th state (~50 per path): each of the T steps is
    a small random kick, and all of them at once draw a scribble rather than a path.
    """
    fig, ax = _figure(lim, f"off the manifold: x₀ → x_{t_fwd} (orange)\nand back: x_T (×) → x_{t_rev} (●)")
    ax.title.set_fontsize(9)
    _draw_data(ax, data)
    _gaussian_rings(ax)
    for k in range(fwd.shape[1]):
        path = _thin(fwd[: t_fwd + 1, k], len(fwd))
        ax.plot(path[:, 0], path[:, 1], color=FORWARD_COLOUR, lw=0.7, alpha=0.8)
        ax.plot(*path[0], "o", color="black", ms=3.5)
        ax.plot(*path[-1], "o", color=FORWARD_COLOUR, ms=5, mec="black", mew=0.5)
    for k in range(rev.shape[1]):
        path = _thin(rev[t_rev:, k][::-1], len(rev))  # from x_T down to x_t
        colour = PATH_COLOURS[k % len(PATH_COLOURS)]
        ax.plot(path[:, 0], path[:, 1], color=colour, lw=0.8, alpha=0.85)
        ax.plot(*path[0], "x", color=colour, ms=5)
        ax.plot(*path[-1], "o", color=colour, ms=5.5, mec="black", mew=0.6)
    return fig


def _thin(path: np.ndarray, full: int, vertices: int = 50) -> np.ndarray:
    """Every stride-th point of a path (stride from the full chain length), keeping both ends."""
    stride = max(1, (full - 1) // vertices)
    return np.concatenate([path[::stride], path[-1:]])


def field_figure(grid: np.ndarray, eps: np.ndarray, data: np.ndarray, title: str, lim: float) -> Figure:
    """Arrows of -ε̂(x, t) on a grid: the direction the reverse chain nudges a point.

    Arrow length is |ε̂| capped at 2 (a typical ε ~ N(0, I) has length ~1.25), colour its size.
    """
    fig, ax = _figure(lim, title)
    _draw_data(ax, data, alpha=0.5)
    length = np.linalg.norm(eps, axis=1, keepdims=True)
    arrows = -eps * np.minimum(1.0, 2.0 / np.maximum(length, 1e-9))
    spacing = 2 * lim / (math.isqrt(len(grid)) - 1)
    ax.quiver(
        grid[:, 0],
        grid[:, 1],
        arrows[:, 0],
        arrows[:, 1],
        np.log1p(length[:, 0]),
        cmap="viridis",
        angles="xy",
        scale_units="xy",
        scale=2.0 / (0.9 * spacing),  # an arrow of length 2 spans 90% of a grid cell
        width=0.005,
    )
    return fig


def message_figure(message: str) -> Figure:
    """A blank panel with a message (e.g. "train a model first")."""
    fig = Figure(figsize=(FIG_SIZE, FIG_SIZE), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=11, color="0.3")
    return fig


# --------------------------------------------------------------------------- animation


def frame_times(spec: ScheduleSpec, n: int) -> list[int]:
    """n values of t in [0, T], evenly spaced in the noise level sqrt(1 - alpha_bar_t).

    Evenly spaced t would spend most frames on clouds that are already pure noise (with
    the linear schedule alpha_bar_t < 0.01 from t ~ 600 on); this spends them where the
    shape dissolves.
    """
    alpha_bar = np.concatenate([[1.0], curves(spec).alpha_bar])
    noise = np.sqrt(1.0 - alpha_bar)
    targets = np.linspace(0.0, noise[-1], max(2, int(n)))
    ts = np.searchsorted(noise, targets).clip(0, spec.T)
    return sorted({int(t) for t in ts} | {0, spec.T})


def animation_frames(
    dataset: str = "moons",
    seed: int = 0,
    points: str = "",
    spec: ScheduleSpec | None = None,
    n_frames: int = 24,
    size: int = 320,
    train_if_missing: bool = True,
) -> list[Image.Image]:
    """Frames of the 2D picture: the forward process (data -> N(0, I)) then the learned
    reverse chain (N(0, I) -> data), n_frames each way; RGB PIL images of size x size.

    For `python -m diffusion_demo export toy2d` and the tab's GIF. The forward frames use
    `spec` (default: the app's default schedule); the reverse uses the model for this data
    set (see toy2d.model_for); a custom set without one is trained first (~15 s) unless
    train_if_missing is False (then ValueError).
    """
    spec = spec or TRAINED_SPEC
    toy = get_set(dataset, points)
    seed = check_seed(seed)
    if not 8 <= int(size) <= 1024:
        raise ValueError(f"size must be in [8, 1024] pixels; got {size!r}.")
    if not 2 <= int(n_frames) <= 200:
        raise ValueError(f"n_frames must be in [2, 200]; got {n_frames!r}.")
    try:
        model = model_for(toy, spec)
    except ValueError:
        if not train_if_missing:
            raise
        model = train(toy, spec)
        STORE.put(model)
    n = TOY2D_LIMITS.n_points
    x0 = toy.sample(n, seed)
    states = reverse_run(model, seed, n)
    lim = view_limit(toy.reference())
    fwd_colours = point_colours(x0)
    rev_colours = point_colours(states[0])

    fig, ax = _figure(lim, "")
    fig.set_size_inches(size / DPI, size / DPI)
    if toy.is_custom:
        _draw_data(ax, toy.reference())
    _gaussian_rings(ax)
    scatter = ax.scatter(x0[:, 0], x0[:, 1], s=4, c=fwd_colours, cmap=CMAP, vmin=0, vmax=1, linewidths=0)
    frames = []
    try:
        for t in frame_times(spec, n_frames):
            scatter.set_offsets(forward_cloud(toy, t, spec, seed, n))
            ax.set_title(f"forward  q(x_t | x_0)   t = {t} / {spec.T}", fontsize=9)
            frames.append(_grab(fig))
        scatter.set_array(rev_colours)
        for t in reversed(frame_times(model.spec, n_frames)):
            scatter.set_offsets(states[t])
            ax.set_title(f"reverse  p_θ(x_(t-1) | x_t)   t = {t} / {model.spec.T}", fontsize=9)
            frames.append(_grab(fig))
    finally:
        fig.clear()
    return frames


def _grab(fig: Figure) -> Image.Image:
    with RENDER_LOCK:  # one frame at a time: other sessions' figures draw in between
        fig.canvas.draw()
        return Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())


def save_gif(frames: list[Image.Image], path: str | os.PathLike, fps: float = 12.0, hold: int = 6) -> Path:
    """Write frames as a looping GIF; the first and the middle frame (data, noise) are held
    for `hold` frame times so the eye can rest on each end of the process."""
    if not frames:
        raise ValueError("No frames to write.")
    path = Path(path)
    frame_ms = int(round(1000 / fps))
    durations = [frame_ms] * len(frames)
    half = len(frames) // 2
    for i in (0, half - 1, len(frames) - 1):
        durations[i] = frame_ms * hold
    palette = [f.convert("P", palette=Image.Palette.ADAPTIVE, colors=128) for f in frames]
    palette[0].save(path, save_all=True, append_images=palette[1:], duration=durations, loop=0, optimize=True)
    return path


_GIF_DIR = Path(tempfile.gettempdir()) / "diffusion_demo_toy2d"
# GIFs older than this are deleted when a new one is written (Gradio keeps its own copy).
_GIF_MAX_AGE_S = 600


def gif_file(frames: list[Image.Image], name: str) -> Path:
    """Write a GIF into a private temp folder (old files are swept) and return its path."""
    _GIF_DIR.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in _GIF_DIR.glob("*.gif"):
        try:
            if now - old.stat().st_mtime > _GIF_MAX_AGE_S:
                old.unlink()
        except OSError:
            pass
    return save_gif(frames, _GIF_DIR / f"{name}.gif")
