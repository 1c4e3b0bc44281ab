"""Tab 5 · The 2D picture: point clouds pushed off their curve and brought back.

The handlers are plain functions of plain values (dataset, t, seed, points, schedule …),
so the UI events, the public API endpoints and the tests all call the same code. UI events
are private; the public endpoints (/toy2d_forward, /toy2d_reverse, /toy2d_train,
/toy2d_animation) take their inputs from hidden, unbounded components so that every
check — and its message — is ours, not a widget's.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import gradio as gr
import numpy as np
from matplotlib.figure import Figure

from ... import toy2d
from ...config import SCHEDULE
from ...diffusion.forward import check_t
from ...diffusion.schedules import ScheduleSpec, alpha_bar_at, validate_spec
from ...media import toy2d_plots as plots
from .. import downloads
from ..common import HEAVY, UIContext, figure_image, guarded

DEFAULT_DATASET = "moons"
DEFAULT_T = 100
DEFAULT_SEED = 0
# A smiley: two eyes and a mouth, seven points. Small enough to train in seconds.
DEFAULT_POINTS = "-1, 1\n1, 1\n-1.3, -0.5\n-0.7, -1\n0, -1.2\n0.7, -1\n1.3, -0.5"

INTRO = r"""
### The 2D picture: off the manifold and back
An image has thousands of pixels, so its space cannot be drawn. Here each "image" is a point
in the plane and the data set is a curve — two moons, a spiral, two rings, or a few points you
type. That curve is the **data manifold** of the blog.

**Forward: fixed, nothing learned.** Every point is pushed off the curve by the same recipe as
the images, $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon$ (diffusers'
`DDPMScheduler.add_noise`, with the schedule from the panel above). Drag $t$: the cloud shrinks
towards the origin and blurs until at $t = T$ it is the standard Gaussian $\mathcal N(0, I)$
(dashed circles: 1σ and 2σ). Colours mark where each point *started*: at the end they are fully
mixed — nothing of the shape is left.

**Reverse: the only trained part.** A small network $\varepsilon_\theta(x_t, t)$ (an MLP with
~36k weights, trained on this data set alone) guesses the noise in a point. The reverse chain
starts from fresh noise and takes $T$ small steps $p_\theta(x_{t-1} \mid x_t)$
(`DDPMScheduler.step`): each one moves the points against the guessed noise and adds a little
new noise. At $t = 0$ they are back on the curve — new samples, not copies of the forward ones.
Colours mark where each point *ends up*.

