"""Tab 5 · The 2D picture: point clouds pushed off their curve and brought back.

The views are plain functions of plain values (dataset, t, seed, points, schedule …) in
media/toy2d_views.py, so the UI events, the public API endpoints and the tests all call the
same code; this module lays out the widgets and wires named handlers to them. The public
endpoints (/toy2d_forward, /toy2d_reverse, /toy2d_train, /toy2d_animation) take their inputs
from hidden, unbounded components so that every check, and its message, is ours.

May import: ui (common, export_buttons), media, diffusion, toy2d, config.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from ...config import ENGINE, SCHEDULE, TOY2D_LIMITS, TRAIN2D
from ...diffusion.schedules import validate_spec
from ...media.toy2d_views import (
    DEFAULT_DATASET,
    DEFAULT_POINTS,
    DEFAULT_SEED,
    DEFAULT_T,
    animation,
    as_images,
    forward_view,
    reverse_view,
    trained_note,
)
from ...toy2d.data import DATASET_LABELS, DATASETS, get_set
from ...toy2d.model import describe_spec
from ...toy2d.store import STORE
from ...toy2d.train import train_iter
from .. import export_buttons, sharing
from ..common import HEAVY, UIContext, figure_image, guarded, quiet
from ..runtime import bounded_by_T
from .explain import explain

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

LATEX = [{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False}]


# ------------------------------------------- handlers: the views (media/toy2d_views.py), training


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
    toy = get_set(dataset, points)
    spec = validate_spec(schedule, beta_start, beta_end, T)
    what = f"{DATASET_LABELS[toy.name]} on {describe_spec(spec)}"
    done = STORE.get(toy.key, spec)
    if done is not None:
        yield trained_note(done, what, cached=True)
        return
    cfg = TRAIN2D
    last = None
    for last in train_iter(toy, spec, cfg, report_every=250):
        if not last.done:
            progress((last.step, last.steps), desc=f"training ε_θ · loss {last.loss:.3f}")
            yield (
                f"Training ε_θ for {what}: step {last.step} / {last.steps}, "
                f"loss {last.loss:.3f}, {last.seconds:.0f} s"
            )
    if last is None or last.model is None:  # train_iter always ends with a model
        raise RuntimeError("training ended without a model")
    STORE.put(last.model)
    yield trained_note(last.model, what, cached=False)


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


# The named handlers the events wire: each view rendered to images (and its errors made
# messages); the "quiet" ones keep the old outputs on bad input (another event reports it).
forward_images = guarded(as_images(forward_view, 1))
reverse_images = guarded(as_images(reverse_view, 3))
forward_quiet = guarded(quiet(as_images(forward_view, 1), 2))
reverse_quiet = guarded(quiet(as_images(reverse_view, 3), 5))
# /toy2d_train costs 10-26 s of both cores: one at a time per page, a few per address
TRAINING = sharing.InFlight("A 2D training", ENGINE.train_per_session, ENGINE.train_per_address)
train_handler = guarded(sharing.limited(train_model, TRAINING))
animation_handler = guarded(animation)


# -------------------------------------------------------------------------- layout and events


class _Widgets:
    """The tab's components: the layout helpers set them, the wiring reads them."""

    dataset: gr.Dropdown
    points: gr.Textbox
    seed: gr.Number
    n_paths: gr.Slider
    train_btn: gr.Button
    train_status: gr.Markdown
    t: gr.Slider
    fwd_plot: gr.Image
    rev_plot: gr.Image
    rev_note: gr.Markdown
    traj_plot: gr.Image
    field_plot: gr.Image
    gif_btn: gr.Button
    gif: gr.Image
    fwd_info: gr.JSON
    rev_info: gr.JSON


def _plot(label: str, elem_id: str) -> gr.Image:
    # A rendered image, not gr.Plot (see as_images). No label badge: it would cover the
    # figure's own title, which carries t and ᾱ_t.
    return figure_image(label, elem_id, format="webp", show_label=False)


