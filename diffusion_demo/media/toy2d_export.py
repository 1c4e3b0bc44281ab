"""`python -m diffusion_demo export toy2d`: the 2D picture as a GIF, an MP4 or a PNG strip.

    python -m diffusion_demo export toy2d --dataset moons --out moons.gif
    python -m diffusion_demo export toy2d --dataset custom --point 0,0 --point 1,1 --point 2,0 --out v.mp4

A plugin of export.py (listed in export.PLUGIN_MODULES): the frames are the 2D tab's own
(toy2d_plots.animation_frames: the data pushed to N(0, I), then the learned reverse chain
back); export.py writes them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import export

DEFAULT_FPS = 12.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..config import SCHEDULE, SCHEDULE_NAMES
    from ..toy2d import DATASETS, LIMITS

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
        f"≤ {LIMITS.max_custom_points} points)",
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


def frames(args: argparse.Namespace) -> export.Frames:
    """The 2D picture: a point cloud pushed off its curve into N(0, I) (forward, with the
    chosen schedule), then fresh noise brought back by the learned reverse chain."""
    from ..diffusion.schedules import validate_spec
    from .toy2d_plots import animation_frames

    spec = validate_spec(args.schedule, args.beta_start, args.beta_end, args.T)
    shots = animation_frames(
        args.dataset,
        args.seed,
        points_text(args),
        spec,
        n_frames=args.frames,
        size=args.size,
        train_if_missing=not args.no_train,
    )
    # The figures carry their own titles (forward/reverse, t): no caption band needed.
    return export.Frames(shots, [], DEFAULT_FPS)


export.register("toy2d", "the 2D picture: a point cloud to noise and back", add_arguments)(frames)
