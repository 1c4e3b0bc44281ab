"""Tab 6: fill in the missing part — RePaint streams 16 completions of a masked digit.

Owns the tab's layout and its named handlers (/inpaint, stop, the mask editor's preview);
RePaint itself is diffusion.inpaint, the texts texts.py. May import config, diffusion,
media, models and the ui helpers.
"""

from __future__ import annotations

import threading
import time
from typing import NamedTuple

import gradio as gr
import numpy as np
import torch
from PIL import Image

from ...config import DIGIT_CHOICES, GUIDANCE, INPAINT, MODEL
from ...diffusion.inpaint import check_mask, inpaint_chain, preset_mask, validate_inpaint
from ...diffusion.sampling import is_conditional
from ...media.equations import LATEX_DELIMITERS, repaint_md
from ...media.images import digit_examples, load_image, to_digit, upload_digit
from ...media.inpaint_export import completion, grid_image, masked_input
from ...media.sketch import SKETCH, canvas_gray, editor_canvas, mask_from_image, sketch_tensor
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
    white_brush,
)
from ..frames import Throttle, sharers
from .explain import explain
from .texts import INPAINT_EXPLAIN as EXPLAIN

PAINTED = "painted"
IDLE = "Pick a digit and a mask, then **Fill in**."
# The mask picked when the tab opens.
FIRST_MASK = "top"
# The canvas on which the digit to fill in may be drawn, and the mask painted: 10× the digit.
CANVAS = SKETCH.canvas


def load_digit(image: str | None, sketch: object, example: str | None) -> tuple[torch.Tensor, str]:
    """The digit (1, 28, 28) in [-1, 1] and where it came from: an upload wins, then a drawing
    with strokes on it, then the example."""
    if image:
        x0, how = upload_digit(load_image(image), MODEL.sample_size)  # a 28×28 upload as it is
        if float(x0.max()) < 2 * SKETCH.stroke_level - 1:  # nothing brighter than a faint stroke
            raise ValueError(
                "image has no strokes: upload a digit (dark strokes on light, or light on dark)."
            )
        return x0, f"your upload ({how})"
    canvas = editor_canvas(sketch)
    if canvas is not None and (canvas_gray(canvas) > SKETCH.stroke_level).any():
        return sketch_tensor(canvas), "your drawing"
    digits = digit_examples()
    if example not in digits:
        raise ValueError(f"Unknown example {example!r}: expected one of {', '.join(digits)}.")
    return to_digit(load_image(digits[example]), MODEL.sample_size), example


def painted_layer(value: object) -> Image.Image | None:
    """The painting of the mask editor (its layers, not the digit shown under them), as a
    white-on-black image; None when nothing was painted."""
    if not isinstance(value, dict):
        return None
    layers = [np.asarray(layer) for layer in value.get("layers") or [] if layer is not None]
    if not layers:
        return None
    alpha = np.zeros(layers[0].shape[:2], bool)
    for layer in layers:
        alpha |= layer[..., 3] > 0 if layer.ndim == 3 and layer.shape[2] == 4 else layer.max(-1) > 0
    return Image.fromarray((alpha * 255).astype(np.uint8)) if alpha.any() else None


def load_mask(mask: str, mask_image: str | None, painted: object) -> torch.Tensor:
    """1 = to fill: the API's mask image when one is given, else a preset, or (mask "painted")
    the editor's painting."""
    if mask_image:
        return check_mask(mask_from_image(load_image(mask_image), MODEL.sample_size))
    if mask in INPAINT.presets:
        return check_mask(preset_mask(mask, MODEL.sample_size))
    if mask != PAINTED:
        raise ValueError(f"Unknown mask {mask!r}: expected one of {', '.join((*INPAINT.presets, PAINTED))}.")
    source = painted_layer(painted)
    if source is None:
        raise ValueError(
            "mask is 'painted' but nothing was painted: paint the part to fill (white), or pick a preset."
        )
    return check_mask(mask_from_image(source, MODEL.sample_size))


def fill_in(
    ctx: UIContext,
    image: str | None,
    mask: str = "top",
    seed: float = 0,
    steps: float = INPAINT.default_steps,
    jumps: float = INPAINT.default_jumps,
    digit: str = "any",
    guidance: float = GUIDANCE.default_w,
    example: str | None = "digit-7",
    sketch: object = None,
    mask_image: str | None = None,
    painted: object = None,
    session: gr.Request = None,
):
    """RePaint: keep the unmasked pixels, let the chain fill the rest; 16 completions, streamed."""
    # a target digit steers with w; "any" is no target: the unconditional model
    request = validate_inpaint(steps, jumps, seed, digit, guidance if digit != "any" else 0.0)
    ctx.require_model()
    x0, source = load_digit(image, sketch, example)
    x0 = x0[None]
    fill = load_mask(mask, mask_image, painted)
    shown_input = grid_image(masked_input(x0, fill))
    stopped = _running[_key(session)] = threading.Event()
    try:
        yield from _stream(ctx.denoiser, x0, fill, request, shown_input, source, stopped)
    finally:
        _running.pop(_key(session), None)


