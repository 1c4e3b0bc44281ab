"""RePaint's chain as pictures: the fill-in tab's frames, its download and `export inpaint`.

    python -m diffusion_demo export inpaint --image assets/examples/digit-7.png --mask top --out fill.gif
    python -m diffusion_demo export inpaint --mask mask.png --jumps 5 --digit 8 --guidance 2 --out fill.png

A plugin of export.py (listed in export.PLUGIN_MODULES). `--mask` is a preset name or a
mask image (white = to fill).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..config import INPAINT, MODEL
from ..diffusion.inpaint import (
    InpaintRecord,
    InpaintRequest,
    check_mask,
    inpaint_chain,
    mask_from_image,
    preset_mask,
)
from ..training.evaluate import frame_indices
from . import export, images

# The fill region of the input as shown: mid grey, neither stroke nor background.
HOLE = 0.0


def masked_input(x0: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """The digit (1, C, H, W) with the part to fill shown grey: what the chain may keep."""
    return torch.where(fill > 0.5, torch.full_like(x0, HOLE), x0)


def completion(record: InpaintRecord, x0: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """What the chain would answer now: the kept pixels of x0, and the model's x̂_0 in the hole
    (after a jump up, or at the end, the chain's own sample)."""
    if record.pred_original_sample is None or record.prev_t < 0:
        return record.prev_sample.clamp(-1, 1)
    return torch.where(fill > 0.5, record.pred_original_sample, x0).clamp(-1, 1)


def chain_frames(
    denoiser, x0: torch.Tensor, fill: torch.Tensor, request: InpaintRequest, max_frames: int, scale: int
) -> export.Frames:
    """The masked input, then x_t at up to max_frames - 1 evenly spaced schedule entries."""
    shown = masked_input(x0, fill).expand(request.num_samples, *x0.shape[1:])  # the grid's shape
    shots = [export.grid_frame(_unit(shown), scale)]
    captions = ["keep / fill"]
    keep: set[int] = set()
    for record in inpaint_chain(denoiser, x0, fill, request):
        if record.index == 0:
            keep = set(frame_indices(record.num_steps, max(2, max_frames - 1)))
        if record.index in keep:
            shots.append(export.grid_frame(_unit(record.prev_sample), scale))
            arrow = "down:" if record.down else "jump up:"
            captions.append("x_0" if record.prev_t < 0 else f"{arrow} t = {record.prev_t + 1}")
    return export.Frames(shots, captions)


def _unit(x: torch.Tensor) -> np.ndarray:
    return ((x.clamp(-1, 1)[:, 0] + 1) / 2).numpy()


def load_mask(mask: str | Path) -> torch.Tensor:
    """--mask: a preset name, or the path of a mask image (white = to fill)."""
    if str(mask) in INPAINT.presets:
        return check_mask(preset_mask(str(mask), MODEL.sample_size))
    path = Path(mask)
    if not path.is_file():
        raise ValueError(
            f"--mask {mask!r} is neither a preset ({', '.join(INPAINT.presets)}) nor an image file."
        )
    return check_mask(mask_from_image(images.load_image(path), MODEL.sample_size))


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..training.evaluate import add_guidance_arguments

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
    add_guidance_arguments(p, default_w=0.0)  # a fill needs no guidance unless a digit is asked for
    p.add_argument("--checkpoint", type=Path, default=MODEL.checkpoint, help="DDPMPipeline folder")
    p.add_argument(
        "--dtype", choices=("auto", "fp32", "bf16", "fp16"), default="auto", help="UNet compute dtype"
    )
    p.add_argument("--max-frames", type=int, default=None, help="frames at most (default 100, 10 for .png)")
    p.add_argument(
        "--scale", type=int, default=export.EXPORT.digit_scale, help="pixel upscaling of the digits"
    )


def frames(args: argparse.Namespace) -> export.Frames:
    """A digit with a part masked out, filled in by RePaint: the chain, frame by frame."""
    from ..diffusion.inpaint import validate_inpaint
    from ..models import unet

    request = validate_inpaint(args.steps, args.jumps, args.seed, args.digit, args.guidance, args.num_samples)
    if not 1 <= args.scale <= 16:
        raise ValueError(f"--scale must be in [1, 16]; got {args.scale}.")
    fill = load_mask(args.mask)
    path = args.image or _first_digit()
    x0 = images.to_digit(images.load_image(path), MODEL.sample_size)[None]
    den = unet.load(args.checkpoint, autocast=args.dtype)
    max_frames = args.max_frames or (
        export.EXPORT.strip_frames if Path(args.out).suffix.lower() == ".png" else export.EXPORT.max_frames
    )
    if max_frames < 2:
        raise ValueError(f"--max-frames must be at least 2; got {max_frames}.")
    return chain_frames(den, x0, fill, request, max_frames, args.scale)


def _first_digit() -> Path:
    digits = [p for name, p in images.examples().items() if name.startswith("digit")]
    if not digits:
        raise ValueError("No --image given and no shipped digit examples: pass --image PATH.")
    return digits[0]


def grid_image(x: torch.Tensor) -> Image.Image:
    """(N, C, H, W) in [-1, 1] -> a native-size grid (the UI upscales it)."""
    return Image.fromarray(images.to_uint8(images.grid(x.float())))


export.register("inpaint", "fill in a masked part of a digit (RePaint)", add_arguments)(frames)
