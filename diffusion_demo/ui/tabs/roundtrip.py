"""Tab 4: off the data manifold and back — noise a real digit to level t, then denoise it.

Owns the tab's layout and its named handlers (/roundtrip, /roundtrip_sketch, /roundtrip_curve);
the round trip itself is diffusion.roundtrip, the texts texts.py. May import config,
diffusion, media, models and the ui helpers.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import gradio as gr
import torch
from PIL import Image

from ...config import DIGIT_CHOICES, GUIDANCE, MODEL, REVERSE
from ...diffusion.forward import check_t
from ...diffusion.roundtrip import distance_curve, round_trip, start, trained_spec
from ...diffusion.samplers import DEFAULT_SAMPLER
from ...diffusion.sampling import ReverseRequest, is_conditional, validate_request
from ...media import plots_roundtrip
from ...media.chains import tensor_frame
from ...media.decision import shipped_classifier
from ...media.equations import LATEX_DELIMITERS, forward_md
from ...media.images import digit_examples, load_image, to_digit, to_uint8, upload_digit
from ...media.sketch import editor_canvas, sketch_tensor
from ...models import unet
from .. import export_buttons
from ..common import (
    CHAINS,
    UIContext,
    bind,
    digit_sketchpad,
    follow,
    frame_image,
    guarded,
    guidance_controls,
    sampler_menu,
)
from ..frames import Throttle, sharers
from .decision import Strip, roundtrip_decision, strip
from .explain import explain
from .texts import ROUNDTRIP_EXPLAIN as EXPLAIN
from .texts import SKETCH_EXPLAIN, SKETCH_VERDICTS

CURVE_TS = (0, 50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000)
CURVE_SEEDS = (0, 1, 2, 3)
# The example shown first (the shipped assets/examples/digit-3.png).
FIRST_EXAMPLE = "digit-3"


def label(x: torch.Tensor) -> tuple[list[int], list[float]] | None:
    """Classifier labels and confidences of digits (N, 1, 28, 28) in [-1, 1] (None without
    the classifier: the round trip still works, minus the labels)."""
    clf = shipped_classifier()
    if isinstance(clf, str):
        return None
    pred = clf.predict(((x + 1) / 2).clamp(0, 1))
    return pred.labels.tolist(), pred.confidence.tolist()


def load_digit(example: str | None, upload: str | None) -> tuple[torch.Tensor, str]:
    """The digit (1, 28, 28) in [-1, 1]: the upload if there is one (a 28×28 one as it is), else
    the shipped example; and, for an upload, a sentence for the status saying how it was read."""
    if upload:
        x0, how = upload_digit(load_image(upload), MODEL.sample_size)
        return x0, f" Your upload: {how}."
    digits = digit_examples()
    if example not in digits:
        raise ValueError(f"Unknown example {example!r}: expected one of {', '.join(digits)}.")
    return to_digit(load_image(digits[example]), MODEL.sample_size), ""


def roundtrip(
    ctx: UIContext,
    image: str | None,
    t: float,
    seed: float,
    example: str | None = FIRST_EXAMPLE,
    sampler: str = DEFAULT_SAMPLER,
    steps: float = 100,
):
    """Noise the digit to level t with q(x_t | x_0), then run the learned chain back to x_0."""
    request = validate_request(sampler, steps, 1, seed, guidance=0.0)  # the unconditional model
    x0, how = load_digit(example, image)
    yield from chain_back(ctx, x0[None], t, request, "x_0", how)


def start_frames(
    ctx: UIContext,
    image: str | None,
    t: float,
    seed: float,
    example: str | None = FIRST_EXAMPLE,
    sampler: str = DEFAULT_SAMPLER,
    steps: float = 100,
) -> tuple[Image.Image | None, Image.Image | None]:
    """(x_0, x_t) before any run: the digit, and where Round trip will start from it at this
    t, seed and sampler (the forward chain only: no network). None where it cannot be shown:
    a bad value (Round trip itself says what is wrong), or no model (the status says why)."""
    try:
        x0 = load_digit(example, image)[0][None]
    except ValueError:
        return None, None
    try:
        request = validate_request(sampler, steps, 1, seed, guidance=0.0)
        t = check_t(t, trained_spec(ctx.denoiser).T)
        if ctx.denoiser is None:
            return tensor_frame(x0), None
        x_t = start(ctx.denoiser, x0, t, request)[0] if t else x0
    except ValueError:  # (also t below the sampler's first step)
        return tensor_frame(x0), None
    return tensor_frame(x0), tensor_frame(x_t)


def preview(
    ctx: UIContext,
    image: str | None,
    t: float,
    seed: float,
    example: str | None = FIRST_EXAMPLE,
    sampler: str = DEFAULT_SAMPLER,
    steps: float = 100,
) -> tuple:
    """The x_0 and x_t frames follow the settings (start_frames); what cannot be shown stays."""
    frames = start_frames(ctx, image, t, seed, example, sampler, steps)
    return tuple(gr.skip() if frame is None else frame for frame in frames)


def roundtrip_sketch(
    ctx: UIContext,
    sketch: object,
    t: float = 400,
    seed: float = 0,
    sampler: str = DEFAULT_SAMPLER,
    steps: float = 100,
    digit: str = "any",
    guidance: float = GUIDANCE.default_w,
):
    """SDEdit: your drawing (MNIST-style: cropped, fitted into 20×20, centred by mass),
    noised to level t and brought back by the chain — steered to `digit` unless it is any."""
    canvas = editor_canvas(sketch)
    if canvas is None:
        raise ValueError("sketch is empty: draw a digit (white strokes on black) first.")
    x0 = sketch_tensor(canvas)[None]
    w = guidance if digit != "any" else 0.0  # "any": no target, the unconditional model
    request = validate_request(sampler, steps, 1, seed, digit=digit, guidance=w)
    yield from chain_back(ctx, x0, t, request, "your drawing")


def chain_back(ctx: UIContext, x0: torch.Tensor, t: float, request: ReverseRequest, what: str, how: str = ""):
    """Stream (reconstruction, x_0, x_t, status, formula, trip): x_0 pushed to level t, then
    back; `trip` (for the decision strip, last) holds each step's x̂_0 as uint8; `how` (how an
    upload was read) ends the last status."""
    spec = trained_spec(ctx.denoiser)  # the model's own schedule: noise exactly as in training
    t = check_t(t, spec.T)
    denoiser = ctx.require_model()
    if t == 0:
        yield tensor_frame(x0), tensor_frame(x0), tensor_frame(x0), "t = 0: nothing to undo." + how, "", None
        return
    # 1. x_t ~ q(x_t | x_0) (eq. 4 of Ho et al. 2020) at the sampler's first timestep ≤ t
    x_t, timestep, chain = round_trip(denoiser, x0, t, request)
    start, throttle = time.perf_counter(), Throttle(sharing=sharers(denoiser))
    eq = forward_md(spec, timestep + 1)
    trip = {"x0": to_uint8(x0[0]), "start_t": timestep + 1, "x0_hats": [], "steps": [], "ts": []}
    # 2. the learned reverse chain from x_t, its guess x̂_0 streamed (and kept for the strip)
    for record in chain:
        trip["x0_hats"].append(to_uint8(record.pred_original_sample[0]))
        trip["steps"].append(record.index + 1)
        trip["ts"].append(record.t + 1)
        if throttle(record):
            begun = time.perf_counter()
            yield (
                tensor_frame(record.pred_original_sample),
                tensor_frame(x0),
                tensor_frame(x_t),
                f"step {record.index + 1}/{record.num_steps} · t = {record.t + 1}",
                eq,
                gr.skip(),
            )
            throttle.spent(time.perf_counter() - begun)
    # 3. how far it came back, and as which digit
    out = record.prev_sample.clamp(-1, 1)
    dist = float(((out - x0) / 2).pow(2).mean().sqrt())
    msg = (
        f"Started at t = {timestep + 1}, {record.num_steps} steps back, "
        f"{time.perf_counter() - start:.2f} s. RMS distance to {what}: **{dist:.3f}**."
    )
    msg += verdict(x0, out, what, float(eq.numbers.sqrt_alpha_bar), request) + how
    yield tensor_frame(out), tensor_frame(x0), tensor_frame(x_t), msg, eq, trip


def verdict(x0: torch.Tensor, out: torch.Tensor, what: str, signal: float, request: ReverseRequest) -> str:
    """The status's ending: the classifier's reading of both digits and, for a drawing, what
    survives at this signal level sqrt(ᾱ_t) and where the chain was steered."""
    msg = ""
    labels = label(torch.cat([x0, out]))
    if labels:
        (a, b), (ca, cb) = labels
        same = "the same digit" if a == b else "a **different** digit"
        msg += f" The classifier reads {what} as **{a}** ({ca:.0%}) and the reconstruction as **{b}** ({cb:.0%}): {same}."
    if what != "x_0":
        msg += " " + next(text for level, text in SKETCH_VERDICTS if signal >= level)
        if request.digit != "any":
            msg += f" Steered towards a {request.digit} with w = {request.guidance:g}."
    return msg


def measure(
    ctx: UIContext,
    image: str | None,
    seed: float,
    example: str | None = FIRST_EXAMPLE,
    sampler: str = DEFAULT_SAMPLER,
    steps: float = 100,
):
    """RMS distance of the reconstruction from x_0 over t, for several seeds; where identity is lost."""
    request = validate_request(sampler, steps, 1, seed, guidance=0.0)  # the unconditional model
    denoiser = ctx.require_model()
    x0, how = load_digit(example, image)
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
    text += how
    fig = plots_roundtrip.distance_figure(list(CURVE_TS), dists, lost_t)
    return fig, text


class Settings(NamedTuple):
    """The digit, the noise level and the sampler, with the two buttons that use them."""

    example: gr.Dropdown
    upload: gr.File
    t: gr.Slider
    seed: gr.Number
    sampler: gr.Radio
    steps: gr.Slider
    run: gr.Button
    curve_run: gr.Button


class Drawing(NamedTuple):
    """The sketchpad, its target digit and guidance, and its button."""

    sketch: gr.Sketchpad
    target: gr.Dropdown
    target_w: gr.Slider
    run: gr.Button


class Outputs(NamedTuple):
    """The status, the three images, the formula and the distance curve."""

    status: gr.Markdown
    recon: gr.Image
    x0: gr.Image
    x_t: gr.Image
    formula: gr.Markdown
    decision: Strip
    curve: gr.Image
    curve_text: gr.Markdown


def settings() -> Settings:
    """The left column's first group: digit, t and the buttons, then upload, seed, sampler and steps."""
    digits = digit_examples()
    first = next(iter(digits), None)
    example = gr.Dropdown(list(digits), value=first, label="Digit", elem_id="roundtrip-example")
    t = gr.Slider(0, 1000, value=400, step=1, label="Noise level t", elem_id="roundtrip-t")
    # The main action right under what it acts on: on the first screen of a projector or an embed.
    run = gr.Button("Round trip", variant="primary", elem_id="roundtrip-run")
    curve_run = gr.Button("Measure distance over t", elem_id="roundtrip-curve-run")
    upload = gr.File(label="…or upload a digit image", file_types=["image"], elem_id="roundtrip-upload")
    seed = gr.Number(0, label="Seed", precision=0, minimum=0, elem_id="roundtrip-seed")
    sampler = sampler_menu("roundtrip-sampler")
    steps = gr.Slider(
        1, REVERSE.max_steps, value=100, step=1, label="Steps (over the full 1000)", elem_id="roundtrip-steps"
    )
    return Settings(example, upload, t, seed, sampler, steps, run, curve_run)


