"""Downloads: every view as a file, with export.py's writers (GIF, MP4, PNG strip) and
plots.fig_to_bytes (PNG, SVG).

| view | formats | what | endpoint |
|---|---|---|---|
| forward | gif, mp4, png | x_0 … x_T at the current image, schedule and seed (export.forward_frames) | /export_forward |
| reverse | gif, mp4 | the last run's stored replay frames (no recomputation) | /export_reverse |
| roundtrip | gif, mp4 | x_0, x_t and the way back, as in the tab | /export_roundtrip |
| toy2d | gif, mp4 | the 2D animation (toy2d_plots.animation_frames) | /export_toy2d |
| inpaint | gif, mp4, png | the last fill-in run's streamed frames (no recomputation) | /export_inpaint |
| schedule | png, svg | the schedule chart (plots.schedule_figure) | /export_schedule |

Each tab adds a row of buttons with one call (`forward_row(...)`, …). A button writes the
file and the browser downloads it at once (the file also appears in the row's file box,
a fallback link). The same function is a named API endpoint taking the format first.

Files are written into a fresh folder per call inside Gradio's cache folder
(GRADIO_TEMP_DIR); Gradio copies what an event returns into its own cache (cleaned by
Blocks(delete_cache=…)), so our folders are swept once they are a few minutes old.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from ..config import REVERSE, SCHEDULE
from ..diffusion.forward import check_t
from ..diffusion.schedules import validate_spec
from ..media import export, images, plots
from ..models import unet
from .common import HEAVY, UIContext, guarded

FORMATS: dict[str, tuple[str, ...]] = {
    "forward": ("gif", "mp4", "png"),
    "reverse": ("gif", "mp4"),
    "roundtrip": ("gif", "mp4"),
    "toy2d": ("gif", "mp4"),
    "schedule": ("png", "svg"),
    "inpaint": ("gif", "mp4", "png"),
}


@dataclass(frozen=True)
class DownloadSettings:
    # Forward chain: 40 frames play in 4 s at export's 10 fps (the CLI's default too).
    forward_frames: int = 40
    # ... and a PNG strip is a figure for a slide: one row of 10 (x_0 … x_T).
    forward_strip_frames: int = 10
    # Round trip: frames of the way back at most (plus x_0 and x_t): bounded file size.
    roundtrip_frames: int = 60
    # The 2D animation: frames each way (forward, then reverse), as the tab's own GIF.
    toy2d_frames: int = 24
    toy2d_fps: float = 12.0
    # Our per-call folders are deleted after this long: Gradio has copied the file by then
    # (it copies as soon as the event returns).
    keep_s: float = 300.0


DOWNLOADS = DownloadSettings()
_SWEEP_LOCK = threading.Lock()


# --------------------------------------------------------------------------------------
# Files: one fresh folder per call inside Gradio's cache, old ones swept
# --------------------------------------------------------------------------------------


def export_root() -> Path:
    """Our folder inside Gradio's cache (GRADIO_TEMP_DIR, else <tmp>/gradio)."""
    cache = os.environ.get("GRADIO_TEMP_DIR") or str(Path(tempfile.gettempdir()) / "gradio")
    return Path(cache) / "diffusion-demo-exports"


def sweep(root: Path, keep_s: float = DOWNLOADS.keep_s) -> None:
    """Delete per-call folders older than keep_s."""
    now = time.time()
    with _SWEEP_LOCK:
        for d in root.glob("dl-*"):
            try:
                if now - d.stat().st_mtime > keep_s:
                    shutil.rmtree(d, ignore_errors=True)
            except OSError:
                pass


def new_path(name: str) -> Path:
    """A path for `name` in a fresh per-call folder (created now, swept later)."""
    root = export_root()
    root.mkdir(parents=True, exist_ok=True)
    sweep(root)
    return Path(tempfile.mkdtemp(prefix="dl-", dir=root)) / name


def check_format(fmt: Any, view: str) -> str:
    allowed = FORMATS[view]
    value = str(fmt).strip().lower().lstrip(".") if fmt is not None else ""
    if value not in allowed:
        raise ValueError(f"format must be one of {', '.join(allowed)}; got {fmt!r}.")
    return value


