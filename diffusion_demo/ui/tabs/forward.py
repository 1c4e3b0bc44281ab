"""Tab 1 · Forward chain: watch an image dissolve into noise, step by step or in one jump.

The handlers here are plain functions of plain values (file path, t, schedule, seed, …) so
the UI events, the public API endpoints and the tests all call the same code; what they
show is computed in media/forward_views.py. UI events are private; the public endpoints
(/forward, /chain) take their inputs from hidden, unbounded components so that every
check — and its message — is ours, not a widget's.

May import: config, diffusion, media, ui.common, ui.export_buttons, ui.keys, ui.runtime and gradio.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

import gradio as gr
from PIL import Image

from ...config import FORWARD_TAB, IMAGES, SCHEDULE, SCHEDULE_NAMES
from ...diffusion.schedules import validate_spec
from ...media import equations
from ...media.forward_views import (
    chain_view,
    check_seed,
    default_example,
    example_names,
    full_view,
    histogram_view,
    noise_image,
    play_payload,
    resolve_source,
    validate,
    xt_view,
)
from .. import export_buttons, keys, runtime
from ..common import SchedulePanel, UIContext, figure_image, follow, guarded, quiet
from .explain import explain

# The tab's defaults (config.FORWARD_TAB), under the names the tests and deep links know.
DEFAULT_EXAMPLE = FORWARD_TAB.example
DEFAULT_T = FORWARD_TAB.t
DEFAULT_SEED = FORWARD_TAB.seed
_DEFAULT_BETAS = (SCHEDULE.default_beta_start, SCHEDULE.default_beta_end, SCHEDULE.default_T)

INTRO = r"""
### The forward process: a little noise, T times
Take an image $x_0$ and add a small amount of Gaussian noise. Then add a little more to *that*,
and again, $T$ times ($T$ is usually around 1000). Each step looks only at the image of the step
before — the forward process is a **Markov chain**:
$q(x_t \mid x_{t-1}) = \mathcal{N}\big(\sqrt{1-\beta_t}\, x_{t-1},\ \beta_t I\big)$.
The variance schedule $\beta_t$ keeps every step small, so each step removes only a little
information — which is what makes a single step learnable in reverse.

Because every step is Gaussian you can also **jump** to any $t$ in one go:
$x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1-\bar\alpha_t}\, \varepsilon$.
Drag $t$: the same $\varepsilon$ (one per seed) is used at every $t$, so you watch one image
fade into noise. As $T \to \infty$, $\bar\alpha_T \to 0$ and $x_T$ becomes pure noise
$\mathcal{N}(0, I)$: nothing of the image is left. Nothing here is learned — the forward
process has no parameters; only the way back is trained.
"""


# --- Handlers (plain values in, plain values out) ---


def forward_api(
    image: str | None = None,
    t: float = DEFAULT_T,
    schedule: str = "linear",
    seed: float = DEFAULT_SEED,
    example: str | None = DEFAULT_EXAMPLE,
    beta_start: float = SCHEDULE.default_beta_start,
    beta_end: float = SCHEDULE.default_beta_end,
    T: float = SCHEDULE.default_T,
) -> tuple[Image.Image, str, str, str]:
    """/forward: x_t (first), then x_0, ε (PNG files) and the formula with the current numbers."""
    return full_view(validate(image, t, schedule, seed, example, beta_start, beta_end, T))


def forward_view(
    image: str | None,
    t: float,
    schedule: str,
    seed: float,
    example: str | None,
    beta_start: float,
    beta_end: float,
    T: float,
) -> tuple[Image.Image, str]:
    """UI drag handler: only what depends on t (x_t and the formula)."""
    return xt_view(validate(image, t, schedule, seed, example, beta_start, beta_end, T))


def histogram(
    image: str | None,
    t: float,
    schedule: str,
    seed: float,
    example: str | None,
    beta_start: float,
    beta_end: float,
    T: float,
) -> Image.Image:
    """Histogram of x_t's pixels with the theoretical density, rendered to an image."""
    return histogram_view(validate(image, t, schedule, seed, example, beta_start, beta_end, T))


