"""`python -m diffusion_demo export KIND`: a chain as a GIF, an MP4 or a PNG strip.

    python -m diffusion_demo export forward --image assets/examples/digit3.png --schedule cosine \\
        --seed 3 --frames 40 --out chain.gif
    python -m diffusion_demo export reverse --sampler ddim --steps 50 --seed 0 --out reverse.mp4
    python -m diffusion_demo export roundtrip --image digit.png --t 500 --seed 0 --out roundtrip.png
    python -m diffusion_demo export toy2d --dataset moons --out moons.gif
    python -m diffusion_demo export inpaint --image assets/examples/digit-7.png --mask top --out fill.gif

The output format follows the extension of --out: .gif (an animation that loops), .mp4
(H.264, yuv420p, frames padded to even size) or .png (a strip of the frames, wrapped into
rows). Each sub-command turns its flags into a typed request for media/chains.py, which
builds the frames; media/export.py writes them. `inpaint --mask` is a preset name or a mask
image (white = to fill).

Adding an export: write `add_arguments(parser)` and `frames(args) -> Frames` here and
call `register("name", "help text", add_arguments)(frames)`.

May import: cli, media, diffusion, models, training, config.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import EXPORT, INPAINT, SCHEDULE, SCHEDULE_NAMES, TOY2D_LIMITS
from ..diffusion import forward
from ..diffusion.inpaint import validate_inpaint
from ..diffusion.roundtrip import start_timestep
from ..diffusion.samplers import DEFAULT_SAMPLER, SAMPLER_IDS, ddpm
from ..diffusion.schedules import spec_from_config, validate_spec
from ..media import chains, images, inpaint_export
from ..media.export import EXTENSIONS, Frames, captioned, check_extension, check_fps, write
from ..models import unet
from ..serving import compiled
from ..toy2d.data import DATASETS
from .evaluate import add_guidance_arguments, guidance_for, model_arguments, request_from_args

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


def default_frames(out: Path) -> int:
    """Frames of a chain unless --max-frames says otherwise: 100, but 10 for a .png strip (a figure)."""
    return EXPORT.strip_frames if Path(out).suffix.lower() == ".png" else EXPORT.max_frames


def max_frames(args: argparse.Namespace) -> int:
    """--max-frames, else default_frames."""
    return args.max_frames if args.max_frames is not None else default_frames(args.out)


def image_path(image: Path | None) -> Path:
    """--image, else the first shipped example; ValueError naming --image if it is not a file."""
    if image is not None:
        return existing_image(image)
    shipped = images.examples()
    if not shipped:
        raise ValueError("No --image given and no shipped examples in assets/examples: pass --image PATH.")
    return next(iter(shipped.values()))


def existing_image(image: Path) -> Path:
    """--image as given, if it is a file (relative paths from the folder the command runs in)."""
    if not Path(image).is_file():
        raise ValueError(f"--image: file not found: {image}")
    return Path(image)


# --- forward, reverse, roundtrip ----------------------------------------------------------


def forward_arguments(p: argparse.ArgumentParser) -> None:
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
        choices=chains.CHAINS,
        default="closed",
        help="closed: x_t from eq. 4 with one fixed ε (smooth); markov: eq. 2 step by step",
    )
    p.add_argument("--size", type=int, default=EXPORT.forward_size, help="longer side of the frames (px)")


def forward_frames(args: argparse.Namespace) -> Frames:
    """The forward chain x_0 -> x_T of one image at evenly spaced t (closed form or Markov)."""
    spec = validate_spec(args.schedule, args.beta_start, args.beta_end, args.T)
    request = chains.ForwardRequest(
        image_path(args.image), spec, args.seed, args.frames, args.chain, args.size
    )
    return chains.forward_frames(request, progress=not args.quiet)


def sampler_arguments(
    p: argparse.ArgumentParser,
    sampler: str,
    steps: int,
    num_samples: int,
    seed_help: str = "seed of x_T and of the per-step noise",
) -> None:
    p.add_argument("--sampler", choices=SAMPLER_IDS, default=sampler, help="reverse-chain sampler")
    p.add_argument("--steps", type=int, default=steps, help="sampler steps (1 … 1000)")
    p.add_argument("--seed", type=int, default=0, help=seed_help)
    p.add_argument("--eta", type=float, default=0.0, help="DDIM's eta (0 = deterministic)")
    p.add_argument("--num-samples", type=int, default=num_samples, help="images in the grid")
    model_arguments(p)
    p.add_argument(
        "--max-frames",
        type=int,
        default=None,
        help=f"frames of the chain at most (default {EXPORT.max_frames}, {EXPORT.strip_frames} for .png)",
    )
    p.add_argument("--scale", type=int, default=EXPORT.digit_scale, help="pixel upscaling of the digits")


def reverse_arguments(p: argparse.ArgumentParser) -> None:
    sampler_arguments(p, DEFAULT_SAMPLER, 50, 16)
    add_guidance_arguments(p)


def reverse_frames(args: argparse.Namespace) -> Frames:
    """The reverse chain x_T -> x_0 of a grid of samples, one frame per step (or throttled)."""
    request = request_from_args(args, 256)
    chains.check_scale(args.scale)
    den = unet.load(args.checkpoint, autocast=args.dtype)
    compiled.compile_if_worth_it(den, request.num_samples * request.steps)
    return chains.reverse_frames(den, request, max_frames(args), args.scale, progress=not args.quiet)


def roundtrip_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--image", type=Path, default=None, help="a digit image (default: the first shipped example)"
    )
    p.add_argument(
        "--t",
        type=int,
        default=500,
        help="noise the image to step t (1 … T of the model's schedule), then denoise",
    )
    sampler_arguments(
        p, ddpm.SAMPLER.id, 1000, 1, "seed of the noise ε added to the image and of the reverse steps"
    )
    add_guidance_arguments(p, target_only=True)  # as /roundtrip_sketch: w only with a target digit


def roundtrip_frames(args: argparse.Namespace) -> Frames:
    """Noise a digit to step t (forward.q_sample: diffusers' add_noise), then denoise it back."""
    request = request_from_args(args, 64)
    chains.check_scale(args.scale)
    den = unet.load(args.checkpoint, autocast=args.dtype)
    compiled.compile_if_worth_it(den, request.num_samples * request.steps)
    T = spec_from_config(den.scheduler_config).T  # the schedule the model was trained with
    if not 1 <= args.t <= T:  # one range in one message, whichever side is crossed
        raise ValueError(f"--t must be a whole number in [1, {T}] for a round trip; got {args.t}.")
    t = forward.check_t(args.t, T)
    # The chain starts exactly where the sampler has a step: the largest of its timesteps
    # <= t - 1 (diffusers counts from 0, the app from 1); DDPM with 1000 steps hits every t.
    start = start_timestep(den.scheduler_config, request.sampler, request.steps, t)
    if start + 1 != t and not args.quiet:
        print(f"note: {request.sampler}-{request.steps} has no step at t = {t}; starting at t = {start + 1}.")
    x0 = images.upload_digit(images.load_image(image_path(args.image)), den.sample_shape[-1])[0]
    rt = chains.RoundTripRequest(x0, t, request)
    return chains.roundtrip_frames(den, rt, max_frames(args), args.scale, progress=not args.quiet)


register("forward", "the forward (noising) chain of an image", forward_arguments)(forward_frames)
register("reverse", "the reverse chain: noise -> a grid of digits", reverse_arguments)(reverse_frames)
register("roundtrip", "noise a digit to step t, then denoise it back", roundtrip_arguments)(roundtrip_frames)


# --- toy2d, inpaint -----------------------------------------------------------------------


def toy2d_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=DATASETS, default="moons", help="the 2D data set")
    p.add_argument(
        "--point",
        action="append",
        default=None,
        metavar="X,Y",
        help="a point of a custom set (--dataset custom; repeat the option, one point each)",
    )
    p.add_argument(
        "--points-file", type=Path, default=None, help="custom set: a text file with one 'x, y' per line"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the data points, ε and x_T")
    p.add_argument(
        "--schedule", choices=SCHEDULE_NAMES, default="linear", help="schedule of the forward frames"
    )
    p.add_argument("--beta-start", type=float, default=SCHEDULE.default_beta_start, help="first beta")
    p.add_argument("--beta-end", type=float, default=SCHEDULE.default_beta_end, help="last beta")
    p.add_argument("--T", type=int, default=SCHEDULE.default_T, help="number of diffusion steps T")
    p.add_argument("--frames", type=int, default=24, help="frames each way (forward, then reverse): 2 … 200")
    p.add_argument("--size", type=int, default=320, help="frame size in pixels (square): 8 … 1024")
    p.add_argument(
        "--no-train",
        action="store_true",
        help=f"fail instead of training a model when none is shipped (custom sets: ~15 s, "
        f"≤ {TOY2D_LIMITS.max_custom_points} points)",
    )


def points_text(args: argparse.Namespace) -> str:
    """The custom points as the tab's text format (one 'x, y' per line)."""
    lines = list(args.point or [])
    if args.points_file is not None:
        try:
            lines.append(Path(args.points_file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"Cannot read --points-file {args.points_file}: {type(exc).__name__}.") from None
    if args.dataset != "custom" and lines:
        raise ValueError("--point / --points-file need --dataset custom.")
    if args.dataset == "custom" and not lines:
        raise ValueError("--dataset custom needs points: --point X,Y (repeated) or --points-file PATH.")
    return "\n".join(lines)


def toy2d_frames(args: argparse.Namespace) -> Frames:
    """The 2D picture: a point cloud pushed off its curve into N(0, I) (forward, with the
    chosen schedule), then fresh noise brought back by the learned reverse chain."""
    spec = validate_spec(args.schedule, args.beta_start, args.beta_end, args.T)
    request = chains.Toy2dRequest(
        args.dataset,
        args.seed,
        points_text(args),
        spec,
        frames=args.frames,
        size=args.size,
        train_if_missing=not args.no_train,
    )
    return chains.toy2d_frames(request)


def inpaint_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--image", type=Path, default=None, help="a digit image (default: the first shipped digit)"
    )
    p.add_argument(
        "--mask",
        default="top",
        help=f"a preset ({', '.join(INPAINT.presets)}) or a mask image, white = to fill",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of x_T and of every step's noise")
    p.add_argument("--steps", type=int, default=INPAINT.default_steps, help="steps down (1 … 1000)")
    p.add_argument(
        "--jumps", type=int, default=INPAINT.default_jumps, help="RePaint's r: 1 = no resampling … 10"
    )
    p.add_argument("--num-samples", type=int, default=INPAINT.num_samples, help="completions side by side")
    add_guidance_arguments(p, target_only=True)  # as /inpaint: w only with a target digit
    model_arguments(p)
    p.add_argument("--max-frames", type=int, default=None, help="frames at most (default 100, 10 for .png)")
    p.add_argument("--scale", type=int, default=EXPORT.digit_scale, help="pixel upscaling of the digits")


def inpaint_frames(args: argparse.Namespace) -> Frames:
    """A digit with a part masked out, filled in by RePaint: the chain, frame by frame."""
    w = guidance_for(args)
    request = validate_inpaint(args.steps, args.jumps, args.seed, args.digit, w, args.num_samples)
    chains.check_scale(args.scale)
    fill = inpaint_export.load_mask(args.mask)
    x0 = inpaint_export.load_digit(existing_image(args.image) if args.image else inpaint_export.first_digit())
    den = unet.load(args.checkpoint, autocast=args.dtype)
    n = args.max_frames or default_frames(args.out)
    return chains.inpaint_frames(den, x0, fill, request, n, args.scale)


register("toy2d", "the 2D picture: a point cloud to noise and back", toy2d_arguments)(toy2d_frames)
register("inpaint", "fill in a masked part of a digit (RePaint)", inpaint_arguments)(inpaint_frames)


# --- the `export` command -----------------------------------------------------------------


def add_subcommands(parser: argparse.ArgumentParser) -> None:
    """The `export` sub-commands: one per registered export, each with the common options."""
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
    fps = check_fps(args.fps) if args.fps is not None else None
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