**Trajectories** follow a few points the whole way: orange, pushed off the data one small random
step at a time; the other colours, a path from noise back onto the manifold. **The ε-field**
draws $-\hat\varepsilon_\theta(x, t)$, the way the reverse chain nudges a point: at large $t$ all
arrows point to the middle of the data, at small $t$ straight at the nearest part of the curve.
As the blog says, this is like a VAE whose encoder is fixed: only the decoder — the way back —
is learned.
"""

LATEX = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]


# --------------------------------------------------------------------------------------
# Handlers: plain values in, figures / text / dicts out
# --------------------------------------------------------------------------------------


def _inputs(
    dataset: str, seed: Any, points: Any, schedule: str, beta_start: Any, beta_end: Any, T: Any
) -> tuple[toy2d.ToySet, int, ScheduleSpec]:
    spec = validate_spec(schedule, beta_start, beta_end, T)
    return toy2d.get_set(dataset, points), toy2d.check_seed(seed), spec


@lru_cache(maxsize=8)
def _forward_paths(toy: toy2d.ToySet, spec: ScheduleSpec, seed: int, k: int) -> np.ndarray:
    return toy2d.forward_paths(toy, spec, seed, k)


# Sample-vs-data numbers per (model, seed, data set): a nearest-neighbour search over the
# reference set, worth doing once per reverse run, not per slider move.
_QUALITY: OrderedDict[tuple[int, int, str], dict] = OrderedDict()


def _quality(model: toy2d.Toy2DModel, seed: int, toy: toy2d.ToySet, samples: np.ndarray) -> dict:
    key = (model.uid, seed, toy.key)
    if key not in _QUALITY:
        _QUALITY[key] = toy2d.quality(samples, toy)
        while len(_QUALITY) > 16:
            _QUALITY.popitem(last=False)
    return _QUALITY[key]


@lru_cache(maxsize=8)
def _reference(toy: toy2d.ToySet) -> tuple[np.ndarray, float]:
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
    n = toy2d.LIMITS.n_points
    x = toy2d.forward_cloud(toy, t, spec, seed, n)
    ab = alpha_bar_at(spec, t)
    ref, lim = _reference(toy)
    title = f"forward q(x_t | x_0): t = {t} / {spec.T},  ᾱ_t = {ab:.3g}"
    fig = plots.cloud_figure(x, plots.point_colours(toy.sample(n, seed)), title, lim, ref)
    info = {
        "direction": "forward",
        "dataset": toy.key,
        "t": t,
        "T": spec.T,
        "schedule": toy2d.describe_spec(spec),
        "alpha_bar": round(ab, 6),
        "signal_scale": round(float(np.sqrt(ab)), 6),  # sqrt(alpha_bar_t): how much of x_0 is left
        "noise_scale": round(float(np.sqrt(1 - ab)), 6),  # sqrt(1 - alpha_bar_t)
        "cloud": toy2d.cloud_stats(x),
    }
    return fig, info


def reverse_view(
    dataset: str = DEFAULT_DATASET,
    t: Any = DEFAULT_T,
    seed: Any = DEFAULT_SEED,
    points: str = DEFAULT_POINTS,
    n_paths: Any = toy2d.LIMITS.default_paths,
    schedule: str = "linear",
    beta_start: Any = SCHEDULE.default_beta_start,
    beta_end: Any = SCHEDULE.default_beta_end,
    T: Any = SCHEDULE.default_T,
) -> tuple[Figure, Figure, Figure, str, dict]:
    """The learned reverse chain at the slider's t: cloud, trajectories, ε-field, a note, numbers."""
    toy, seed, spec = _inputs(dataset, seed, points, schedule, beta_start, beta_end, T)
    t = check_t(t, spec.T)
    k = toy2d.check_paths(n_paths)
    try:
        model = toy2d.model_for(toy, spec)
    except ValueError as exc:  # a custom set not trained yet: say so in the panels
        blank = plots.message_figure(str(exc).replace(": ", ":\n", 1))
        note = f"**Reverse chain:** {exc}"
        return (
            blank,
            plots.message_figure("(trajectories need a model)"),
            plots.message_figure("(the ε-field needs a model)"),
            note,
            {"direction": "reverse", "dataset": toy.key, "t": t, "model": None, "note": str(exc)},
        )
    n = toy2d.LIMITS.n_points
    states = toy2d.reverse_run(model, seed, n)
    tm = toy2d.model_t(t, spec.T, model)
    ref, lim = _reference(toy)
    same = model.spec == spec
    at = f"t = {tm} / {model.spec.T}" + ("" if same else f" (slider t = {t} / {spec.T})")
    rev = plots.cloud_figure(
        states[tm], plots.point_colours(states[0]), f"reverse p_θ(x_(t-1) | x_t): {at}", lim, ref
    )
    idx = np.linspace(0, n - 1, k).round().astype(int)
    fwd = _forward_paths(toy, spec, seed, k)
    traj = plots.trajectories_figure(fwd, states[:, idx], t, tm, ref, lim)
    grid, eps = toy2d.eps_field(model, max(1, tm))
    field = plots.field_figure(grid, eps, ref, f"learned −ε̂_θ(x, t) at t = {max(1, tm)}", lim)
    record = {key: v for key, v in model.info.items() if key != "config"}
    if same:
        note = (
            f"**Reverse chain:** the MLP for this data set trained on the panel's schedule "
            f"({toy2d.describe_spec(model.spec)}; {record.get('source', '')}, {record.get('steps')} steps, "
            f"loss {record.get('final_loss')})."
        )
    else:
        note = (
            f"⚠️ **The reverse chain uses its own schedule.** This MLP was trained on "
            f"**{toy2d.describe_spec(model.spec)}**, the panel says **{toy2d.describe_spec(spec)}**. "
            f"A network only knows the noise levels it was trained on, so the reverse view runs on its "
            f"training schedule and shows the same *fraction* of the way: slider t = {t} / {spec.T} is "
            f"its step {tm} / {model.spec.T}. Press **Train for this schedule** to train one on the "
            "panel's schedule (10–30 s)."
        )
    info = {
        "direction": "reverse",
        "dataset": toy.key,
        "t": t,
        "model_t": tm,
        "model_schedule": toy2d.describe_spec(model.spec),
        "panel_schedule": toy2d.describe_spec(spec),
        "same_schedule": same,
        "cloud": toy2d.cloud_stats(states[tm]),
        "samples_vs_data": _quality(model, seed, toy, states[0]),
        "model": record,
    }
    return rev, traj, field, note, info