def prepare(
    image: str | None,
    t: float,
    schedule: str,
    seed: float,
    example: str | None,
    beta_start: float,
    beta_end: float,
    T: float,
) -> tuple:
    """UI handler when the image, seed or schedule changes: x_0, ε, status line, t's range.

    Bad input is shown in the status line, not raised: the schedule panel's number boxes
    fire on every keystroke, and half-typed values must not pop up error after error. A
    refused upload also gets a warning toast (it is a discrete action worth flagging).
    Outputs: x_0, ε, x_t (cleared when the upload is refused), status, t slider.
    """
    try:
        spec = validate_spec(schedule, beta_start, beta_end, T)
        seed = check_seed(seed)
    except ValueError as exc:
        return gr.skip(), gr.skip(), gr.skip(), f"✕ {exc}", gr.skip()
    slider = _t_slider(t, spec.T)
    try:
        source = resolve_source(image, example)
    except ValueError as exc:
        gr.Warning(str(exc))
        return None, gr.skip(), None, f"✕ {exc}", slider
    return source.image, noise_image(source, seed), gr.skip(), source.info, slider


def _t_slider(t: Any, T: int) -> dict:
    """t's slider for a schedule of T steps: t kept if it fits, else clamped (or reset if unreadable)."""
    try:
        if float(t) > T:
            return gr.update(maximum=T, value=T)
    except (TypeError, ValueError):
        return gr.update(maximum=T, value=min(DEFAULT_T, T))
    return gr.update(maximum=T)


def chain_api(
    image: str | None = None,
    schedule: str = "linear",
    seed: float = DEFAULT_SEED,
    example: str | None = DEFAULT_EXAMPLE,
    beta_start: float = SCHEDULE.default_beta_start,
    beta_end: float = SCHEDULE.default_beta_end,
    T: float = SCHEDULE.default_T,
) -> tuple[Image.Image, str]:
    """/chain: the iterated Markov chain next to the closed form at 9 evenly spaced t."""
    spec = validate_spec(schedule, beta_start, beta_end, T)
    seed = check_seed(seed)
    return chain_view(resolve_source(image, example), spec, seed)


def play_api(mode: str, image: str | None, schedule: str, seed: float, example: str | None, *betas: float):
    """▶ Play's one download (JSON): x_0, ε and eq. 4's coefficients; the browser draws every x_t
    itself (ui/keys.py). mode "play:<nonce>" (echoed back) or "pause" (nothing to fetch)."""
    if not str(mode).startswith("play:"):
        return gr.skip()
    req = validate(image, 0, schedule, seed, example, *betas)
    return json.dumps({"nonce": str(mode)[5:], **play_payload(req)})


def random_seed() -> int:
    return random.SystemRandom().randint(0, IMAGES.max_seed)


def clear_upload() -> None:
    """Picking an example replaces an upload."""


# The UI events' handlers (module-level, so importable): the same views, quiet on bad input.
quiet_forward_view = quiet(forward_view, 2)
quiet_histogram = quiet(histogram, 1)
quiet_chain = quiet(chain_api, 2)
quiet_play = quiet(play_api, 1)


# --- Layout ---


@dataclass
class _Widgets:
    """The tab's visible components, for wiring."""

    example: gr.Dropdown
    upload: gr.File
    seed: gr.Number
    reseed: gr.Button
    info: gr.Markdown
    t: gr.Slider
    x0_img: gr.Image
    eps_img: gr.Image
    xt_img: gr.Image
    formula: gr.Markdown
    hist: gr.Image
    strip: gr.Image
    chain_md: gr.Markdown
    play: gr.Button


def build(ctx: UIContext) -> None:
    """The forward-chain explorer (called inside its gr.Tab)."""
    example0 = default_example()
    w = _layout(ctx.schedule, example0)
    with explain("forward"):
        gr.Markdown(INTRO, latex_delimiters=equations.LATEX_DELIMITERS, elem_id="forward-intro")
    ctx.links["t"] = runtime.bounded_by_T(w.t)  # its maximum is the panel's T: checked by the handlers
    ctx.links["seed"] = w.seed
    ctx.links["example"] = w.example
    _wire_views(w, ctx.schedule)
    _wire_api(example0)


