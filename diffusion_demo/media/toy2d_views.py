"""The 2D picture's views: plain values in (dataset, t, seed, points, schedule …), figures,
notes and numbers out. No Gradio here: the tab (ui/tabs/toy2d.py) wires these to widgets
and endpoints, and renders the figures to images.

Owns the tab's defaults, the forward and reverse views, the training note and the GIF,
and the small caches behind them (forward paths, sample quality, the faint reference data,
the rendered views).

May import: config, diffusion, toy2d, media and libraries. Never ui or cli.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..config import SCHEDULE, TOY2D_LIMITS
from ..diffusion.forward import check_t
from ..diffusion.schedules import ScheduleSpec, alpha_bar_at, validate_spec
from ..toy2d.data import ToySet, check_paths, check_seed, cloud_stats, forward_cloud, forward_paths, get_set
from ..toy2d.metrics import quality
from ..toy2d.model import Toy2DModel, describe_spec
from ..toy2d.sampling import eps_field, model_t, reverse_run
from ..toy2d.store import STORE, model_for
from . import toy2d_plots as plots
from .lru import LRU

DEFAULT_DATASET = "moons"
DEFAULT_T = 100
DEFAULT_SEED = 0
# A smiley: two eyes and a mouth, seven points. Small enough to train in seconds.
DEFAULT_POINTS = "-1, 1\n1, 1\n-1.3, -0.5\n-0.7, -1\n0, -1.2\n0.7, -1\n1.3, -0.5"


def _inputs(
    dataset: str, seed: Any, points: Any, schedule: str, beta_start: Any, beta_end: Any, T: Any
) -> tuple[ToySet, int, ScheduleSpec]:
    """The checked data set, seed and schedule of a request (ValueError naming the bad one)."""
    spec = validate_spec(schedule, beta_start, beta_end, T)
    return get_set(dataset, points), check_seed(seed), spec


@lru_cache(maxsize=8)
def _forward_paths(toy: ToySet, spec: ScheduleSpec, seed: int, k: int) -> np.ndarray:
    return forward_paths(toy, spec, seed, k)


# Sample-vs-data numbers per (model, seed, data set): a nearest-neighbour search over the
# reference set, worth doing once per reverse run, not per slider move.
_QUALITY = LRU(16)


def _quality(model: Toy2DModel, seed: int, toy: ToySet, samples: np.ndarray) -> dict:
    return _QUALITY.get((model.uid, seed, toy.key), lambda: quality(samples, toy))


@lru_cache(maxsize=8)
def _reference(toy: ToySet) -> tuple[np.ndarray, float]:
    """The faint data drawn under every panel (≤ 1500 points) and the view's half-width."""
    ref = toy.reference()
    return ref[:: max(1, len(ref) // 1500)], plots.view_limit(ref)


def forward_view(
    dataset: str = DEFAULT_DATASET,
    t: Any = DEFAULT_T,
    seed: Any = DEFAULT_SEED,
    points: str = DEFAULT_POINTS,
    schedule: str = "linear",
    beta_start: Any = SCHEDULE.default_beta_start,
    beta_end: Any = SCHEDULE.default_beta_end,
    T: Any = SCHEDULE.default_T,
) -> tuple[Figure, dict]:
    """The forward cloud x_t ~ q(x_t | x_0) at step t of the panel's schedule, and its numbers."""
    toy, seed, spec = _inputs(dataset, seed, points, schedule, beta_start, beta_end, T)
    t = check_t(t, spec.T)
    n = TOY2D_LIMITS.n_points
    x = forward_cloud(toy, t, spec, seed, n)
    ab = alpha_bar_at(spec, t)
    ref, lim = _reference(toy)
    title = f"forward q(x_t | x_0): t = {t} / {spec.T},  ᾱ_t = {ab:.3g}"
    fig = plots.cloud_figure(x, plots.point_colours(toy.sample(n, seed)), title, lim, ref)
    info = {
        "direction": "forward",
        "dataset": toy.key,
        "t": t,
        "T": spec.T,
        "schedule": describe_spec(spec),
        "alpha_bar": round(ab, 6),
        "signal_scale": round(float(np.sqrt(ab)), 6),  # sqrt(alpha_bar_t): how much of x_0 is left
        "noise_scale": round(float(np.sqrt(1 - ab)), 6),  # sqrt(1 - alpha_bar_t)
        "cloud": cloud_stats(x),
    }
    return fig, info


def reverse_view(
    dataset: str = DEFAULT_DATASET,
    t: Any = DEFAULT_T,
    seed: Any = DEFAULT_SEED,
    points: str = DEFAULT_POINTS,
    n_paths: Any = TOY2D_LIMITS.default_paths,
    schedule: str = "linear",
    beta_start: Any = SCHEDULE.default_beta_start,
    beta_end: Any = SCHEDULE.default_beta_end,
    T: Any = SCHEDULE.default_T,
) -> tuple[Figure, Figure, Figure, str, dict]:
    """The learned reverse chain at the slider's t: cloud, trajectories, ε-field, a note, numbers."""
    toy, seed, spec = _inputs(dataset, seed, points, schedule, beta_start, beta_end, T)
    t = check_t(t, spec.T)
    k = check_paths(n_paths)
    try:
        model = model_for(toy, spec)
    except ValueError as exc:  # a custom set not trained yet: say so in the panels
        return _no_model(exc, toy.key, t)
    n = TOY2D_LIMITS.n_points
    states = reverse_run(model, seed, n)
    tm = model_t(t, spec.T, model)
    ref, lim = _reference(toy)
    same = model.spec == spec
    at = f"t = {tm} / {model.spec.T}" + ("" if same else f" (slider t = {t} / {spec.T})")
    rev = plots.cloud_figure(
        states[tm], plots.point_colours(states[0]), f"reverse p_θ(x_(t-1) | x_t): {at}", lim, ref
    )
    idx = np.linspace(0, n - 1, k).round().astype(int)
    fwd = _forward_paths(toy, spec, seed, k)
    traj = plots.trajectories_figure(fwd, states[:, idx], t, tm, ref, lim)
    grid, eps = eps_field(model, max(1, tm))
    field = plots.field_figure(grid, eps, ref, f"learned −ε̂_θ(x, t) at t = {max(1, tm)}", lim)
    record = {key: v for key, v in model.info.items() if key != "config"}
    note = _reverse_note(model, record, spec, t, tm)
    info = {
        "direction": "reverse",
        "dataset": toy.key,
        "t": t,
        "model_t": tm,
        "model_schedule": describe_spec(model.spec),
        "panel_schedule": describe_spec(spec),
        "same_schedule": same,
        "cloud": cloud_stats(states[tm]),
        "samples_vs_data": _quality(model, seed, toy, states[0]),
        "model": record,
    }
    return rev, traj, field, note, info


def _no_model(exc: ValueError, key: str, t: int) -> tuple[Figure, Figure, Figure, str, dict]:
    """The reverse view's five outputs when there is no model yet: the reason, in every panel."""
    blank = plots.message_figure(str(exc).replace(": ", ":\n", 1))
    note = f"**Reverse chain:** {exc}"
    return (
        blank,
        plots.message_figure("(trajectories need a model)"),
        plots.message_figure("(the ε-field needs a model)"),
        note,
        {"direction": "reverse", "dataset": key, "t": t, "model": None, "note": str(exc)},
    )


def _reverse_note(model: Toy2DModel, record: dict, spec: ScheduleSpec, t: int, tm: int) -> str:
    """Which model the reverse view runs, and (when it is not the panel's) on which schedule."""
    if model.spec == spec:
        return (
            f"**Reverse chain:** the MLP for this data set trained on the panel's schedule "
            f"({describe_spec(model.spec)}; {record.get('source', '')}, {record.get('steps')} steps, "
            f"loss {record.get('final_loss')})."
        )
    return (
        f"⚠ **The reverse chain uses its own schedule.** This MLP was trained on "
        f"**{describe_spec(model.spec)}**, the panel says **{describe_spec(spec)}**. "
        f"A network only knows the noise levels it was trained on, so the reverse view runs on its "
        f"training schedule and shows the same *fraction* of the way: slider t = {t} / {spec.T} is "
        f"its step {tm} / {model.spec.T}. Press **Train for this schedule** to train one on the "
        "panel's schedule (10–30 s)."
    )


def trained_note(model: Toy2DModel, what: str, cached: bool) -> str:
    """The training button's last line: steps, final loss and time of the model now in use."""
    info = model.info
    early = " (stopped at the time limit)" if info.get("stopped_early") else ""
    head = "Already trained" if cached else "Trained"
    return (
        f"✓ {head}: ε_θ for {what} — {info.get('steps')} steps{early}, final loss "
        f"{info.get('final_loss')}, {info.get('seconds')} s. The reverse views now use it."
    )


def animation(
    dataset: str = DEFAULT_DATASET,
    seed: Any = DEFAULT_SEED,
    points: str = DEFAULT_POINTS,
    schedule: str = "linear",
    beta_start: Any = SCHEDULE.default_beta_start,
    beta_end: Any = SCHEDULE.default_beta_end,
    T: Any = SCHEDULE.default_T,
) -> str:
    """An animated GIF: the forward process, then the learned reverse chain (path to the file)."""
    toy, seed, spec = _inputs(dataset, seed, points, schedule, beta_start, beta_end, T)
    frames = plots.animation_frames(dataset, seed, points, spec, train_if_missing=False)
    name = f"{toy.key}-{seed}-{spec.name}-{spec.T}-{abs(hash(spec)) % 10**8}"
    return str(plots.gif_file(frames, name))


# Rendered views of the last few distinct requests. Every page load draws the tab's first
# view (its figures cost ~0.2 s of CPU, half of a page load's): a class opening the page
# asks for the same one thirty times. A view depends on its arguments and on which models
# the store holds (STORE.version), nothing else.
RENDERED_KEEP = 8
_RENDERED = LRU(RENDERED_KEEP)


def as_images(fn: Callable, n_figures: int) -> Callable:
    """The first n_figures outputs rendered to PIL images under the app's matplotlib lock
    (gr.Plot would draw a Figure itself, unlocked, racing other sessions' renders); the
    last RENDERED_KEEP distinct requests' results are kept and given again."""

    def wrapper(*args: Any, **kwargs: Any) -> tuple:
        def draw() -> tuple:
            out = fn(*args, **kwargs)
            return (*(plots.render(f) for f in out[:n_figures]), *out[n_figures:])

        key = (fn, args, tuple(sorted(kwargs.items())), STORE.version)
        try:
            hash(key)
        except TypeError:  # an unhashable argument: render, do not keep
            return draw()
        return copy.deepcopy(_RENDERED.get(key, draw))  # the images too: a caller may draw on one

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper
