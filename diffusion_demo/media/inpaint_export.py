"""RePaint's chain as pictures: the fill-in tab's grids and the masks and digits that
`export inpaint` (cli/export.py) starts from. The chain's frames are media/chains.py's
`inpaint_frames`.

May import: media (images), diffusion (inpaint), config, libraries.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from ..config import INPAINT, MODEL
from ..diffusion.inpaint import InpaintRecord, check_mask, preset_mask
from . import images
from .sketch import mask_from_image

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


def first_digit() -> Path:
    """The first shipped digit example (the default --image)."""
    digits = [p for name, p in images.examples().items() if name.startswith("digit")]
    if not digits:
        raise ValueError("No --image given and no shipped digit examples: pass --image PATH.")
    return digits[0]


def load_digit(path: Path) -> torch.Tensor:
    """A digit image as the model's input: (1, C, H, W) in [-1, 1]."""
    return images.upload_digit(images.load_image(path), MODEL.sample_size)[0][None]


def grid_image(x: torch.Tensor) -> Image.Image:
    """(N, C, H, W) in [-1, 1] -> a native-size grid (the UI upscales it)."""
    return Image.fromarray(images.to_uint8(images.grid(x.float())))