def train_model(
    dataset: str = DEFAULT_DATASET,
    points: str = DEFAULT_POINTS,
    schedule: str = "linear",
    beta_start: Any = SCHEDULE.default_beta_start,
    beta_end: Any = SCHEDULE.default_beta_end,
    T: Any = SCHEDULE.default_T,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's documented idiom)
) -> Iterator[str]:
    """Train ε_θ for this data set on the panel's schedule (≤ 30 s), streaming a status line."""
    toy = toy2d.get_set(dataset, points)
    spec = validate_spec(schedule, beta_start, beta_end, T)
    what = f"{toy2d.DATASET_LABELS[toy.name]} on {toy2d.describe_spec(spec)}"
    done = toy2d.STORE.get(toy.key, spec)
    if done is not None:
        yield _trained_note(done, what, cached=True)
        return
    cfg = toy2d.TRAIN2D
    last = None
    for last in toy2d.train_iter(toy, spec, cfg, report_every=250):
        if not last.done:
            progress((last.step, last.steps), desc=f"training ε_θ · loss {last.loss:.3f}")
            yield (
                f"Training ε_θ for {what}: step {last.step} / {last.steps}, "
                f"loss {last.loss:.3f}, {last.seconds:.0f} s"
            )
    if last is None or last.model is None:  # train_iter always ends with a model
        raise RuntimeError("training ended without a model")
    toy2d.STORE.put(last.model)
    yield _trained_note(last.model, what, cached=False)


