"""Frames to files: GIF, MP4 and PNG-strip writers, captions, and digit grids as frames.

The output format follows the extension: .gif (an animation that loops), .mp4 (H.264,
yuv420p, frames padded to even size) or .png (a strip of the frames, wrapped into rows).
What the frames show is built in media/chains.py; the `export` command line is
cli/export.py; the Gradio downloads are media/export_files.py and ui/export_buttons.py.

May import: media (images), config, libraries.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from tqdm import tqdm

from ..config import EXPORT
from . import images

Frame = Image.Image | np.ndarray
EXTENSIONS: tuple[str, ...] = (".gif", ".mp4", ".png")


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


def check_fps(fps: float) -> float:
    """fps as a float in (0, EXPORT.max_fps]; ValueError otherwise."""
    fps = float(fps)
    if not math.isfinite(fps) or not 0 < fps <= EXPORT.max_fps:
        raise ValueError(f"fps must be in (0, {EXPORT.max_fps:g}]; got {fps:g}.")
    return fps


def _progress(items, desc: str, progress: bool):
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
    fps = check_fps(fps)
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
    import imageio.v2 as imageio  # deferred: imageio-ffmpeg is only needed for MP4 (start-up time)

    fps = check_fps(fps)
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


def with_captions(frames: Frames, captions: bool = True) -> list[Image.Image]:
    """The frames, each with its caption band underneath (when it has captions and `captions`)."""
    if frames.captions and captions:
        return [captioned(f, c) for f, c in zip(frames.frames, frames.captions, strict=True)]
    return list(frames.frames)
