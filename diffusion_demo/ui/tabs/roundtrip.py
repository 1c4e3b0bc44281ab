"""Tab 4: off the data manifold and back — noise a real digit to level t, then denoise it."""

from __future__ import annotations

import time
from functools import lru_cache

import gradio as gr
import numpy as np
import torch

from ...config import DIGIT_CHOICES, GUIDANCE, MODEL, REVERSE, SAMPLER_NAMES
from ...diffusion.forward import check_t
from ...diffusion.roundtrip import distance_curve, round_trip
from ...diffusion.sampling import is_conditional, validate_request
from ...diffusion.schedules import ScheduleSpec
from ...media import plots_roundtrip
from ...media.equations import LATEX_DELIMITERS, forward_md
from ...media.images import digit_examples, fit, load_image, to_digit
from ...media.sketch import editor_canvas, sketch_tensor
from ...models import unet
from .. import downloads
from ..common import HEAVY, UIContext, frame_image, guarded, guidance_controls
from ..frames import Throttle, tensor_frame

EXPLAIN = """
### Off the data manifold, and a trajectory back
Real digits live on a thin "manifold" inside the space of all 28×28 images. The forward
chain pushes a digit **off** it: at level t it is x_t = √ᾱ_t x_0 + √(1-ᾱ_t) ε. The reverse
chain then draws a **trajectory back** onto the manifold. For small t the way back leads to
the same digit; past some t the noise has erased its identity, and the chain lands on a
*different* — but still real-looking — digit.

This is the VAE picture from the blog: the forward chain is the **encoder**, but it is fixed
(nothing to train); only the reverse chain, the **decoder**, is learned.
"""

SKETCH_EXPLAIN = (
    "**Draw a digit** (white on black) and bring it back from level t (SDEdit, Meng et al. 2022): "
    "small t keeps your scribble's wobbles, larger t redraws it as a clean digit, very large t "
    "forgets it. With a target digit the way back is steered: draw a 3, bring it back as an 8."
)
# Where a drawing's round trip lands, by how much of x_0 is left in x_t (sqrt(ᾱ_t)).
SKETCH_VERDICTS = (
    (0.8, "Small t: most of the drawing survives, wobbles and all — the chain only polishes it."),
    (
        0.3,
        "Medium t: the strokes' layout survives, the details are redrawn — a clean digit of the same shape.",
    ),
    (
        0.0,
        "Large t: almost nothing of the drawing is left — the chain lands on whatever digit the noise suggests.",
    ),
)

# The model's own schedule: the round trip must noise exactly as it was trained.
TRAINED = ScheduleSpec("linear", 1e-4, 0.02, 1000)
CURVE_TS = (0, 50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000)
CURVE_SEEDS = (0, 1, 2, 3)


@lru_cache(maxsize=1)
def _classifier():
    """The project's digit classifier (assets/classifier), or None if it is not shipped."""
    try:
        from ...models.classifier import load

        return load()
    except Exception:  # the round trip still works without it, minus the labels
        return None


def label(x: torch.Tensor) -> tuple[list[int], list[float]] | None:
    """Classifier labels and confidences of digits (N, 1, 28, 28) in [-1, 1]."""
    clf = _classifier()
    if clf is None:
        return None
    pred = clf.predict(((x + 1) / 2).clamp(0, 1))
    return pred.labels.tolist(), pred.confidence.tolist()