def _layout(panel: SchedulePanel, example0: str | None) -> _Widgets:
    """Inputs and images, formula and histogram, then the chain; initial views computed once
    per process (cached) so the page shows content at once."""
    x_t0, x00, eps0, formula0 = forward_api(None, DEFAULT_T, "linear", DEFAULT_SEED, example0)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            example, upload, seed, reseed = _source_inputs(example0)
            info = gr.Markdown(resolve_source(None, example0).info, elem_id="forward-source")
        with gr.Column(scale=3):
            t, x0_img, eps_img, xt_img, play = _t_and_images(x00, eps0, x_t0)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            formula = gr.Markdown(
                formula0,
                latex_delimiters=equations.LATEX_DELIMITERS,
                elem_id="forward-formula",
                elem_classes=["formula"],
            )
        with gr.Column(scale=1):
            hist0 = histogram(None, DEFAULT_T, "linear", DEFAULT_SEED, example0, *_DEFAULT_BETAS)
            hist = figure_image("Pixel statistics of xₜ", "forward-histogram", hist0, show_label=False)
    with gr.Accordion("The Markov chain, step by step vs. in one jump", open=True, elem_id="forward-chain"):
        strip0, chain_md0 = chain_api(None, "linear", DEFAULT_SEED, example0)
        strip = figure_image("x₀ … x_T at 9 evenly spaced t", "forward-chain-strip", strip0, show_label=False)
        chain_md = gr.Markdown(
            chain_md0, latex_delimiters=equations.LATEX_DELIMITERS, elem_id="forward-chain-note"
        )
        export_buttons.forward_row([upload, panel.schedule, seed, example, *panel.inputs[1:]])
    return _Widgets(
        example, upload, seed, reseed, info, t, x0_img, eps_img, xt_img, formula, hist, strip, chain_md, play
    )


def _source_inputs(example0: str | None) -> tuple[gr.Dropdown, gr.File, gr.Number, gr.Button]:
    """Example, upload, seed and the New ε button."""
    example = gr.Dropdown(example_names(), value=example0, label="Example image", elem_id="forward-example")
    upload = gr.File(
        label="…or upload your own (PNG, JPEG, WebP, GIF, BMP)",
        file_types=["image"],
        type="filepath",
        height=150,
        elem_id="forward-upload",
    )
    with gr.Row():
        seed = gr.Number(
            DEFAULT_SEED,
            label="Seed (fixes ε)",
            precision=0,
            minimum=0,
            maximum=IMAGES.max_seed,
            elem_id="forward-seed",
            scale=2,
            min_width=120,
        )
        reseed = gr.Button("New ε", elem_id="forward-reseed", scale=1, min_width=90)
    return example, upload, seed, reseed


def _t_and_images(x00: str, eps0: str, x_t0: Image.Image) -> tuple:
    """The t slider and ▶ Play above x_0, ε and x_t."""
    with gr.Row(equal_height=True):
        t = gr.Slider(
            0,
            SCHEDULE.default_T,
            value=DEFAULT_T,
            step=1,
            label="t: how many noise steps (0 = the clean image, T = pure noise)",
            elem_id="forward-t",
            scale=5,
        )
        play = gr.Button("▶ Play", elem_id="forward-play", scale=0, min_width=120)
    with gr.Row():
        x0_img = _image("x₀: the image", x00, "forward-x0")
        eps_img = _image("ε ~ N(0, I), fixed by the seed", eps0, "forward-eps")
        xt_img = _image("xₜ = √ᾱₜ·x₀ + √(1−ᾱₜ)·ε", x_t0, "forward-xt")
    gr.Markdown(
        "ε is shown with ±3σ mapped to black/white; xₜ is clipped to [-1, 1] for display.",
        elem_id="forward-display-note",
    )
    return t, x0_img, eps_img, xt_img, play


def _image(label: str, value: Image.Image | str, elem_id: str) -> gr.Image:
    return figure_image(label, elem_id, value, format="webp", height=280)


# --- Events ---