def _stream(denoiser, x0, fill, request, shown_input, source, stopped):
    start, throttle, frames = time.perf_counter(), Throttle(sharing=sharers(denoiser)), []
    for n, record in enumerate(inpaint_chain(denoiser, x0, fill, request)):
        last = record.index == record.num_steps - 1
        if throttle(record) or last:
            begun = time.perf_counter()
            x_t = grid_image(record.prev_sample.clamp(-1, 1))
            frames.append((record.prev_t, record.down, np.asarray(x_t)))
            kind = "step down" if record.down else "jump up"
            yield (
                grid_image(completion(record, x0, fill)),
                x_t,
                shown_input,
                f"{kind} {record.index + 1}/{record.num_steps} · t = {record.prev_t + 1} · "
                f"{time.perf_counter() - start:.2f} s",
                repaint_md(denoiser.scheduler_config, record.t, record.prev_t, record.down, request.eta),
                # the stored frames (the download) are handed over once and filled as the run goes
                frames if n == 0 else gr.skip(),
            )
            throttle.spent(time.perf_counter() - begun)
        if stopped.is_set():
            return
    out = record.prev_sample.clamp(-1, 1)
    kept = (fill[0, 0] < 0.5).expand_as(out[:, 0])
    error = float((out[:, 0][kept] - x0[0, 0].expand_as(out[:, 0])[kept]).abs().max()) / 2
    yield (
        grid_image(out),
        gr.skip(),
        gr.skip(),
        f"**Done**: {request.num_samples} completions of {source}, {record.num_steps} entries "
        f"({request.steps} steps, r = {request.jumps}) in {time.perf_counter() - start:.2f} s. "
        f"Kept pixels within {error * 255:.2g}/255 of {_reference(source)}. Different completions = the "
        "model's uncertainty about the hidden part.",
        gr.skip(),
        frames,
    )


def _reference(source: str) -> str:
    """What the kept pixels were compared with: what the user gave, or its 28×28 version."""
    if source.startswith("your upload") and "used as it is" in source:
        return "your upload"
    if source.startswith("your"):
        return f"{source.split(' (')[0]} as 28×28"
    return f"the example {source}"


_running: dict[object, threading.Event] = {}


def _key(session: gr.Request | None) -> object:
    return getattr(session, "session_hash", None) or object()


def stop(session: gr.Request) -> None:
    """Stop: the session's fill-in ends after its current step."""
    if (flag := _running.get(getattr(session, "session_hash", None))) is not None:
        flag.set()


def preview(image: str | None, example: str | None) -> dict:
    """The digit under the mask editor, 10× (so the painting lines up with it)."""
    try:
        x0, _ = load_digit(image, None, example)
    except ValueError:
        return gr.skip()
    a = ((x0[0].clamp(-1, 1) + 1) * 127.5).round().byte().numpy()
    big = np.asarray(Image.fromarray(a).resize((CANVAS, CANVAS), Image.Resampling.NEAREST).convert("RGB"))
    return {"background": big, "layers": [], "composite": big}


def kept_frame(image: str | None, mask: str, example: str | None) -> Image.Image | None:
    """The digit with the part to fill in grey, before any run: what Fill in will keep. None
    on a bad value (Fill in itself says what is wrong) and for a painted mask or a drawing,
    which only Fill in reads (sending the editors' pictures at every change is too heavy)."""
    try:
        x0, _ = load_digit(image, None, example)
        fill = load_mask(mask, None, None)
    except ValueError:
        return None
    return grid_image(masked_input(x0[None], fill))


def kept_preview(image: str | None, mask: str, example: str | None) -> object:
    """The kept / to fill frame follows the digit and the mask (kept_frame); unchanged otherwise."""
    frame = kept_frame(image, mask, example)
    return gr.skip() if frame is None else frame


class Source(NamedTuple):
    """Where the digit comes from: an example, an upload or a drawing."""

    example: gr.Dropdown
    upload: gr.File
    sketch: gr.Sketchpad


class Settings(NamedTuple):
    """The mask, the chain's settings, the target digit and the two buttons."""

    mask: gr.Radio
    seed: gr.Number
    steps: gr.Slider
    jumps: gr.Slider
    digit: gr.Dropdown
    guidance: gr.Slider
    run: gr.Button
    halt: gr.Button


class Outputs(NamedTuple):
    """The status, the three grids, the mask editor, the formula and the run's stored frames."""

    status: gr.Markdown
    result: gr.Image
    x_t: gr.Image
    kept: gr.Image
    painted: gr.ImageEditor
    formula: gr.Markdown
    store: gr.State


