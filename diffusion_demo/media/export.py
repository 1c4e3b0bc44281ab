"""Export a chain as a GIF, an MP4 or a PNG strip: the writers and the `export` CLI.

    python -m diffusion_demo export forward --image assets/examples/digit3.png --schedule cosine \\
        --seed 3 --frames 40 --out chain.gif
    python -m diffusion_demo export reverse --sampler ddim --steps 50 --seed 0 --out reverse.mp4
    python -m diffusion_demo export roundtrip --image digit.png --t 500 --seed 0 --out roundtrip.png

The output format follows the extension of --out: .gif (an animation that loops), .mp4
(H.264, yuv420p, frames padded to even size) or .png (a strip of the frames, wrapped into
rows). The math lives elsewhere: forward.q_sample / iterate_chain for x_t, sampling's
reverse_chain (through evaluate.generate) for the reverse chain, images.py for pixels.

Adding an export (e.g. the 2D toy): in your module, write `add_arguments(parser)` and
`frames(args) -> Frames`, call `export.register("toy2d", "help text", add_arguments)(frames)`
at import time, and list your module in PLUGIN_MODULES below so the CLI imports it.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from . import images

Frame = Image.Image | np.ndarray
EXTENSIONS: tuple[str, ...] = (".gif", ".mp4", ".png")
# Modules that register more export sub-commands when imported (see the module docstring).
PLUGIN_MODULES: tuple[str, ...] = ("diffusion_demo.media.toy2d_export", "diffusion_demo.media.inpaint_export")


@dataclass(frozen=True)
class ExportSettings:
    # 10 frames per second: 40 frames play in 4 s, slow enough to follow one step.
    fps: float = 10.0
    # Browsers and players clamp GIF frame delays below 20 ms (50 fps); refuse more.
    max_fps: float = 50.0
    # Seconds the last frame stays up before the GIF/MP4 loops: the result deserves a look.
    hold_last_s: float = 1.0
    # A PNG strip wraps after this many frames: 10 fit a slide's width.
    strip_per_row: int = 10
    # Frames of a reverse chain (one per step up to this, else evenly spaced): bounded
    # memory and file size whatever the step count.
    max_frames: int = 100
    # ... but a PNG strip of a reverse chain / round trip is a figure: this many frames.
    strip_frames: int = 10
    # Digits are 28 px: show each pixel as a 4x4 block so the frames are legible.
    digit_scale: int = 4
    # The forward chain's frames: the longer side of the input image is resized to this.
    forward_size: int = 256
    # A caption band ("t = 500") under each frame, in pixels; 0 turns the captions off.
    caption_px: int = 14
    # CRF-like quality of imageio-ffmpeg (0-10): 8 keeps digit edges crisp at small sizes.
    mp4_quality: float = 8.0


EXPORT = ExportSettings()


# --- frames -------------------------------------------------------------------------------


def as_array(frame: Frame) -> np.ndarray:
    """A PIL image or a uint8 array -> uint8 (H, W, 3); gray and RGBA are converted."""
    if isinstance(frame, Image.Image):
        frame = np.asarray(frame.convert("RGB"))
    a = np.asarray(frame)
    if a.dtype != np.uint8:
        raise ValueError(f"Frames must be PIL images or uint8 arrays; got an array of {a.dtype}.")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"Frames must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) arrays; got {a.shape}.")
    return np.ascontiguousarray(a)


def as_arrays(frames: Sequence[Frame]) -> list[np.ndarray]:
    """All frames as uint8 (H, W, 3), checked to be non-empty and of one size."""
    if len(frames) == 0:
        raise ValueError("There are no frames to write.")
    out = [as_array(f) for f in frames]
    sizes = {a.shape for a in out}
    if len(sizes) != 1:
        raise ValueError(f"All frames must have the same size; got {sorted(sizes)}.")
    return out


def pad_even(a: np.ndarray) -> np.ndarray:
    """Pad (H, W, C) with black on the bottom/right to even H and W (yuv420p needs it)."""
    h, w = a.shape[:2]
    return np.pad(a, ((0, h % 2), (0, w % 2), (0, 0))) if h % 2 or w % 2 else a


def captioned(frame: Frame, text: str, band: int = EXPORT.caption_px) -> Image.Image:
    """The frame with a black band underneath holding `text` in white (PIL's built-in font)."""
    img = Image.fromarray(as_array(frame))
    if band <= 0:
        return img
    out = Image.new("RGB", (img.width, img.height + band), (0, 0, 0))
    out.paste(img, (0, 0))
    ImageDraw.Draw(out).text((3, img.height + max(0, (band - 11) // 2)), text, fill=(255, 255, 255))
    return out


def _check_fps(fps: float) -> float:
    fps = float(fps)
    if not math.isfinite(fps) or not 0 < fps <= EXPORT.max_fps:
        raise ValueError(f"fps must be in (0, {EXPORT.max_fps:g}]; got {fps:g}.")
    return fps


def _progress(items, desc: str, progress: bool):
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="frame", disable=not progress or len(items) < 50, leave=False)


# --- writers ------------------------------------------------------------------------------


def write_gif(
    path: str | os.PathLike,
    frames: Sequence[Frame],
    fps: float = EXPORT.fps,
    hold_last_s: float = 0.0,
    loop: int = 0,
) -> Path:
    """An animated GIF, one GIF frame per frame (`loop=0`: forever); the last one held longer.

    Pillow merges consecutive identical frames into one longer frame: the animation looks
    the same, but a reader may count fewer frames than were given.
    """
    fps = _check_fps(fps)
    arrays = as_arrays(frames)
    gray = all((a[:, :, 0] == a[:, :, 1]).all() and (a[:, :, 0] == a[:, :, 2]).all() for a in arrays)
    pil = [Image.fromarray(a[:, :, 0] if gray else a) for a in arrays]
    if not gray:  # one palette per frame, chosen by Pillow's median cut
        pil = [p.quantize(colors=256, method=Image.Quantize.MEDIANCUT) for p in pil]
    step_ms = round(1000 / fps)
    durations = [step_ms] * len(pil)
    durations[-1] += round(1000 * max(0.0, hold_last_s))
    path = Path(path)
    pil[0].save(
        path,
        save_all=True,
        append_images=pil[1:],
        duration=durations if len(pil) > 1 else durations[0],
        loop=loop,
        optimize=False,
    )
    return path


def write_mp4(
    path: str | os.PathLike,
    frames: Sequence[Frame],
    fps: float = EXPORT.fps,
    hold_last_s: float = 0.0,
    progress: bool = True,
) -> Path:
    """An H.264 MP4 (yuv420p, plays everywhere) via imageio-ffmpeg; frames padded to even size.

    The last frame is repeated to fill `hold_last_s` seconds.
    """
    import imageio.v2 as imageio

    fps = _check_fps(fps)
    arrays = [pad_even(a) for a in as_arrays(frames)]
    arrays += [arrays[-1]] * round(max(0.0, hold_last_s) * fps)
    path = Path(path)
    writer = imageio.get_writer(
        path,
        format="FFMPEG",
        mode="I",
        fps=fps,
        codec="libx264",
        pixelformat="yuv420p",
        quality=EXPORT.mp4_quality,
        macro_block_size=1,  # we padded to even sizes ourselves; no resizing by imageio
        ffmpeg_log_level="error",
    )
    try:
        for a in _progress(arrays, "mp4", progress):
            writer.append_data(a)
    finally:
        writer.close()
    return path


def strip_image(frames: Sequence[Frame], per_row: int = EXPORT.strip_per_row, pad: int = 2) -> Image.Image:
    """The frames side by side (images.strip: white gaps), wrapped into rows of `per_row`."""
    if per_row < 1:
        raise ValueError(f"per_row must be at least 1; got {per_row}.")
    tensors = [images.to_tensor(Image.fromarray(a)) for a in as_arrays(frames)]
    rows = [images.strip(tensors[i : i + per_row], pad) for i in range(0, len(tensors), per_row)]
    width = rows[0].shape[2]
    c, h = rows[0].shape[:2]
    parts = []
    for i, r in enumerate(rows):
        if i:
            parts.append(torch.ones(c, pad, width))
        # a short last row is filled with white on the right
        parts.append(torch.cat([r, torch.ones(c, h, width - r.shape[2])], dim=2) if r.shape[2] < width else r)
    return images.to_pil(torch.cat(parts, dim=1))


def write_strip(
    path: str | os.PathLike, frames: Sequence[Frame], per_row: int = EXPORT.strip_per_row
) -> Path:
    """A PNG of the frames in a row (wrapped every `per_row` frames)."""
    path = Path(path)
    strip_image(frames, per_row).save(path, format="PNG")
    return path


def check_extension(path: str | os.PathLike) -> str:
    """The lower-case extension of an export path; ValueError if it is not one we write."""
    ext = Path(path).suffix.lower()
    if ext not in EXTENSIONS:
        raise ValueError(
            f"Cannot write {Path(path).name!r}: unknown extension {ext or '(none)'!r}, "
            f"expected one of {', '.join(EXTENSIONS)}."
        )
    return ext


def write(
    path: str | os.PathLike,
    frames: Sequence[Frame],
    fps: float = EXPORT.fps,
    hold_last_s: float = 0.0,
    per_row: int = EXPORT.strip_per_row,
    progress: bool = True,
) -> Path:
    """Write frames in the format named by the extension of `path` (.gif, .mp4 or .png)."""
    ext = check_extension(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if ext == ".gif":
        return write_gif(path, frames, fps, hold_last_s)
    if ext == ".mp4":
        return write_mp4(path, frames, fps, hold_last_s, progress)
    return write_strip(path, frames, per_row)


# --- chains as frames ---------------------------------------------------------------------


def grid_frame(batch: np.ndarray, scale: int = 1, nrow: int | None = None) -> Image.Image:
    """uint8 (N, H, W) or float [0, 1] (N, H, W) digits -> one grid image (images.grid), upscaled."""
    a = np.asarray(batch)
    x = torch.from_numpy(a.astype(np.float32) / (255.0 if a.dtype == np.uint8 else 1.0))
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    g = images.grid(x * 2 - 1, nrow=nrow)
    return images.to_pil(g, width=g.shape[2] * max(1, int(scale)))


def label_t(timestep: int) -> str:
    """Caption of a reverse-chain frame: diffusers' timestep k is the app's t = k + 1 (forward.py)."""
    return "x_0" if timestep < 0 else f"t = {timestep + 1}"


@dataclass
class Frames:
    """What an export sub-command produces: frames, their captions and a suggested fps."""

    frames: list[Image.Image]
    captions: list[str] = field(default_factory=list)
    fps: float | None = None


def forward_frames(args: argparse.Namespace) -> Frames:
    """The forward chain x_0 -> x_T of one image at evenly spaced t (closed form or Markov)."""
    from tqdm import tqdm

    from ..diffusion import forward
    from ..diffusion.schedules import validate_spec

    spec = validate_spec(args.schedule, args.beta_start, args.beta_end, args.T)
    if not 2 <= args.frames <= 1000:
        raise ValueError(f"--frames must be in [2, 1000]; got {args.frames}.")
    if not 8 <= args.size <= 2048:
        raise ValueError(f"--size must be in [8, 2048] pixels; got {args.size}.")
    img = images.fit(images.load_image(_image_path(args.image)), args.size)
    x0 = images.to_tensor(img)
    ts = forward.evenly_spaced(spec.T, args.frames)
    if args.chain == "markov":  # eq. 2, one step at a time (slow for large T)
        xs = forward.iterate_chain(x0, spec, ts, args.seed)
    else:  # eq. 4 with one fixed ε: x_t morphs smoothly as t grows
        eps = forward.fixed_noise(x0.shape, args.seed)
        xs = {t: forward.q_sample(x0, t, spec, eps) for t in tqdm(ts, desc="forward", disable=args.quiet)}
    return Frames([images.to_pil(xs[t]) for t in ts], [f"t = {t}" for t in ts])


def reverse_frames(args: argparse.Namespace) -> Frames:
    """The reverse chain x_T -> x_0 of a grid of samples, one frame per step (or throttled)."""
    from ..diffusion.sampling import validate_request
    from ..models import unet
    from ..training.evaluate import generate

    request = validate_request(
        args.sampler,
        args.steps,
        args.num_samples,
        args.seed,
        args.eta,
        max_samples=256,
        digit=args.digit,
        guidance=args.guidance,
    )
    _check_scale(args.scale)
    den = unet.load(args.checkpoint, autocast=args.dtype)
    unet.compile_if_worth_it(den, min(64, request.num_samples), request.num_samples * request.steps)
    gen = generate(den, request, batch_size=64, max_frames=_max_frames(args), progress=not args.quiet)
    frames = [grid_frame(f, args.scale) for f in gen.frames or []]
    return Frames(frames, [label_t(t) for t in gen.frame_steps])


def roundtrip_frames(args: argparse.Namespace) -> Frames:
    """Noise a digit to step t (forward.q_sample: diffusers' add_noise), then denoise it back."""
    from ..diffusion import forward
    from ..diffusion.roundtrip import start_timestep
    from ..diffusion.sampling import validate_request
    from ..diffusion.schedules import spec_from_config
    from ..models import unet
    from ..training.evaluate import generate

    request = validate_request(
        args.sampler,
        args.steps,
        args.num_samples,
        args.seed,
        args.eta,
        max_samples=64,
        digit=args.digit,
        guidance=args.guidance,
    )
    _check_scale(args.scale)
    den = unet.load(args.checkpoint, autocast=args.dtype)
    unet.compile_if_worth_it(den, request.num_samples, request.num_samples * request.steps)
    spec = spec_from_config(den.scheduler_config)
    t = forward.check_t(args.t, spec.T)
    if t < 1:
        raise ValueError(f"--t must be in [1, {spec.T}] for a round trip; got {args.t}.")
    # Start exactly where the sampler has a step: the largest of its timesteps <= t - 1
    # (diffusers counts from 0, the app from 1); DDPM with 1000 steps hits every t.
    start = start_timestep(den.scheduler_config, request.sampler, request.steps, t)
    if start + 1 != t and not args.quiet:
        print(f"note: {request.sampler}-{request.steps} has no step at t = {t}; starting at t = {start + 1}.")
    x0 = images.to_digit(images.load_image(_image_path(args.image)), den.sample_shape[-1])
    eps = forward.fixed_noise(x0.shape, args.seed)
    x_t = forward.q_sample(x0, start + 1, spec, eps)
    max_frames = _max_frames(args)
    n_fwd = max(2, max_frames // 4)
    fwd_ts = forward.evenly_spaced(start + 1, n_fwd)
    fwd = [x0 if s == 0 else forward.q_sample(x0, s, spec, eps) for s in fwd_ts]
    x_start = x_t.unsqueeze(0).repeat(request.num_samples, 1, 1, 1)
    gen = generate(
        den,
        request,
        batch_size=64,
        max_frames=max(2, max_frames - n_fwd + 1),  # its frame 0 (x_t) is the forward's last
        progress=not args.quiet,
        x_start=x_start,
        start_t=start,
    )
    as_u8 = lambda x: ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()[:, 0]  # noqa: E731
    frames = [grid_frame(np.repeat(as_u8(f[None]), request.num_samples, 0), args.scale) for f in fwd]
    captions = [f"forward t = {s}" for s in fwd_ts]
    frames += [grid_frame(f, args.scale) for f in (gen.frames or [])[1:]]  # [0] repeats x_t
    captions += [f"reverse {label_t(s)}" for s in gen.frame_steps[1:]]
    return Frames(frames, captions)


def _check_scale(scale: int) -> None:
    if not 1 <= scale <= 16:
        raise ValueError(f"--scale must be in [1, 16]; got {scale}.")


def _max_frames(args: argparse.Namespace) -> int:
    if args.max_frames is not None:
        return args.max_frames
    png = Path(args.out).suffix.lower() == ".png"
    return EXPORT.strip_frames if png else EXPORT.max_frames


def _image_path(image: Path | None) -> Path:
    if image is not None:
        return image
    shipped = images.examples()
    if not shipped:
        raise ValueError("No --image given and no shipped examples in assets/examples: pass --image PATH.")
    return next(iter(shipped.values()))


# --- the sub-command registry -------------------------------------------------------------


@dataclass(frozen=True)
class ExportCommand:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    frames: Callable[[argparse.Namespace], Frames]


EXPORTS: dict[str, ExportCommand] = {}


def register(
    name: str, help: str, add_arguments: Callable[[argparse.ArgumentParser], None]
) -> Callable[[Callable[[argparse.Namespace], Frames]], Callable[[argparse.Namespace], Frames]]:
    """Decorator: make `frames(args) -> Frames` the export sub-command `name`."""

    def deco(fn: Callable[[argparse.Namespace], Frames]) -> Callable[[argparse.Namespace], Frames]:
        EXPORTS[name] = ExportCommand(name, help, add_arguments, fn)
        return fn

    return deco


def _forward_args(p: argparse.ArgumentParser) -> None:
    from ..config import SCHEDULE, SCHEDULE_NAMES

    p.add_argument(
        "--image", type=Path, default=None, help="input image (default: the first shipped example)"
    )
    p.add_argument("--schedule", choices=SCHEDULE_NAMES, default="linear", help="variance schedule")
    p.add_argument("--beta-start", type=float, default=SCHEDULE.default_beta_start, help="first beta")
    p.add_argument("--beta-end", type=float, default=SCHEDULE.default_beta_end, help="last beta")
    p.add_argument("--T", type=int, default=SCHEDULE.default_T, help="number of diffusion steps T")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise ε")
    p.add_argument("--frames", type=int, default=40, help="frames at evenly spaced t from 0 to T")
    p.add_argument(
        "--chain",
        choices=("closed", "markov"),
        default="closed",
        help="closed: x_t from eq. 4 with one fixed ε (smooth); markov: eq. 2 step by step",
    )
    p.add_argument("--size", type=int, default=EXPORT.forward_size, help="longer side of the frames (px)")


def _sampler_args(
    p: argparse.ArgumentParser,
    sampler: str,
    steps: int,
    num_samples: int,
    seed_help: str = "seed of x_T and of the per-step noise",
) -> None:
    from ..config import MODEL, SAMPLER_NAMES

    p.add_argument("--sampler", choices=SAMPLER_NAMES, default=sampler, help="reverse-chain sampler")
    p.add_argument("--steps", type=int, default=steps, help="sampler steps (1 … 1000)")
    p.add_argument("--seed", type=int, default=0, help=seed_help)
    p.add_argument("--eta", type=float, default=0.0, help="DDIM's eta (0 = deterministic)")
    p.add_argument("--num-samples", type=int, default=num_samples, help="images in the grid")
    p.add_argument("--checkpoint", type=Path, default=MODEL.checkpoint, help="DDPMPipeline folder")
    p.add_argument(
        "--dtype",
        choices=("auto", "fp32", "bf16", "fp16"),
        default="auto",
        help="UNet compute dtype: auto picks bf16 where it is clearly faster (AMX CPUs), else fp32",
    )
    p.add_argument(
        "--max-frames",
        type=int,
        default=None,
        help=f"frames of the chain at most (default {EXPORT.max_frames}, {EXPORT.strip_frames} for .png)",
    )
    p.add_argument("--scale", type=int, default=EXPORT.digit_scale, help="pixel upscaling of the digits")


def _reverse_args(p: argparse.ArgumentParser) -> None:
    from ..training.evaluate import add_guidance_arguments

    _sampler_args(p, "ddim", 50, 16)
    add_guidance_arguments(p)


def _roundtrip_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--image", type=Path, default=None, help="a digit image (default: the first shipped example)"
    )
    p.add_argument("--t", type=int, default=500, help="noise the image to step t (1 … T), then denoise")
    from ..training.evaluate import add_guidance_arguments

    _sampler_args(p, "ddpm", 1000, 1, "seed of the noise ε added to the image and of the reverse steps")
    add_guidance_arguments(p, default_w=0.0)  # the round trip runs the unconditional model


register("forward", "the forward (noising) chain of an image", _forward_args)(forward_frames)
register("reverse", "the reverse chain: noise -> a grid of digits", _reverse_args)(reverse_frames)
register("roundtrip", "noise a digit to step t, then denoise it back", _roundtrip_args)(roundtrip_frames)


def load_plugins() -> list[str]:
    """Import PLUGIN_MODULES; one that fails to import is reported on stderr and left out, so a
    broken plugin cannot take `sample`, `evaluate` or the other exports down with it."""
    failed = []
    for name in PLUGIN_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:
            failed.append(name)
            print(
                f"warning: export plugin {name} could not be loaded ({type(exc).__name__}: {exc})",
                file=sys.stderr,
            )
    return failed


def add_subcommands(parser: argparse.ArgumentParser) -> None:
    """The `export` sub-commands: one per registered export, each with the common options."""
    load_plugins()
    sub = parser.add_subparsers(dest="export_kind", required=True, metavar="KIND")
    for cmd in EXPORTS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=(cmd.frames.__doc__ or cmd.help).strip())
        cmd.add_arguments(p)
        p.add_argument("--out", type=Path, required=True, help=f"output file: {', '.join(EXTENSIONS)}")
        p.add_argument("--fps", type=float, default=None, help=f"frames per second (default {EXPORT.fps:g})")
        p.add_argument(
            "--hold", type=float, default=EXPORT.hold_last_s, help="seconds to hold the last frame"
        )
        p.add_argument("--per-row", type=int, default=EXPORT.strip_per_row, help="PNG strip: frames per row")
        p.add_argument("--no-captions", action="store_true", help="no 't = …' band under each frame")
        p.add_argument("--quiet", action="store_true", help="no progress bars")
        p.set_defaults(export_command=cmd, parser=p)


def run(args: argparse.Namespace) -> int:
    """Run one export sub-command and write its frames; ValueError for bad input."""
    check_extension(args.out)
    fps = _check_fps(args.fps) if args.fps is not None else None
    result = args.export_command.frames(args)
    frames = result.frames
    if result.captions and not args.no_captions:
        frames = [captioned(f, c) for f, c in zip(frames, result.captions, strict=True)]
    path = write(
        args.out, frames, fps or result.fps or EXPORT.fps, args.hold, args.per_row, progress=not args.quiet
    )
    w, h = frames[0].size
    print(f"wrote {path} ({len(frames)} frames, {w}x{h})")
    return 0