def _wire_views(w: _Widgets, panel: SchedulePanel) -> None:
    """UI events. They run off the torch thread (see serving.torch_thread), with one OpenMP thread
    each (by `guarded`): a few ms of noising must not wait behind a long export or 2D training."""
    inputs = [w.upload, w.t, panel.schedule, w.seed, w.example, *panel.inputs[1:]]
    chain_inputs = [w.upload, panel.schedule, w.seed, w.example, *panel.inputs[1:]]
    private: dict[str, Any] = dict(api_visibility="private", show_progress="hidden")
    latest: dict[str, Any] = dict(trigger_mode="always_last", **private)
    # Dragging t: only x_t, the formula and the histogram change (two events, so x_t is
    # not held back by matplotlib; stale drags are dropped). Bad input is reported once, in
    # the status line, by `prepare`; these events then leave their outputs as they are.
    w.t.change(
        guarded(quiet_forward_view),
        inputs,
        [w.xt_img, w.formula],
        api_name="forward_view",
        queue=False,  # a few ms of work: skip the queue's round trips while dragging
        **latest,
    )
    w.t.change(guarded(quiet_histogram), inputs, w.hist, api_name="forward_histogram", **latest)
    # A new image, seed or schedule: validate once (one message on bad input), then refresh.
    # follow(): a deep link sets several of these at once, and a prepare fired by the first
    # (the schedule) must not read the example and seed of before the link.
    prep = follow(
        [w.upload.change, w.example.change, w.seed.change, *(c.change for c in panel.inputs)],
        guarded(prepare),
        inputs,
        [w.x0_img, w.eps_img, w.xt_img, w.info, w.t],
        api_name="forward_prepare",
        # one at a time: two prepares side by side could finish out of order
        concurrency_limit=1,
    )
    prep.success(quiet_forward_view, inputs, [w.xt_img, w.formula], api_name="forward_refresh", **private)
    prep.success(guarded(quiet_histogram), inputs, w.hist, api_name="forward_refresh_histogram", **private)
    prep.success(
        quiet_chain,
        chain_inputs,
        [w.strip, w.chain_md],
        api_name="forward_chain",
        api_visibility="private",
        show_progress="minimal",
    )
    w.reseed.click(random_seed, None, w.seed, api_name="forward_reseed", api_visibility="private")
    w.example.input(clear_upload, None, w.upload, api_name="forward_use_example", api_visibility="private")
    keys.wire_play(w.play, chain_inputs, guarded(quiet_play))  # ▶ Play: one download, drawn in the browser


def _wire_api(example0: str | None) -> None:
    """Public API: hidden, unbounded inputs so that the checks and messages are ours."""
    with gr.Group(visible=False):
        api_image = gr.File(label="image", type="filepath")
        api_t = gr.Number(DEFAULT_T, label="t")
        api_schedule = gr.Textbox("linear", label="schedule")
        api_seed = gr.Number(DEFAULT_SEED, label="seed")
        api_example = gr.Textbox(example0, label="example")
        api_beta_start = gr.Number(SCHEDULE.default_beta_start, label="beta_start")
        api_beta_end = gr.Number(SCHEDULE.default_beta_end, label="beta_end")
        api_T = gr.Number(SCHEDULE.default_T, label="T")
        api_md = gr.Markdown()
        api_xt, api_x0, api_eps, api_strip = (
            gr.Image(type="pil", format="png", label=n) for n in ("x_t", "x_0", "eps", "chain")
        )
    api_common = [api_schedule, api_seed, api_example, api_beta_start, api_beta_end, api_T]
    gr.on(
        [],
        guarded(forward_api),
        [api_image, api_t, *api_common],
        [api_xt, api_x0, api_eps, api_md],
        api_name="forward",
        api_description=(
            "x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps for an uploaded image (or a shipped "
            f"example when image is None). schedule: one of {', '.join(SCHEDULE_NAMES)}; t in [0, T]; "
            "returns x_t, x_0, eps and the formula (Markdown) with the numbers substituted."
        ),
    )
    gr.on(
        [],
        guarded(chain_api),
        [api_image, *api_common],
        [api_strip, api_md],
        api_name="chain",
        api_description=(
            "The forward Markov chain iterated step by step (top row) next to the closed form (bottom "
            "row) at 9 evenly spaced t, and a Markdown table comparing their noise levels."
        ),
    )