def _safe(text: Any) -> str:
    """A file-name fragment: letters, digits, '-' and '_' only."""
    s = "".join(c if c.isalnum() or c in "-_" else "-" for c in str(text))
    return s.strip("-")[:40] or "x"


def write_frames(frames: export.Frames, fmt: str, name: str) -> str:
    """Captioned frames -> GIF / MP4 / PNG strip via export.write (the CLI's writer)."""
    if frames.captions:
        shots = [export.captioned(f, c) for f, c in zip(frames.frames, frames.captions, strict=True)]
    else:
        shots = list(frames.frames)
    path = new_path(f"{name}.{fmt}")
    export.write(
        path,
        shots,
        fps=frames.fps or export.EXPORT.fps,
        hold_last_s=export.EXPORT.hold_last_s,
        progress=False,
    )
    return str(path)


# --------------------------------------------------------------------------------------
# The exports (plain values in, a file path out)
# --------------------------------------------------------------------------------------


def image_path(image: Any, example: Any, choices: dict[str, Path] | None = None) -> Path:
    """An uploaded file, else a shipped example by name."""
    if image is not None and str(image).strip():
        path = Path(str(image))
        if not path.is_file():
            raise ValueError("No image file was received.")
        return path
    known = choices if choices is not None else images.examples()
    name = example if example not in (None, "") else next(iter(known), None)
    if name not in known:
        raise ValueError(f"Unknown example {name!r}: expected one of {', '.join(known)}.")
    return known[name]


def forward_file(
    format: str = "gif",
    image: str | None = None,
    schedule: str = "linear",
    seed: float = 0,
    example: str | None = "photo-landscape",
    beta_start: float = SCHEDULE.default_beta_start,
    beta_end: float = SCHEDULE.default_beta_end,
    T: float = SCHEDULE.default_T,
) -> str:
    """The forward chain x_0 … x_T at evenly spaced t (closed form, one fixed ε per seed:
    the same x_t as the tab shows) as a GIF, an MP4 or a PNG strip."""
    from .tabs.forward import check_seed

    fmt = check_format(format, "forward")
    spec = validate_spec(schedule, beta_start, beta_end, T)
    seed = check_seed(seed)
    path = image_path(image, example)
    args = argparse.Namespace(
        image=path,
        schedule=spec.name,
        beta_start=spec.beta_start,
        beta_end=spec.beta_end,
        T=spec.T,
        seed=seed,
        frames=DOWNLOADS.forward_strip_frames if fmt == "png" else DOWNLOADS.forward_frames,
        chain="closed",
        size=export.EXPORT.forward_size,
        quiet=True,
    )
    frames = export.forward_frames(args)
    stem = _safe(path.stem if image else example)
    return write_frames(frames, fmt, f"forward_{stem}_{spec.name}_T{spec.T}_seed{seed}")


def reverse_file(format: str = "gif", replay: list[dict] | None = None) -> str:
    """The last reverse run of this session, from its stored replay frames (no new run)."""
    from .frames import show

    fmt = check_format(format, "reverse")
    if not replay:
        raise ValueError("Nothing to export yet: press Generate first.")
    last = len(replay) - 1
    shots, captions = [], []
    for i, f in enumerate(replay):
        shots.append(show(f["x_t"], REVERSE.frame_width))
        captions.append("x_0" if i == last else f"step {f['index'] + 1}, t = {f['t'] + 1}")
    info = replay[-1]
    name = f"reverse_{len(replay)}frames_step{info['index'] + 1}"
    return write_frames(export.Frames(shots, captions), fmt, name)