def drawing(ctx: UIContext) -> Drawing:
    """The accordion to draw a digit in, with its target (disabled for an unconditional model)."""
    with gr.Accordion("Draw a digit and bring it back", open=True, elem_id="roundtrip-draw"):
        gr.Markdown(SKETCH_EXPLAIN)
        sketch = digit_sketchpad("Your digit", "roundtrip-sketch")
        target, target_w = guidance_controls(
            DIGIT_CHOICES[:11],
            "Bring it back as (any = itself)",
            "Guidance w towards the target",
            "roundtrip-target",
            "roundtrip-target-guidance",
            ctx.denoiser is not None and is_conditional(ctx.denoiser),
        )
        run = gr.Button("Round trip of my drawing", variant="primary", elem_id="roundtrip-sketch-run")
    return Drawing(sketch, target, target_w, run)


def outputs(ctx: UIContext, s: Settings) -> Outputs:
    """The right column; its download row re-runs the round trip with the settings `s`."""
    status = gr.Markdown(
        ctx.checkpoint_error or "Pick a digit and a noise level, then **Round trip**.",
        elem_id="roundtrip-status",
    )
    # roundtrip-frames: one big reconstruction and two small frames in projector and embed modes (theme.CSS)
    # x_0 and x_t show at once (preview): a first screen with the digit on it
    first = start_frames(ctx, None, s.t.value, s.seed.value, s.example.value, s.sampler.value, s.steps.value)
    with gr.Row(elem_id="roundtrip-frames"):
        recon = frame_image("reconstruction (x_0 again?)", "roundtrip-recon", 260)
        x0 = frame_image("x_0 (the digit)", "roundtrip-x0", 260, first[0])
        x_t = frame_image("x_t (pushed off the manifold)", "roundtrip-xt", 260, first[1])
    formula = gr.Markdown(latex_delimiters=LATEX_DELIMITERS, elem_id="roundtrip-formula")
    decision = strip("roundtrip-decision")
    export_buttons.roundtrip_row(ctx, [s.upload, s.t, s.seed, s.example, s.sampler, s.steps])
    curve = gr.Image(
        label="distance from x_0 vs t", format="png", interactive=False, elem_id="roundtrip-curve"
    )
    curve_text = gr.Markdown(elem_id="roundtrip-curve-text")
    return Outputs(status, recon, x0, x_t, formula, decision, curve, curve_text)