def _trained_note(model: toy2d.Toy2DModel, what: str, cached: bool) -> str:
    info = model.info
    early = " (stopped at the time limit)" if info.get("stopped_early") else ""
    head = "Already trained" if cached else "Trained"
    return (
        f"✅ {head}: ε_θ for {what} — {info.get('steps')} steps{early}, final loss "
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


def slider_range(T: Any, t: Any) -> Any:
    """Keep the t slider within the panel's [0, T] (unchanged while T is half-typed)."""
    try:
        T = int(validate_spec("linear", SCHEDULE.default_beta_start, SCHEDULE.default_beta_end, T).T)
    except ValueError:
        return gr.skip()
    try:
        value = min(float(t), T)
    except (TypeError, ValueError):
        value = min(DEFAULT_T, T)
    return gr.update(maximum=T, value=value)


def _quiet(fn: Callable, n_outputs: int) -> Callable:
    """For events that follow another one (or the schedule panel's every keystroke): on bad
    input leave the outputs as they are; the main event (or the panel) shows the message."""

    def wrapper(*args: Any) -> Any:
        try:
            return fn(*args)
        except ValueError:
            return gr.skip() if n_outputs == 1 else tuple(gr.skip() for _ in range(n_outputs))

    wrapper.__name__ = fn.__name__
    return wrapper


def _as_images(fn: Callable, n_figures: int) -> Callable:
    """The first n_figures outputs rendered to PIL images under the app's matplotlib lock
    (gr.Plot would draw a Figure itself, unlocked, racing other sessions' renders)."""

    def wrapper(*args: Any, **kwargs: Any) -> tuple:
        out = fn(*args, **kwargs)
        return (*(plots.render(f) for f in out[:n_figures]), *out[n_figures:])

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


# --------------------------------------------------------------------------------------
# Layout and events
# --------------------------------------------------------------------------------------


def _plot(label: str, elem_id: str) -> gr.Image:
    # A rendered image, not gr.Plot (see _as_images). No label badge: it would cover the
    # figure's own title, which carries t and ᾱ_t.
    return figure_image(label, elem_id, format="webp", show_label=False)


def build(ctx: UIContext) -> None:
    """The 2D picture (called inside its gr.Tab)."""
    panel = ctx.schedule
    gr.Markdown(INTRO, latex_delimiters=LATEX, elem_id="toy-intro")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            dataset = gr.Dropdown(
                [(toy2d.DATASET_LABELS[d], d) for d in toy2d.DATASETS],
                value=DEFAULT_DATASET,
                label="Data set",
                elem_id="toy-dataset",
            )
            points = gr.Textbox(
                DEFAULT_POINTS,
                lines=5,
                max_lines=12,
                label=f"Custom points: one 'x, y' per line (≤ {toy2d.LIMITS.max_custom_points}; "
                "used when the data set is 'Custom'; centred and scaled to unit spread)",
                elem_id="toy-points",
            )
            with gr.Row():
                seed = gr.Number(
                    DEFAULT_SEED,
                    label="Seed (data, ε, x_T)",
                    precision=0,
                    minimum=0,
                    maximum=toy2d.LIMITS.max_seed,
                    elem_id="toy-seed",
                    min_width=110,
                )
                n_paths = gr.Slider(
                    1,
                    toy2d.LIMITS.max_paths,
                    value=toy2d.LIMITS.default_paths,
                    step=1,
                    label="Trajectories",
                    elem_id="toy-paths",
                    min_width=110,
                )
            train_btn = gr.Button("Train for this schedule (10–30 s)", elem_id="toy-train")
            train_status = gr.Markdown(elem_id="toy-train-status")
        with gr.Column(scale=3):
            t = gr.Slider(
                0,
                SCHEDULE.default_T,
                value=DEFAULT_T,
                step=1,
                label="t: the same step for forward and reverse (0 = data, T = pure noise)",
                elem_id="toy-t",
            )
            with gr.Row():
                fwd_plot = _plot("Forward: the data pushed off its curve", "toy-forward")
                rev_plot = _plot("Reverse: noise brought back by ε_θ", "toy-reverse")
            rev_note = gr.Markdown(elem_id="toy-reverse-note")
            with gr.Row():
                traj_plot = _plot("Trajectories: off the manifold and back", "toy-trajectories")
                field_plot = _plot("The learned ε-field (arrows: −ε̂)", "toy-field")
    with gr.Accordion("Animation (forward, then reverse)", open=False, elem_id="toy-animation-box"):
        gif_btn = gr.Button("Make the animation (a few seconds)", elem_id="toy-animate")
        gif = gr.Image(
            label="data → N(0, I) → data", type="filepath", interactive=False, elem_id="toy-gif", height=360
        )
        # GIF / MP4 download buttons and the /export_toy2d endpoint (ui/downloads.py)
        downloads.toy2d_row([dataset, seed, points, *panel.inputs])
    with gr.Accordion("The numbers", open=False, elem_id="toy-numbers"):
        gr.Markdown(
            "Mean and covariance of each cloud (N(0, I) has mean [0, 0] and covariance "
            "[[1, 0], [0, 1]]), and how the reverse chain's samples compare with the data: "
            "gaps in mean and covariance, and the mean distance to the nearest data point "
            "(*nn_baseline*: the same for fresh data points)."
        )
        with gr.Row():
            fwd_info = gr.JSON(label="forward", elem_id="toy-forward-info")
            rev_info = gr.JSON(label="reverse", elem_id="toy-reverse-info")

    ctx.links["toy_dataset"] = dataset
    ctx.links["toy_t"] = t
    ctx.links["toy_seed"] = seed

    schedule = panel.inputs
    fwd_in = [dataset, t, seed, points, *schedule]
    rev_in = [dataset, t, seed, points, n_paths, *schedule]
    fwd_out = [fwd_plot, fwd_info]
    rev_out = [rev_plot, traj_plot, field_plot, rev_note, rev_info]
    common = dict(api_visibility="private", trigger_mode="always_last")

    # The user's own inputs: one clear message on bad input (from the forward view; the
    # reverse view, fed the same values, stays quiet).
    mine = [t.change, dataset.change, seed.change, points.blur]
    gr.on(
        mine,
        guarded(_as_images(forward_view, 1)),
        fwd_in,
        fwd_out,
        api_name="toy2d_forward_ui",
        show_progress="hidden",
        **common,
    )
    gr.on(
        [*mine, n_paths.change],
        guarded(_quiet(_as_images(reverse_view, 3), len(rev_out))),
        rev_in,
        rev_out,
        api_name="toy2d_reverse_ui",
        show_progress="minimal",
        **common,
    )
    # The schedule panel fires on every keystroke: its own tabs report half-typed values;
    # here they only keep the old view. T also bounds the t slider.
    panel_changed = gr.on(
        [c.change for c in schedule],
        slider_range,
        [panel.T, t],
        t,
        api_name="toy2d_t_range",
        show_progress="hidden",
        **common,
    )
    panel_changed.then(
        guarded(_quiet(_as_images(forward_view, 1), 2)),
        fwd_in,
        fwd_out,
        show_progress="hidden",
        api_visibility="private",
    )
    panel_changed.then(
        guarded(_quiet(_as_images(reverse_view, 3), len(rev_out))),
        rev_in,
        rev_out,
        show_progress="minimal",
        api_visibility="private",
    )
    # First view on page load (the reverse chain of the shipped model runs once per process).
    root = gr.context.Context.root_block
    if root is not None:
        loaded = root.load(
            guarded(_quiet(_as_images(forward_view, 1), 2)), fwd_in, fwd_out, api_visibility="private"
        )
        loaded.then(
            guarded(_quiet(_as_images(reverse_view, 3), len(rev_out))),
            rev_in,
            rev_out,
            api_visibility="private",
        )

    trained = train_btn.click(
        guarded(train_model),
        [dataset, points, *schedule],
        train_status,
        api_name="toy2d_train_ui",
        api_visibility="private",
        **HEAVY,
    )
    trained.success(
        guarded(_quiet(_as_images(reverse_view, 3), len(rev_out))), rev_in, rev_out, api_visibility="private"
    )
    gif_btn.click(
        guarded(animation),
        [dataset, seed, points, *schedule],
        gif,
        api_name="toy2d_animation_ui",
        api_visibility="private",
        **HEAVY,
    )

    _public_api()


def _public_api() -> None:
    """Named endpoints with keyword parameters; hidden, unbounded inputs (our checks, our messages)."""
    with gr.Group(visible=False):
        a_dataset = gr.Textbox(DEFAULT_DATASET, label="dataset")
        a_t = gr.Number(DEFAULT_T, label="t")
        a_seed = gr.Number(DEFAULT_SEED, label="seed")
        a_points = gr.Textbox(DEFAULT_POINTS, label="points")
        a_paths = gr.Number(toy2d.LIMITS.default_paths, label="n_paths")
        a_schedule = gr.Textbox("linear", label="schedule")
        a_beta_start = gr.Number(SCHEDULE.default_beta_start, label="beta_start")
        a_beta_end = gr.Number(SCHEDULE.default_beta_end, label="beta_end")
        a_T = gr.Number(SCHEDULE.default_T, label="T")
        a_md = gr.Markdown()
        a_json = gr.JSON()
        a_cloud, a_traj, a_field = (
            gr.Image(type="pil", format="png", label=n) for n in ("cloud", "trajectories", "eps_field")
        )
        a_gif = gr.Image(type="filepath", label="animation")
    sched = [a_schedule, a_beta_start, a_beta_end, a_T]
    gr.on(
        [],
        guarded(_as_images(forward_view, 1)),
        [a_dataset, a_t, a_seed, a_points, *sched],
        [a_cloud, a_json],
        api_name="toy2d_forward",
        api_description=(
            "The forward cloud x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps of a 2D data set. "
            f"dataset: one of {', '.join(toy2d.DATASETS)}; points: 'x, y' per line (for 'custom'); "
            "t in [0, T]. Returns the scatter and its numbers (alpha_bar_t, mean, covariance)."
        ),
    )
    gr.on(
        [],
        guarded(_as_images(reverse_view, 3)),
        [a_dataset, a_t, a_seed, a_points, a_paths, *sched],
        [a_cloud, a_traj, a_field, a_md, a_json],
        api_name="toy2d_reverse",
        api_description=(
            "The learned reverse chain at t (x_T ~ N(0, I) from the seed, DDPM steps down to t): the cloud, "
            "n_paths trajectories, the -eps field, a note on the schedule used and the numbers "
            "(including sample-vs-data quality). A custom set needs /toy2d_train first."
        ),
    )
    gr.on(
        [],
        guarded(train_model),
        [a_dataset, a_points, *sched],
        a_md,
        api_name="toy2d_train",
        api_description=(
            "Train the 2D epsilon-MLP for a data set on a schedule (deterministic, <= 30 s; streams "
            "status lines). Later /toy2d_reverse calls with the same data and schedule use it."
        ),
        **HEAVY,
    )
    gr.on(
        [],
        guarded(animation),
        [a_dataset, a_seed, a_points, *sched],
        a_gif,
        api_name="toy2d_animation",
        api_description="An animated GIF of the forward process, then the learned reverse chain.",
        **HEAVY,
    )