def roundtrip_file(
    denoiser: Any,
    format: str = "gif",
    image: str | None = None,
    t: float = 400,
    seed: float = 0,
    example: str | None = "digit-3",
    sampler: str = "ddim",
    steps: float = 100,
) -> str:
    """x_0, x_t and the reverse chain back from it (the tab's round trip), as GIF or MP4."""
    import torch

    from ..config import MODEL
    from ..diffusion.roundtrip import round_trip
    from ..diffusion.sampling import validate_request
    from ..media.images import digit_examples
    from ..training.evaluate import frame_indices
    from .frames import tensor_frame
    from .tabs.roundtrip import TRAINED

    fmt = check_format(format, "roundtrip")
    request = validate_request(sampler, steps, 1, seed, guidance=0.0)  # the unconditional model
    t = check_t(t, TRAINED.T)
    if denoiser is None:
        raise unet.CheckpointError("No model loaded: the round trip needs the trained model.")
    digits = {k: Path(v) for k, v in digit_examples().items()}
    path = image_path(image, example, digits)
    img = images.load_image(path)
    x0 = images.to_digit(images.fit(img, 256) if image else img, MODEL.sample_size)[None]
    shots, captions = [tensor_frame(x0, REVERSE.frame_width)], ["x_0"]
    if t > 0:
        x_t, timestep, chain = round_trip(denoiser, x0, t, request)
        shots.append(tensor_frame(x_t, REVERSE.frame_width))
        captions.append(f"x_t, t = {timestep + 1}")
        keep: set[int] = set()
        with torch.inference_mode():
            for record in chain:
                if record.index == 0:
                    keep = set(frame_indices(record.num_steps, DOWNLOADS.roundtrip_frames))
                if record.index in keep:
                    last = record.index == record.num_steps - 1
                    shots.append(tensor_frame(record.prev_sample.clamp(-1, 1), REVERSE.frame_width))
                    captions.append("back: x_0" if last else f"back: t = {record.t + 1}")
    stem = _safe(path.stem if image else example)
    name = f"roundtrip_{stem}_t{t}_{request.sampler}{request.steps}_seed{request.seed}"
    return write_frames(export.Frames(shots, captions), fmt, name)


def inpaint_file(format: str = "gif", frames: list | None = None) -> str:
    """The last fill-in run of this session, from the frames it streamed (no new run)."""
    from PIL import Image

    fmt = check_format(format, "inpaint")
    if not frames:
        raise ValueError("Nothing to export yet: press Fill in first.")
    if fmt == "png" and len(frames) > export.EXPORT.strip_frames:  # a strip is a figure: 10 frames
        picks = {round(i) for i in np.linspace(0, len(frames) - 1, export.EXPORT.strip_frames)}
        frames = [f for i, f in enumerate(frames) if i in picks]
    shots, captions = [], []
    for prev_t, down, grid in frames:
        img = Image.fromarray(np.asarray(grid))
        shots.append(
            img.resize(
                (REVERSE.frame_width, round(img.height * REVERSE.frame_width / img.width)),
                Image.Resampling.NEAREST,
            )
        )
        captions.append("x_0" if prev_t < 0 else f"{'down' if down else 'jump up'}: t = {prev_t + 1}")
    return write_frames(export.Frames(shots, captions), fmt, f"inpaint_{len(frames)}frames")


def toy2d_file(
    format: str = "gif",
    dataset: str = "moons",
    seed: float = 0,
    points: str = "",
    schedule: str = "linear",
    beta_start: float = SCHEDULE.default_beta_start,
    beta_end: float = SCHEDULE.default_beta_end,
    T: float = SCHEDULE.default_T,
) -> str:
    """The 2D animation (forward, then the learned reverse chain) as GIF or MP4."""
    from .. import toy2d
    from ..media import toy2d_plots

    fmt = check_format(format, "toy2d")
    spec = validate_spec(schedule, beta_start, beta_end, T)
    seed = toy2d.check_seed(seed)
    frames = toy2d_plots.animation_frames(
        dataset, seed, points or "", spec, n_frames=DOWNLOADS.toy2d_frames, train_if_missing=False
    )
    name = f"toy2d_{_safe(dataset)}_{spec.name}_T{spec.T}_seed{seed}"
    return write_frames(export.Frames(frames, [], DOWNLOADS.toy2d_fps), fmt, name)


def _compare_list(compare: Any) -> list[str]:
    if compare is None or compare == "":
        return []
    if isinstance(compare, str):
        return [c.strip() for c in compare.replace(";", ",").split(",") if c.strip()]
    return [str(c) for c in compare]


