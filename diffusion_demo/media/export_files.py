"""The files the export buttons offer: every view's chain or chart written to a fresh
per-call folder in Gradio's cache (plain values in, a file path out); ui/export_buttons.py
wires them to buttons and the /export_* endpoints. Owns the formats, the per-call folders
and their sweeping (the table of views and how the folders are kept: below the imports).

May import: media, diffusion, models, toy2d, config, checks, libraries (not Gradio).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import in_range
from ..config import DOWNLOADS, EXPORT, IMAGES, MODEL, REVERSE, SCHEDULE, SCHEDULE_NAMES
from ..diffusion.forward import check_t
from ..diffusion.samplers import DEFAULT_SAMPLER
from ..diffusion.sampling import validate_request
from ..diffusion.schedules import spec_from_config, validate_spec
from ..models import unet
from ..toy2d.data import check_seed
from . import export, images, plots
from .chains import (
    ForwardRequest,
    RoundTripRequest,
    Toy2dRequest,
    forward_frames,
    roundtrip_view_frames,
    show,
    toy2d_frames,
)

# | view | formats | what | endpoint |
# |---|---|---|---|
# | forward | gif, mp4, png | x_0 … x_T at the current image, schedule and seed (chains.forward_frames) | /export_forward |
# | reverse | gif, mp4 | the last run's stored replay frames (no recomputation) | /export_reverse |
# | roundtrip | gif, mp4 | x_0, x_t and the way back, as in the tab (chains.roundtrip_view_frames) | /export_roundtrip |
# | toy2d | gif, mp4 | the 2D animation (chains.toy2d_frames) | /export_toy2d |
# | inpaint | gif, mp4, png | the last fill-in run's streamed frames (no recomputation) | /export_inpaint |
# | schedule | png, svg | the schedule chart (plots.schedule_figure) | /export_schedule |
#
# Files are written into a fresh folder per call inside Gradio's cache folder
# (GRADIO_TEMP_DIR); Gradio copies what an event returns into its own cache (cleaned by
# Blocks(delete_cache=…)), so our folders are swept once they are a few minutes old.

FORMATS: dict[str, tuple[str, ...]] = {
    "forward": ("gif", "mp4", "png"),
    "reverse": ("gif", "mp4"),
    "roundtrip": ("gif", "mp4"),
    "toy2d": ("gif", "mp4"),
    "schedule": ("png", "svg"),
    "inpaint": ("gif", "mp4", "png"),
}
_SWEEP_LOCK = threading.Lock()


# --- files: one fresh folder per call inside Gradio's cache, old ones swept ---------------


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
    """One of the view's formats (a leading '.' and upper case are accepted)."""
    allowed = FORMATS[view]
    value = str(fmt).strip().lower().lstrip(".") if fmt is not None else ""
    if value not in allowed:
        raise ValueError(f"format must be one of {', '.join(allowed)}; got {fmt!r}.")
    return value


def safe_name(text: Any) -> str:
    """A file-name fragment: letters, digits, '-' and '_' only."""
    s = "".join(c if c.isalnum() or c in "-_" else "-" for c in str(text))
    return s.strip("-")[:40] or "x"


def write_frames(frames: export.Frames, fmt: str, name: str) -> str:
    """Captioned frames -> GIF / MP4 / PNG strip via export.write (the CLI's writer)."""
    path = new_path(f"{name}.{fmt}")
    export.write(
        path,
        export.with_captions(frames),
        fps=frames.fps or EXPORT.fps,
        hold_last_s=EXPORT.hold_last_s,
        progress=False,
    )
    return str(path)


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


# --- the exports --------------------------------------------------------------------------


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
    fmt = check_format(format, "forward")
    spec = validate_spec(schedule, beta_start, beta_end, T)
    seed = in_range(seed, "seed", 0, IMAGES.max_seed)
    path = image_path(image, example)
    n = DOWNLOADS.forward_strip_frames if fmt == "png" else DOWNLOADS.forward_frames
    frames = forward_frames(ForwardRequest(path, spec, seed, n, "closed", EXPORT.forward_size))
    stem = safe_name(path.stem if image else example)
    return write_frames(frames, fmt, f"forward_{stem}_{spec.name}_T{spec.T}_seed{seed}")