def build(ctx: UIContext) -> None:
    gr.Markdown(EXPLAIN)
    digits = digit_examples()
    first = next(iter(digits), None)
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            example = gr.Dropdown(list(digits), value=first, label="Digit", elem_id="roundtrip-example")
            upload = gr.File(
                label="…or upload a digit image", file_types=["image"], elem_id="roundtrip-upload"
            )
            t = gr.Slider(0, 1000, value=400, step=1, label="Noise level t", elem_id="roundtrip-t")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, elem_id="roundtrip-seed")
            sampler = gr.Radio(
                list(SAMPLER_NAMES), value="ddim", label="Sampler", elem_id="roundtrip-sampler"
            )
            steps = gr.Slider(
                1,
                REVERSE.max_steps,
                value=100,
                step=1,
                label="Steps (over the full 1000)",
                elem_id="roundtrip-steps",
            )
            run = gr.Button("Round trip", variant="primary", elem_id="roundtrip-run")
            curve_btn = gr.Button("Measure distance over t", elem_id="roundtrip-curve-run")
            with gr.Accordion("Draw a digit and bring it back", open=True, elem_id="roundtrip-draw"):
                gr.Markdown(SKETCH_EXPLAIN)
                sketch = gr.Sketchpad(
                    value=np.zeros((280, 280, 3), np.uint8),
                    label="Your digit (white on black)",
                    canvas_size=(280, 280),
                    fixed_canvas=True,
                    brush=gr.Brush(
                        colors=["#ffffff"], default_color="#ffffff", color_mode="fixed", default_size=12
                    ),
                    format="png",
                    elem_id="roundtrip-sketch",
                )
                conditional = ctx.denoiser is not None and is_conditional(ctx.denoiser)
                target, target_w = guidance_controls(
                    DIGIT_CHOICES[:11],
                    "Bring it back as (any = itself)",
                    "Guidance w towards the target",
                    "roundtrip-target",
                    "roundtrip-target-guidance",
                    conditional,
                )
                sketch_run = gr.Button(
                    "Round trip of my drawing", variant="primary", elem_id="roundtrip-sketch-run"
                )
        with gr.Column(scale=3):
            status = gr.Markdown(
                ctx.checkpoint_error or "Pick a digit and a noise level, then **Round trip**.",
                elem_id="roundtrip-status",
            )
            with gr.Row():
                recon = frame_image("reconstruction (x_0 again?)", "roundtrip-recon", 260)
                x0_img = frame_image("x_0 (the digit)", "roundtrip-x0", 260)
                xt_img = frame_image("x_t (pushed off the manifold)", "roundtrip-xt", 260)
            formula = gr.Markdown(latex_delimiters=LATEX_DELIMITERS, elem_id="roundtrip-formula")
            downloads.roundtrip_row(ctx, [upload, t, seed, example, sampler, steps])
            curve = gr.Image(
                label="distance from x_0 vs t", format="png", interactive=False, elem_id="roundtrip-curve"
            )
            curve_text = gr.Markdown(elem_id="roundtrip-curve-text")
    ctx.links.update(
        {
            "roundtrip_t": t,
            "roundtrip_example": example,
            "roundtrip_seed": seed,
            "roundtrip_sampler": sampler,
            "roundtrip_steps": steps,
        }
    )

    def digit(example_name, upload_path) -> torch.Tensor:
        if upload_path:
            return to_digit(fit(load_image(upload_path), 256), MODEL.sample_size)
        if example_name not in digits:
            raise ValueError(f"Unknown example {example_name!r}: expected one of {', '.join(digits)}.")
        return to_digit(load_image(digits[example_name]), MODEL.sample_size)

    def require_model():
        if ctx.denoiser is None:
            raise unet.CheckpointError(ctx.checkpoint_error or "No model loaded.")
        return ctx.denoiser

    @guarded
    def roundtrip(image, t, seed, example=first, sampler="ddim", steps=100):
        """Noise the digit to level t with q(x_t | x_0), then run the learned chain back to x_0."""
        request = validate_request(sampler, steps, 1, seed, guidance=0.0)  # the unconditional model
        x0 = digit(example, image)[None]
        yield from _roundtrip(x0, t, request, "x_0")

    @guarded
    def roundtrip_sketch(
        sketch, t=400, seed=0, sampler="ddim", steps=100, digit="any", guidance=GUIDANCE.default_w
    ):
        """SDEdit: your drawing (MNIST-style: cropped, fitted into 20×20, centred by mass),
        noised to level t and brought back by the chain — steered to `digit` unless it is any."""
        canvas = editor_canvas(sketch)
        if canvas is None:
            raise ValueError("sketch is empty: draw a digit (white strokes on black) first.")
        x0 = sketch_tensor(canvas)[None]
        w = guidance if digit != "any" else 0.0  # "any": no target, the unconditional model
        request = validate_request(sampler, steps, 1, seed, digit=digit, guidance=w)
        yield from _roundtrip(x0, t, request, "your drawing")

    def _roundtrip(x0, t, request, what):
        t = check_t(t, TRAINED.T)
        denoiser = require_model()
        if t == 0:
            yield tensor_frame(x0), tensor_frame(x0), tensor_frame(x0), "t = 0: nothing to undo.", ""
            return
        x_t, timestep, chain = round_trip(denoiser, x0, t, request)
        start, throttle = time.perf_counter(), Throttle()
        eq = forward_md(TRAINED, timestep + 1)
        for record in chain:
            if throttle(record):
                begun = time.perf_counter()
                yield (
                    tensor_frame(record.pred_original_sample),
                    tensor_frame(x0),
                    tensor_frame(x_t),
                    f"step {record.index + 1}/{record.num_steps} · t = {record.t + 1}",
                    eq,
                )
                throttle.spent(time.perf_counter() - begun)
        out = record.prev_sample.clamp(-1, 1)
        dist = float(((out - x0) / 2).pow(2).mean().sqrt())
        msg = (
            f"Started at t = {timestep + 1}, {record.num_steps} steps back, "
            f"{time.perf_counter() - start:.2f} s. RMS distance to {what}: **{dist:.3f}**."
        )
        labels = label(torch.cat([x0, out]))
        if labels:
            (a, b), (ca, cb) = labels
            verdict = "the same digit" if a == b else "a **different** digit"
            msg += f" The classifier reads {what} as **{a}** ({ca:.0%}) and the reconstruction as **{b}** ({cb:.0%}): {verdict}."
        if what != "x_0":
            signal = float(eq.numbers.sqrt_alpha_bar)
            msg += " " + next(text for level, text in SKETCH_VERDICTS if signal >= level)
            if request.digit != "any":
                msg += f" Steered towards a {request.digit} with w = {request.guidance:g}."
        yield tensor_frame(out), tensor_frame(x0), tensor_frame(x_t), msg, eq

    @guarded
    def measure(image, seed, example=first, sampler="ddim", steps=100):
        """RMS distance of the reconstruction from x_0 over t, for several seeds; where identity is lost."""
        request = validate_request(sampler, steps, 1, seed, guidance=0.0)  # the unconditional model
        denoiser = require_model()
        x0 = digit(example, image)
        seeds = [int(request.seed) + s for s in CURVE_SEEDS]
        dists, recons = distance_curve(denoiser, x0, list(CURVE_TS), seeds, request)
        lost_t, text = None, "Distance grows with t: the further off the manifold, the less of x_0 survives."
        labels = label(torch.cat([x0[None], recons.flatten(0, 1)]))
        if labels:
            own, rest = labels[0][0], torch.tensor(labels[0][1:]).view(len(CURVE_TS), len(seeds))
            same = (rest == own).float().mean(dim=1)
            lost = [t for t, s in zip(CURVE_TS, same.tolist(), strict=True) if s < 0.5]
            lost_t = lost[0] if lost else None
            text += (
                f" The digit's identity (classifier: {own}) is lost from about **t = {lost_t}** on "
                "(most seeds come back as another digit)."
                if lost_t is not None
                else " The digit kept its identity at every t tried."
            )
        fig = plots_roundtrip.distance_figure(list(CURVE_TS), dists, lost_t)
        return fig, text

    inputs = [upload, t, seed, example, sampler, steps]
    run.click(
        unet.gpu(roundtrip),
        inputs,
        [recon, x0_img, xt_img, status, formula],
        api_name="roundtrip",
        **HEAVY,
        show_progress="minimal",
    )
    sketch_run.click(
        unet.gpu(roundtrip_sketch),
        [sketch, t, seed, sampler, steps, target, target_w],
        [recon, x0_img, xt_img, status, formula],
        api_name="roundtrip_sketch",
        **HEAVY,
        show_progress="minimal",
    )
    curve_btn.click(
        unet.gpu(measure),
        [upload, seed, example, sampler, steps],
        [curve, curve_text],
        api_name="roundtrip_curve",
        **HEAVY,
    )