def _controls(w: _Widgets) -> None:
    """The left column: data set, typed points, seed, trajectories and the training button."""
    w.dataset = gr.Dropdown(
        [(DATASET_LABELS[d], d) for d in DATASETS],
        value=DEFAULT_DATASET,
        label="Data set",
        elem_id="toy-dataset",
    )
    w.points = gr.Textbox(
        DEFAULT_POINTS,
        lines=5,
        max_lines=12,
        label=f"Custom points: one 'x, y' per line (≤ {TOY2D_LIMITS.max_custom_points}; "
        "used when the data set is 'Custom'; centred and scaled to unit spread)",
        elem_id="toy-points",
    )
    with gr.Row():
        w.seed = gr.Number(
            DEFAULT_SEED,
            label="Seed (data, ε, x_T)",
            precision=0,
            minimum=0,
            maximum=TOY2D_LIMITS.max_seed,
            elem_id="toy-seed",
            min_width=110,
        )
        w.n_paths = gr.Slider(
            1,
            TOY2D_LIMITS.max_paths,
            value=TOY2D_LIMITS.default_paths,
            step=1,
            label="Trajectories",
            elem_id="toy-paths",
            min_width=110,
        )
    w.train_btn = gr.Button("Train for this schedule (10–30 s)", elem_id="toy-train")
    w.train_status = gr.Markdown(elem_id="toy-train-status")


def _panels(w: _Widgets) -> None:
    """The right column: the shared t slider and the four figures."""
    w.t = gr.Slider(
        0,
        SCHEDULE.default_T,
        value=DEFAULT_T,
        step=1,
        label="t: the same step for forward and reverse (0 = data, T = pure noise)",
        elem_id="toy-t",
    )
    bounded_by_T(w.t)  # its maximum is the panel's T: checked by the handlers
    with gr.Row():
        w.fwd_plot = _plot("Forward: the data pushed off its curve", "toy-forward")
        w.rev_plot = _plot("Reverse: noise brought back by ε_θ", "toy-reverse")
    w.rev_note = gr.Markdown(elem_id="toy-reverse-note")
    with gr.Row():
        w.traj_plot = _plot("Trajectories: off the manifold and back", "toy-trajectories")
        w.field_plot = _plot("The learned ε-field (arrows: −ε̂)", "toy-field")


def _accordions(w: _Widgets, schedule: list) -> None:
    """Below the figures: the animation (with its downloads) and the numbers."""
    with gr.Accordion("Animation (forward, then reverse)", open=False, elem_id="toy-animation-box"):
        w.gif_btn = gr.Button("Make the animation (a few seconds)", elem_id="toy-animate")
        w.gif = gr.Image(
            label="data → N(0, I) → data", type="filepath", interactive=False, elem_id="toy-gif", height=360
        )
        # GIF / MP4 download buttons and the /export_toy2d endpoint (ui/export_buttons.py)
        export_buttons.toy2d_row([w.dataset, w.seed, w.points, *schedule])
    with gr.Accordion("The numbers", open=False, elem_id="toy-numbers"):
        gr.Markdown(
            "Mean and covariance of each cloud (N(0, I) has mean [0, 0] and covariance "
            "[[1, 0], [0, 1]]), and how the reverse chain's samples compare with the data: "
            "gaps in mean and covariance, and the mean distance to the nearest data point "
            "(*nn_baseline*: the same for fresh data points)."
        )
        with gr.Row():
            w.fwd_info = gr.JSON(label="forward", elem_id="toy-forward-info")
            w.rev_info = gr.JSON(label="reverse", elem_id="toy-reverse-info")


def build(ctx: UIContext) -> None:
    """The 2D picture (called inside its gr.Tab)."""
    panel, w = ctx.schedule, _Widgets()
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            _controls(w)
        with gr.Column(scale=3):
            _panels(w)
    _accordions(w, panel.inputs)
    with explain("toy2d"):
        gr.Markdown(INTRO, latex_delimiters=LATEX, elem_id="toy-intro")

    ctx.links["toy_dataset"] = w.dataset
    ctx.links["toy_t"] = w.t
    ctx.links["toy_seed"] = w.seed

    _wire_views(w, panel)
    _wire_buttons(w, panel.inputs)
    _public_api()