def reverse_file(format: str = "gif", replay: list[dict] | None = None) -> str:
    """The last reverse run of this session, from its stored replay frames (no new run)."""
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
    sampler: str = DEFAULT_SAMPLER,
    steps: float = 100,
) -> str:
    """x_0, x_t and the reverse chain back from it (the tab's round trip), as GIF or MP4."""
    fmt = check_format(format, "roundtrip")
    request = validate_request(sampler, steps, 1, seed, guidance=0.0)  # the unconditional model
    if denoiser is None:
        raise unet.CheckpointError("No model loaded: the round trip needs the trained model.")
    t = check_t(t, spec_from_config(denoiser.scheduler_config).T)  # the schedule it was trained with
    digits = {k: Path(v) for k, v in images.digit_examples().items()}
    path = image_path(image, example, digits)
    img = images.load_image(path)
    x0 = images.upload_digit(img, MODEL.sample_size)[0] if image else images.to_digit(img, MODEL.sample_size)
    rt = RoundTripRequest(x0, t, request)
    frames = roundtrip_view_frames(denoiser, rt, DOWNLOADS.roundtrip_frames, REVERSE.frame_width)
    stem = safe_name(path.stem if image else example)
    name = f"roundtrip_{stem}_t{t}_{request.sampler}{request.steps}_seed{request.seed}"
    return write_frames(frames, fmt, name)


def inpaint_file(format: str = "gif", frames: list | None = None) -> str:
    """The last fill-in run of this session, from the frames it streamed (no new run)."""
    fmt = check_format(format, "inpaint")
    if not frames:
        raise ValueError("Nothing to export yet: press Fill in first.")
    if fmt == "png" and len(frames) > EXPORT.strip_frames:  # a strip is a figure: 10 frames
        picks = {round(i) for i in np.linspace(0, len(frames) - 1, EXPORT.strip_frames)}
        frames = [f for i, f in enumerate(frames) if i in picks]
    shots, captions = [], []
    for prev_t, down, grid in frames:
        shots.append(show(grid, REVERSE.frame_width))
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
    fmt = check_format(format, "toy2d")
    spec = validate_spec(schedule, beta_start, beta_end, T)
    seed = check_seed(seed)
    request = Toy2dRequest(
        dataset,
        seed,
        points or "",
        spec,
        frames=DOWNLOADS.toy2d_frames,
        train_if_missing=False,
        fps=DOWNLOADS.toy2d_fps,
    )
    name = f"toy2d_{safe_name(dataset)}_{spec.name}_T{spec.T}_seed{seed}"
    return write_frames(toy2d_frames(request), fmt, name)


def compare_list(compare: Any) -> list[str]:
    """The schedules to overlay: a list, or a comma/semicolon-separated string."""
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
    fmt = check_format(format, "schedule")
    spec = validate_spec(schedule, beta_start, beta_end, T)
    others = compare_list(compare)
    for name in others:
        if name not in SCHEDULE_NAMES:
            raise ValueError(f"Unknown schedule {name!r} in compare: expected {', '.join(SCHEDULE_NAMES)}.")
    t_value = None if t is None or t == "" else check_t(t, spec.T)
    fig = plots.schedule_figure(spec, others, t_value)
    try:
        data = plots.fig_to_bytes(fig, fmt, dpi=150 if fmt == "png" else None)
    finally:
        plots.close(fig)
    vs = "_vs_" + "-".join(safe_name(o) for o in others) if others else ""
    path = new_path(f"schedule_{spec.name}{vs}_T{spec.T}.{fmt}")
    path.write_bytes(data)
    return str(path)