def schedule_file(
    format: str = "png",
    schedule: str = "linear",
    beta_start: float = SCHEDULE.default_beta_start,
    beta_end: float = SCHEDULE.default_beta_end,
    T: float = SCHEDULE.default_T,
    compare: list[str] | str | None = None,
    t: float | None = None,
) -> str:
    """The schedule chart (β_t, ᾱ_t, log-SNR; other schedules overlaid; t marked) as PNG or SVG."""
    from ..config import SCHEDULE_NAMES

    fmt = check_format(format, "schedule")
    spec = validate_spec(schedule, beta_start, beta_end, T)
    others = _compare_list(compare)
    for name in others:
        if name not in SCHEDULE_NAMES:
            raise ValueError(f"Unknown schedule {name!r} in compare: expected {', '.join(SCHEDULE_NAMES)}.")
    t_value = None if t is None or t == "" else check_t(t, spec.T)
    fig = plots.schedule_figure(spec, others, t_value)
    try:
        data = plots.fig_to_bytes(fig, fmt, dpi=150 if fmt == "png" else None)
    finally:
        plots.close(fig)
    vs = "_vs_" + "-".join(_safe(o) for o in others) if others else ""
    path = new_path(f"schedule_{spec.name}{vs}_T{spec.T}.{fmt}")
    path.write_bytes(data)
    return str(path)


# --------------------------------------------------------------------------------------
# UI: a row of buttons per view, and the public endpoints
# --------------------------------------------------------------------------------------

# After an export: download the file at once (a same-origin link with `download`).
AUTO_DOWNLOAD_JS = """
(f) => {
  if (f && f.url) {
    const a = document.createElement("a");
    a.href = f.url;
    a.download = f.orig_name || "";
    document.body.appendChild(a);
    a.click();
    a.remove();
  }
}
"""


@dataclass
class DownloadRow:
    """The buttons of one view and the file box they fill."""

    view: str
    buttons: dict[str, gr.Button]
    file: gr.File

    def wire(
        self,
        fn: Callable,
        inputs: Sequence[gr.components.Component],
        api_inputs: Sequence[gr.components.Component] | None = None,
        description: str = "",
    ) -> None:
        """A click per format (private) and the public endpoint /export_<view>(format, …)."""
        handler = guarded(fn)

        def show(fmt: str, *args: Any) -> dict:
            # The file box appears with its first file (a fallback link to the download).
            return gr.update(value=handler(fmt, *args), visible=True)

        for fmt, button in self.buttons.items():
            button.click(
                partial(show, fmt),
                list(inputs),
                self.file,
                api_visibility="private",
                show_progress="minimal",
                **HEAVY,
            ).success(None, self.file, None, js=AUTO_DOWNLOAD_JS, api_visibility="private", queue=False)
        with gr.Group(visible=False):
            fmt_box = gr.Textbox(FORMATS[self.view][0], label="format")
        gr.on(
            [],
            handler,
            [fmt_box, *(api_inputs if api_inputs is not None else inputs)],
            self.file,
            api_name=f"export_{self.view}",
            api_description=description or (fn.__doc__ or "").strip().splitlines()[0],
            **HEAVY,
        )


def row(view: str, label: str) -> DownloadRow:
    """The buttons (⬇ GIF, ⬇ MP4, …) and a small file box, in a row (call inside a layout)."""
    with gr.Row(elem_classes=["downloads"], elem_id=f"{view}-downloads", equal_height=True):
        buttons = {
            fmt: gr.Button(
                f"⬇ {fmt.upper()}",
                size="sm",
                variant="secondary",
                elem_id=f"{view}-download-{fmt}",
                scale=0,
                min_width=80,
            )
            for fmt in FORMATS[view]
        }
        file = gr.File(
            label=label,
            interactive=False,
            visible=False,
            elem_id=f"{view}-download-file",
            height=60,
            scale=3,
            min_width=200,
        )
    return DownloadRow(view, buttons, file)


def _api_schedule_inputs() -> list[gr.components.Component]:
    return [
        gr.Textbox("linear", label="schedule"),
        gr.Number(SCHEDULE.default_beta_start, label="beta_start"),
        gr.Number(SCHEDULE.default_beta_end, label="beta_end"),
        gr.Number(SCHEDULE.default_T, label="T"),
    ]