def source_and_settings(first: str | None, conditional: bool) -> tuple[Source, Settings]:
    """The left column: the example dropdown, the settings with Fill in (on the first screen of a
    projector or an embed), then the upload and the sketchpad (the first that has a digit wins)."""
    example = gr.Dropdown(list(digit_examples()), value=first, label="Digit", elem_id="inpaint-example")
    s = settings(conditional)
    upload = gr.File(label="…or upload a digit", file_types=["image"], elem_id="inpaint-upload")
    sketch = digit_sketchpad("…or draw one", "inpaint-sketch")
    return Source(example, upload, sketch), s


def settings(conditional: bool) -> Settings:
    """Mask preset, Fill in / Stop, seed, steps, jumps and the Digit/Guidance pair."""
    mask = gr.Radio(
        [*INPAINT.presets, PAINTED], value=FIRST_MASK, label="Part to fill (white)", elem_id="inpaint-mask"
    )
    with gr.Row():
        run = gr.Button("Fill in", variant="primary", elem_id="inpaint-run")
        halt = gr.Button("Stop", variant="stop", elem_id="inpaint-stop")
    seed = gr.Number(0, label="Seed", precision=0, minimum=0, elem_id="inpaint-seed")
    steps = gr.Slider(
        1, INPAINT.max_steps, value=INPAINT.default_steps, step=1, label="Steps", elem_id="inpaint-steps"
    )
    jumps = gr.Slider(
        1,
        INPAINT.max_jumps,
        value=INPAINT.default_jumps,
        step=1,
        label="Jumps r (1 = none)",
        elem_id="inpaint-jumps",
    )
    digit, guidance = guidance_controls(
        DIGIT_CHOICES,
        "Target digit (any = none)",
        "Guidance w (with a target digit)",
        "inpaint-digit",
        "inpaint-guidance",
        conditional,
    )
    return Settings(mask, seed, steps, jumps, digit, guidance, run, halt)


def outputs(ctx: UIContext, first: str | None) -> Outputs:
    """The right column: status, completions, x_t, the kept part, the mask editor, the downloads."""
    status = gr.Markdown(ctx.checkpoint_error or IDLE, elem_id="inpaint-status")
    with gr.Row():
        result = frame_image("completions (16 seeds' worth)", "inpaint-result", 300)
        x_t = frame_image("x_t (the chain)", "inpaint-xt", 300)
        # shown at once: the digit and its mask are on the first screen before any run
        kept = frame_image("kept / to fill (grey)", "inpaint-input", 300, kept_frame(None, FIRST_MASK, first))
    painted = gr.ImageEditor(
        value=preview(None, first),
        label="Paint the part to fill (white), then pick 'painted'",
        canvas_size=(CANVAS, CANVAS),
        fixed_canvas=True,
        brush=white_brush(16),
        sources=(),
        format="png",
        elem_id="inpaint-paint",
        elem_classes=["sketch"],
        height=CANVAS + 120,
    )
    formula = gr.Markdown(latex_delimiters=LATEX_DELIMITERS, elem_id="inpaint-formula")
    store = gr.State(None, time_to_live=900)
    export_buttons.inpaint_row(store)
    return Outputs(status, result, x_t, kept, painted, formula, store)


def build(ctx: UIContext) -> None:
    """Lay out the tab, register its deep links and wire its handlers."""
    digits = digit_examples()
    first = "digit-7" if "digit-7" in digits else next(iter(digits), None)
    conditional = ctx.denoiser is not None and is_conditional(ctx.denoiser)
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            src, s = source_and_settings(first, conditional)
        with gr.Column(scale=3):
            o = outputs(ctx, first)
    with explain("inpaint"):
        gr.Markdown(EXPLAIN)
    # the API's mask image: a file, decoded by images.load_image like every upload (clear messages)
    mask_image = gr.File(type="filepath", file_types=["image"], visible=False, label="mask_image")
    ctx.links.update(
        {
            "inpaint_example": src.example,
            "mask": s.mask,
            "inpaint_seed": s.seed,
            "inpaint_steps": s.steps,
            "jumps": s.jumps,
        }
    )
    event = s.run.click(
        unet.gpu(guarded(bind(fill_in, ctx))),
        [src.upload, s.mask, s.seed, s.steps, s.jumps, s.digit, s.guidance]
        + [src.example, src.sketch, mask_image, o.painted],
        [o.result, o.x_t, o.kept, o.status, o.formula, o.store],
        api_name="inpaint",
        **CHAINS,
        show_progress="hidden",
    )
    s.halt.click(stop, None, None, cancels=[event], api_visibility="private")
    for changed in (src.example, src.upload):
        changed.change(
            preview, [src.upload, src.example], o.painted, api_visibility="private", show_progress="hidden"
        )
    follow(
        [src.example.change, src.upload.change, s.mask.change],
        kept_preview,
        [src.upload, s.mask, src.example],
        [o.kept],
    )
