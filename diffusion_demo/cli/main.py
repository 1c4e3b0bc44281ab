"""Order From Chaos on the command line: headless, CPU, offline.

    python -m diffusion_demo sample --sampler ddim --steps 50 --num-samples 64 --seed 0 --out grid.png
    python -m diffusion_demo sample --sampler ddpm --steps 1000 --num-samples 500 --out samples.npy
    python -m diffusion_demo evaluate --sampler ddim --steps 50 --num-samples 500
    python -m diffusion_demo export reverse --sampler ddim --steps 50 --out reverse.gif
    python -m diffusion_demo train --steps 10000 --out assets/ddpm-digits
    python -m diffusion_demo classifier

`sample --out` writes by extension: .png (a grid of the samples), .gif (the chain as an
animation, a frame per step or throttled to --max-frames), .npy (float32 N×H×W in [0, 1]).
Bad arguments, unknown extensions and a missing checkpoint exit with code 2 and a message.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..config import CLI, REVERSE
from ..diffusion.many_samples import generate
from ..diffusion.samplers import DEFAULT_SAMPLER, SAMPLER_IDS
from ..media import export
from ..models import unet
from ..models.unet import CheckpointError
from ..serving import compiled
from . import classifier, evaluate
from . import export as export_cli
from .evaluate import add_guidance_arguments, model_arguments, request_from_args

SAMPLE_EXTENSIONS: tuple[str, ...] = (".png", ".gif", ".npy")


def _sample_args(p: argparse.ArgumentParser) -> None:

    p.add_argument("--sampler", choices=SAMPLER_IDS, default=DEFAULT_SAMPLER, help="reverse-chain sampler")
    add_guidance_arguments(p)
    p.add_argument("--steps", type=int, default=REVERSE.default_steps, help="sampler steps (1 … 1000)")
    p.add_argument("--num-samples", type=int, default=REVERSE.default_samples, help="how many digits")
    p.add_argument("--seed", type=int, default=0, help="seed (0 … 2^32-1); batch 0 matches the UI's grid")
    p.add_argument("--eta", type=float, default=0.0, help="DDIM's eta in [0, 1] (0 = deterministic)")
    model_arguments(p)
    p.add_argument("--out", type=Path, required=True, help=f"output file: {', '.join(SAMPLE_EXTENSIONS)}")
    p.add_argument("--batch-size", type=int, default=CLI.batch_size, help="images per UNet call")
    p.add_argument("--scale", type=int, default=CLI.scale, help=".png/.gif: pixel upscaling (1 … 16)")
    p.add_argument("--max-frames", type=int, default=CLI.max_frames, help=".gif: frames at most (>= 2)")
    p.add_argument("--fps", type=float, default=CLI.fps, help=".gif: frames per second")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run_sample(args: argparse.Namespace) -> int:
    """The `sample` sub-command."""

    ext = args.out.suffix.lower()
    if ext not in SAMPLE_EXTENSIONS:
        raise ValueError(
            f"Cannot write {args.out.name!r}: unknown extension {ext or '(none)'!r}, "
            f"expected one of {', '.join(SAMPLE_EXTENSIONS)}."
        )
    request = request_from_args(args, CLI.max_samples)
    if not 1 <= args.batch_size <= CLI.max_batch_size:
        raise ValueError(f"--batch-size must be in [1, {CLI.max_batch_size}]; got {args.batch_size}.")
    if not 1 <= args.scale <= 16:
        raise ValueError(f"--scale must be in [1, 16]; got {args.scale}.")
    if ext == ".gif" and args.max_frames < 2:
        raise ValueError(f"--max-frames must be at least 2 (x_T and x_0); got {args.max_frames}.")
    den = unet.load(args.checkpoint, autocast=args.dtype)
    compiled.compile_if_worth_it(den, request.num_samples * request.steps)
    gen = generate(
        den,
        request,
        batch_size=args.batch_size,
        max_frames=args.max_frames if ext == ".gif" else None,
        progress=not args.quiet,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if ext == ".npy":
        np.save(args.out, gen.samples.astype(np.float32))
        what = f"float32 {gen.samples.shape} in [0, 1]"
    elif ext == ".png":
        img = export.grid_frame(gen.samples, args.scale)
        img.save(args.out, format="PNG")
        what = f"a {img.width}x{img.height} grid"
    else:
        frames = [export.grid_frame(f, args.scale) for f in gen.frames or []]
        export.write_gif(args.out, frames, fps=args.fps, hold_last_s=1.0)
        what = f"{len(frames)} frames of {frames[0].width}x{frames[0].height}"
    rate = gen.seconds / request.num_samples
    print(
        f"wrote {args.out}: {request.num_samples} samples, {request.sampler}-{request.steps}, {what} "
        f"({gen.seconds:.1f} s, {rate:.3f} s/sample)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:

    parser = argparse.ArgumentParser(
        prog="python -m diffusion_demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("sample", help="generate digits: a .png grid, a .gif of the chain, or .npy")
    _sample_args(p)
    p.set_defaults(func=run_sample, parser=p)

    # `train` is handed to diffusion_demo.cli.train.main untouched (see main()); listed here for --help.
    sub.add_parser("train", help="train the digits DDPM (see `train --help`)", add_help=False)

    p = sub.add_parser("classifier", help="train the digit classifier that judges samples")
    classifier.build_parser(p)
    p.set_defaults(func=classifier.run, parser=p)

    p = sub.add_parser(
        "evaluate",
        help="score samples: confident digits, class balance, Fréchet distance, copying",
        description=evaluate.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_arguments(p)
    p.set_defaults(func=evaluate.run, parser=p)

    p = sub.add_parser(
        "export",
        help="export a chain as .gif, .mp4 or .png strip",
        description=export.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export_cli.add_subcommands(p)  # cli/export.py: forward, reverse, roundtrip, toy2d, inpaint
    p.set_defaults(func=export_cli.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse, run, and turn user errors into argparse errors (exit code 2 with a message)."""

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["train"]:
        from . import train  # deferred: it parses its own flags; nothing else is needed

        prog, sys.argv[0] = sys.argv[0], "python -m diffusion_demo train"
        try:
            train.main(argv[1:])
        finally:
            sys.argv[0] = prog
        return 0
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, CheckpointError, unet.DeviceError) as exc:
        getattr(args, "parser", parser).error(str(exc))
    return 2