def build(ctx: UIContext) -> None:
    """Lay out the tab, register its deep links and wire its handlers."""
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            s = settings()
            d = drawing(ctx)
        with gr.Column(scale=3):
            o = outputs(ctx, s)
    with explain("roundtrip"):
        gr.Markdown(EXPLAIN)
    ctx.links.update(
        {
            "roundtrip_t": s.t,
            "roundtrip_example": s.example,
            "roundtrip_seed": s.seed,
            "roundtrip_sampler": s.sampler,
            "roundtrip_steps": s.steps,
        }
    )
    settings_in = [s.upload, s.t, s.seed, s.example, s.sampler, s.steps]
    follow([c.change for c in settings_in], bind(preview, ctx), settings_in, [o.x0, o.x_t])  # no network
    trip = gr.State(None, time_to_live=900)
    shown = [o.recon, o.x0, o.x_t, o.status, o.formula, trip]
    read_trip = {"fn": guarded(roundtrip_decision), "inputs": trip, "outputs": list(o.decision)}
    s.run.click(
        unet.gpu(guarded(bind(roundtrip, ctx))),
        [s.upload, s.t, s.seed, s.example, s.sampler, s.steps],
        shown,
        api_name="roundtrip",
        **CHAINS,
        show_progress="minimal",
    ).success(api_name="roundtrip_decision", show_progress="hidden", **read_trip)
    d.run.click(
        unet.gpu(guarded(bind(roundtrip_sketch, ctx))),
        [d.sketch, s.t, s.seed, s.sampler, s.steps, d.target, d.target_w],
        shown,
        api_name="roundtrip_sketch",
        **CHAINS,
        show_progress="minimal",
    ).success(api_visibility="private", show_progress="hidden", **read_trip)
    s.curve_run.click(
        unet.gpu(guarded(bind(measure, ctx))),
        [s.upload, s.seed, s.example, s.sampler, s.steps],
        [o.curve, o.curve_text],
        api_name="roundtrip_curve",
        **CHAINS,
    )