def forward_row(inputs: Sequence[gr.components.Component]) -> DownloadRow:
    """inputs: image (upload), schedule, seed, example, beta_start, beta_end, T."""
    r = row("forward", "Forward chain x₀ … x_T (GIF / MP4 / PNG strip)")
    with gr.Group(visible=False):
        a_image = gr.File(label="image", type="filepath")
        sched = _api_schedule_inputs()
        a_seed = gr.Number(0, label="seed")
        a_example = gr.Textbox("photo-landscape", label="example")
    r.wire(
        forward_file,
        inputs,
        [a_image, sched[0], a_seed, a_example, *sched[1:]],
        "The forward chain x_0 … x_T of an image (or a shipped example) at evenly spaced t: "
        "format gif or mp4 (40 frames) or png (a strip of 10).",
    )
    return r


def schedule_row(inputs: Sequence[gr.components.Component]) -> DownloadRow:
    """inputs: schedule, beta_start, beta_end, T, compare, t."""
    r = row("schedule", "Schedule chart (PNG / SVG)")
    with gr.Group(visible=False):
        sched = _api_schedule_inputs()
        a_compare = gr.Textbox("", label="compare")
        a_t = gr.Number(None, label="t")
    r.wire(
        schedule_file,
        inputs,
        [*sched, a_compare, a_t],
        "The schedule chart as png or svg; compare: other schedules to overlay (comma-separated); "
        "t: the step to mark (optional).",
    )
    return r


def reverse_row() -> DownloadRow:
    """The reverse chain's buttons; call wire_reverse(row, replay_state) once the state exists."""
    return row("reverse", "Reverse chain of the last run (GIF / MP4)")


def wire_reverse(r: DownloadRow, replay: gr.State) -> None:
    r.wire(
        reverse_file,
        [replay],
        [replay],
        "The last /reverse run of this session (its stored replay frames) as gif or mp4.",
    )


def roundtrip_row(ctx: UIContext, inputs: Sequence[gr.components.Component]) -> DownloadRow:
    """inputs: image (upload), t, seed, example, sampler, steps."""
    r = row("roundtrip", "Round trip x₀ → x_t → back (GIF / MP4)")
    with gr.Group(visible=False):
        a_image = gr.File(label="image", type="filepath")
        a_t = gr.Number(400, label="t")
        a_seed = gr.Number(0, label="seed")
        a_example = gr.Textbox("digit-3", label="example")
        a_sampler = gr.Textbox("ddim", label="sampler")
        a_steps = gr.Number(100, label="steps")

    def roundtrip_export(format, image, t, seed, example, sampler, steps):
        """x_0, x_t and the reverse chain back to a digit, as gif or mp4."""
        return roundtrip_file(ctx.denoiser, format, image, t, seed, example, sampler, steps)

    r.wire(
        unet.gpu(roundtrip_export),
        inputs,
        [a_image, a_t, a_seed, a_example, a_sampler, a_steps],
        "A digit noised to step t and denoised back by the model, frame by frame: gif or mp4.",
    )
    return r


def inpaint_row(frames: gr.State) -> DownloadRow:
    """The fill-in tab's buttons, from the last run's frames (a per-session state)."""
    r = row("inpaint", "Fill-in chain of the last run (GIF / MP4 / PNG strip)")
    r.wire(inpaint_file, [frames], [frames], "The last /inpaint run of this session as gif, mp4 or png.")
    return r


def toy2d_row(inputs: Sequence[gr.components.Component]) -> DownloadRow:
    """inputs: dataset, seed, points, schedule, beta_start, beta_end, T."""
    r = row("toy2d", "2D animation (GIF / MP4)")
    with gr.Group(visible=False):
        a_dataset = gr.Textbox("moons", label="dataset")
        a_seed = gr.Number(0, label="seed")
        a_points = gr.Textbox("", label="points")
        sched = _api_schedule_inputs()
    r.wire(
        toy2d_file,
        inputs,
        [a_dataset, a_seed, a_points, *sched],
        "The 2D animation (the data pushed to N(0, I), then brought back by the learned chain) as gif or mp4.",
    )
    return r