def _wire_views(w: _Widgets, panel: Any) -> None:
    """The forward and reverse views follow the inputs, the schedule panel and the page load."""
    schedule = panel.inputs
    fwd_in = [w.dataset, w.t, w.seed, w.points, *schedule]
    rev_in = [w.dataset, w.t, w.seed, w.points, w.n_paths, *schedule]
    fwd_out = [w.fwd_plot, w.fwd_info]
    rev_out = [w.rev_plot, w.traj_plot, w.field_plot, w.rev_note, w.rev_info]
    common = dict(api_visibility="private", trigger_mode="always_last")

    # The user's own inputs: one clear message on bad input (from the forward view; the
    # reverse view, fed the same values, stays quiet).
    mine = [w.t.change, w.dataset.change, w.seed.change, w.points.blur]
    gr.on(
        mine, forward_images, fwd_in, fwd_out, api_name="toy2d_forward_ui", show_progress="hidden", **common
    )
    gr.on(
        [*mine, w.n_paths.change],
        reverse_quiet,
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
        [panel.T, w.t],
        w.t,
        api_name="toy2d_t_range",
        show_progress="hidden",
        **common,
    )
    panel_changed.then(forward_quiet, fwd_in, fwd_out, show_progress="hidden", api_visibility="private")
    panel_changed.then(reverse_quiet, rev_in, rev_out, show_progress="minimal", api_visibility="private")
    # First view on page load (the reverse chain of the shipped model runs once per process).
    root = gr.context.Context.root_block
    if root is not None:
        loaded = root.load(forward_quiet, fwd_in, fwd_out, api_visibility="private")
        loaded.then(reverse_quiet, rev_in, rev_out, api_visibility="private")


def _wire_buttons(w: _Widgets, schedule: list) -> None:
    """Training (then the reverse view again, on the new model) and the animation."""
    rev_in = [w.dataset, w.t, w.seed, w.points, w.n_paths, *schedule]
    rev_out = [w.rev_plot, w.traj_plot, w.field_plot, w.rev_note, w.rev_info]
    trained = w.train_btn.click(
        train_handler,
        [w.dataset, w.points, *schedule],
        w.train_status,
        api_name="toy2d_train_ui",
        api_visibility="private",
        **HEAVY,
    )
    trained.success(reverse_quiet, rev_in, rev_out, api_visibility="private")
    w.gif_btn.click(
        animation_handler,
        [w.dataset, w.seed, w.points, *schedule],
        w.gif,
        api_name="toy2d_animation_ui",
        api_visibility="private",
        **HEAVY,
    )


def _public_api() -> None:
    """Named endpoints with keyword parameters; hidden, unbounded inputs (our checks, our messages)."""
    with gr.Group(visible=False):
        a_dataset = gr.Textbox(DEFAULT_DATASET, label="dataset")
        a_t = gr.Number(DEFAULT_T, label="t")
        a_seed = gr.Number(DEFAULT_SEED, label="seed")
        a_points = gr.Textbox(DEFAULT_POINTS, label="points")
        a_paths = gr.Number(TOY2D_LIMITS.default_paths, label="n_paths")
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
        forward_images,
        [a_dataset, a_t, a_seed, a_points, *sched],
        [a_cloud, a_json],
        api_name="toy2d_forward",
        api_description=(
            "The forward cloud x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps of a 2D data set. "
            f"dataset: one of {', '.join(DATASETS)}; points: 'x, y' per line (for 'custom'); "
            "t in [0, T]. Returns the scatter and its numbers (alpha_bar_t, mean, covariance)."
        ),
    )
    gr.on(
        [],
        reverse_images,
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
        train_handler,
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
        animation_handler,
        [a_dataset, a_seed, a_points, *sched],
        a_gif,
        api_name="toy2d_animation",
        api_description="An animated GIF of the forward process, then the learned reverse chain.",
        **HEAVY,
    )
