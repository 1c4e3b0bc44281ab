"""Turning step records into what a browser can show: throttled, small, bounded.

The reverse generator yields every step; this module decides which ones become images.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from ..config import REVERSE
from ..equations import sampler_update_md
from ..images import grid, to_pil, to_uint8
from ..sampling import ReverseRequest, StepRecord, reverse_chain


class Throttle:
    """True at most `fps` times a second, and always for the last step."""

    def __init__(self, fps: float = REVERSE.max_fps) -> None:
        self.interval = 1.0 / fps
        self.last = -float("inf")

    def __call__(self, record: StepRecord) -> bool:
        now = time.perf_counter()
        if record.index == record.num_steps - 1 or now - self.last >= self.interval:
            self.last = now
            return True
        return False


def grid_uint8(batch: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> one small uint8 grid image (what replay stores)."""
    return to_uint8(grid(batch.float().cpu()))


def show(a: np.ndarray, width: int = REVERSE.frame_width) -> Image.Image:
    """A stored uint8 grid, upscaled with nearest neighbours so pixels stay crisp."""
    img = Image.fromarray(a)
    return img.resize((width, round(img.height * width / img.width)), Image.Resampling.NEAREST)


def tensor_frame(batch: torch.Tensor, width: int = REVERSE.frame_width) -> Image.Image:
    return to_pil(grid(batch.float().cpu()), width)


@dataclass
class Replay:
    """At most `limit` stored steps of a run, evenly spread, for the scrubber (bounded memory)."""

    num_steps: int
    limit: int = REVERSE.max_replay_frames
    keep: set[int] = field(init=False)
    frames: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = min(self.num_steps, self.limit)
        self.keep = {int(round(i)) for i in np.linspace(0, self.num_steps - 1, n)}

    def add(self, record: StepRecord) -> None:
        if record.index in self.keep:
            self.frames.append(
                {
                    "index": record.index,
                    "t": record.t,
                    "x_t": grid_uint8(record.prev_sample.clamp(-1, 1)),
                    "x0": grid_uint8(record.pred_original_sample),
                    "eps": grid_uint8(record.eps_hat / 3),
                }
            )


@dataclass(frozen=True)
class Frame:
    """What the reverse tab shows for one step: three grids and the step's equation."""

    record: StepRecord
    x_t: Image.Image
    x0: Image.Image
    eps: Image.Image
    formula: str
    elapsed: float  # seconds since the run started


def stream(denoiser, request: ReverseRequest, store: Replay | None = None, fps: float = REVERSE.max_fps):
    """Consume the reverse chain and yield a Frame at most `fps` times a second (and the last step).

    Only the frames that will be shown become images; `store` keeps the replay copies.
    """
    throttle, start, last_t = Throttle(fps), time.perf_counter(), None
    for record in reverse_chain(denoiser, request):
        if store is not None:
            store.add(record)
        if throttle(record):
            yield Frame(
                record,
                tensor_frame(record.prev_sample.clamp(-1, 1)),
                tensor_frame(record.pred_original_sample),
                tensor_frame(record.eps_hat / 3),
                sampler_update_md(
                    request.sampler, denoiser.scheduler_config, record.t, record.prev_t, request.eta, last_t
                ),
                time.perf_counter() - start,
            )
        last_t = record.t
