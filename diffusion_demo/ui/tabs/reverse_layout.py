"""The reverse tab's widgets, in two groups (no handlers: reverse.py wires them).

May import config, diffusion, media and the ui helpers; imports nothing of reverse.py.
"""

from __future__ import annotations

from typing import NamedTuple

import gradio as gr

from ...config import DIGIT_CHOICES, GUIDANCE, REVERSE
from ...diffusion.samplers import DEFAULT_SAMPLER, SAMPLERS
from ...diffusion.sampling import initial_noise, is_conditional
from ...media import plots_quality, plots_sigma
from ...media.chains import tensor_frame
from ...media.equations import LATEX_DELIMITERS
from .. import export_buttons as downloads
from ..common import UIContext, figure_image, frame_image, guidance_controls, sampler_menu
from .decision import Strip, sample_slider, strip
from .texts import UNCONDITIONAL_NOTE

# The status before a run (and again after a run refused or stopped in the queue).
IDLE = "Press **Generate**."


class Controls(NamedTuple):
    """The left column: the run's settings and its buttons."""

    sampler: gr.Radio
    steps: gr.Slider
    num_samples: gr.Slider
    seed: gr.Number
    eta: gr.Slider
    digit: gr.Dropdown
    guidance: gr.Slider
    generate: gr.Button
    stop: gr.Button
    compare: gr.Button
    compare_w: gr.Button


class Outputs(NamedTuple):
    """The right column: the live frames, the replay scrubber, the comparisons and the chart."""

    status: gr.Markdown
    x_t: gr.Image
    x0: gr.Image
    eps: gr.Image
    direction: gr.Image
    formula: gr.Markdown
    scrub: gr.Slider
    decision: Strip
    decision_sample: gr.Slider
    download_row: downloads.DownloadRow
    cmp_imgs: list[gr.Image]
    w_imgs: list[gr.Image]
    chart: gr.Image
    sigma_chart: gr.Image


def noise_frame(ctx: UIContext, num_samples: int = REVERSE.default_samples, seed: int = 0):
    """x_T ~ N(0, I) of this seed, where the next run starts: the x_t frame's picture before any
    run, so that the tab (and a lecture scene on it) opens on a picture. No network call."""
    shape = ctx.denoiser.sample_shape if ctx.denoiser is not None else (1, 28, 28)
    return tensor_frame(initial_noise((num_samples, *shape), seed).clamp(-1, 1))


def controls(ctx: UIContext) -> Controls:
    """Generate / Stop, the settings, the Digit/Guidance pair (disabled for an unconditional model)
    and the comparison buttons."""
    # The main action first: on a projector or in an embed it must be on the first screen.
    with gr.Row():
        generate = gr.Button("Generate", variant="primary", elem_id="reverse-generate")
        stop = gr.Button("Stop", variant="stop", elem_id="reverse-stop")
    sampler = sampler_menu("reverse-sampler")
    steps = gr.Slider(
        1, REVERSE.max_steps, value=REVERSE.default_steps, step=1, label="Steps", elem_id="reverse-steps"
    )
    num_samples = gr.Slider(
        1,
        REVERSE.max_samples,
        value=REVERSE.default_samples,
        step=1,
        label="Samples",
        elem_id="reverse-samples",
    )
    seed = gr.Number(0, label="Seed", precision=0, minimum=0, elem_id="reverse-seed")
    eta = gr.Slider(0.0, 1.0, value=0.0, step=0.05, label="DDIM η (0 = deterministic)", elem_id="reverse-eta")
    conditional = ctx.denoiser is not None and is_conditional(ctx.denoiser)
    digit, guidance = guidance_controls(
        DIGIT_CHOICES,
        "Digit (any: a label per sample from the seed; each: 0 … 9)",
        "Guidance w (0 = unconditional, 1 = conditional)",
        "reverse-digit",
        "reverse-guidance",
        conditional,
    )
    if ctx.denoiser is not None and not conditional:
        gr.Markdown(UNCONDITIONAL_NOTE, elem_id="reverse-unconditional-note")
    compare = gr.Button("Same seed, every sampler", elem_id="reverse-compare")
    compare_w = gr.Button("Same seed, several w", elem_id="reverse-compare-w")
    return Controls(
        sampler, steps, num_samples, seed, eta, digit, guidance, generate, stop, compare, compare_w
    )


def outputs(ctx: UIContext) -> Outputs:
    """The status, the four live frames, the scrubber, the downloads, the comparisons, the chart."""
    status = gr.Markdown(ctx.checkpoint_error or IDLE, elem_id="reverse-status")
    # reverse-frames: laid out as one big x_t and three small frames in projector and embed modes (theme.CSS)
    with gr.Row(elem_id="reverse-frames"):
        x_t = frame_image("x_t (the chain)", "reverse-xt", 300, noise_frame(ctx))
        x0 = frame_image("x̂_0 (the network's guess)", "reverse-x0", 300)
        eps = frame_image("ε̂ (predicted noise)", "reverse-eps", 300)
        direction = frame_image("ε̂_y − ε̂_∅ (guidance direction)", "reverse-direction", 300)
    formula = gr.Markdown(latex_delimiters=LATEX_DELIMITERS, elem_id="reverse-formula")
    scrub = gr.Slider(
        0, 1, value=0, step=1, label="Replay a step (after a run)", interactive=False, elem_id="reverse-scrub"
    )
    with gr.Row(elem_id="reverse-decision-row"):
        with gr.Column(scale=3, min_width=320):
            decision = strip("reverse-decision")
        with gr.Column(scale=1, min_width=200):
            decision_sample = sample_slider()
    download_row = downloads.reverse_row()
    cmp_imgs = []
    ids = list(SAMPLERS)
    for row in (ids[: (len(ids) + 1) // 2], ids[(len(ids) + 1) // 2 :]):  # two rows: fits 1280 px
        with gr.Row():
            cmp_imgs += [frame_image(SAMPLERS[s].label, f"compare-{s}", 200) for s in row]
    with gr.Row():
        w_imgs = [frame_image(f"w = {w:g}", f"compare-w{i}", 200) for i, w in enumerate(GUIDANCE.compare_ws)]
    chart = figure_image(
        "Steps vs quality (shipped model; the star marks this run's settings)",
        "reverse-quality",
        plots_quality.quality_chart(
            plots_quality.load_quality(), DEFAULT_SAMPLER, REVERSE.default_steps, GUIDANCE.default_w
        ),
    )
    sigma_chart = figure_image(
        "Where the steps fall: DDPM's t and σ = √((1−ᾱ)/ᾱ); uniform vs Karras spacing",
        "reverse-sigma",
        None
        if ctx.denoiser is None
        else plots_sigma.steps_chart(ctx.denoiser.scheduler_config, DEFAULT_SAMPLER, REVERSE.default_steps),
    )
    return Outputs(
        status,
        x_t,
        x0,
        eps,
        direction,
        formula,
        scrub,
        decision,
        decision_sample,
        download_row,
        cmp_imgs,
        w_imgs,
        chart,
        sigma_chart,
    )
