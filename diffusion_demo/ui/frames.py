"""Turning step records into what a browser can show: throttled, small, bounded.

The reverse generator yields every step; this module decides which ones become images.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from ..config import REVERSE
from ..diffusion.sampling import ReverseRequest, StepRecord, reverse_chain
from ..media.equations import guidance_md, sampler_update_md
from ..media.images import grid, to_uint8


class Throttle:
    """Which steps become frames: the first, the last, and between them at most `fps` a
    second, and no more than fit in `budget`.

    A frame costs time in which the chain does not run: making its images here, then Gradio
    encoding, caching and sending them while the generator waits at its yield (serial with
    the chain; ~15 ms a frame on 2 cores). Report that cost with `spent()`, and the next
    frame waits long enough that frames take at most `budget` of the run's time.
    """

    def __init__(self, fps: float = REVERSE.max_fps, budget: float = REVERSE.frame_budget) -> None:
        self.interval = 1.0 / fps
        self.budget = budget
        self.cost = 0.0  # what the last frame took, made and shown
        self.last = -float("inf")

    def __call__(self, record: StepRecord) -> bool:
        now = time.perf_counter()
        wait = max(self.interval, self.cost / self.budget)
        if record.index in (0, record.num_steps - 1) or now - self.last >= wait:
            self.last = now
            return True
        return False

    def spent(self, seconds: float) -> None:
        """The frame just shown took `seconds`: the wait for the next one starts now."""
        self.cost = seconds
        self.last = time.perf_counter()


def grid_uint8(batch: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> one small uint8 grid image (what replay stores)."""
    return to_uint8(grid(batch.float().cpu()))


def show(a: np.ndarray, width: int | None = None) -> Image.Image:
    """A stored uint8 grid as an image: native size for the UI (the browser upscales it,
    see `common.frame_image`), or upscaled to `width` with nearest neighbours (exports)."""
    img = Image.fromarray(a)
    if width is None:
        return img
    return img.resize((width, round(img.height * width / img.width)), Image.Resampling.NEAREST)


def tensor_frame(batch: torch.Tensor, width: int | None = None) -> Image.Image:
    """(N, C, H, W) in [-1, 1] -> one grid image, native size unless `width` is given."""
    return show(grid_uint8(batch), width)


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

    def add(self, record: StepRecord) -> dict | None:
        """Store the step if it is one to keep; returns what was stored (or None)."""
        if record.index not in self.keep:
            return None
        self.frames.append({"index": record.index, "t": record.t, **step_grids(record)})
        return self.frames[-1]


def guidance_direction(record: StepRecord) -> torch.Tensor | None:
    """ε̂_y − ε̂_∅ of a guided step (None where w ∈ {0, 1} computed only one of them)."""
    if record.eps_cond is None or record.eps_uncond is None:
        return None
    return record.eps_cond - record.eps_uncond


def step_grids(record: StepRecord) -> dict[str, np.ndarray]:
    """The grids of a step as uint8 arrays: x_t (clipped), x̂_0, ε̂ (±3σ) and, for a guided
    step, the guidance direction ε̂_y − ε̂_∅ (scaled to ±4 of its own RMS: it is small)."""
    grids = {
        "x_t": grid_uint8(record.prev_sample.clamp(-1, 1)),
        "x0": grid_uint8(record.pred_original_sample),
        "eps": grid_uint8(record.eps_hat / 3),
    }
    direction = guidance_direction(record)
    if direction is not None:
        grids["dir"] = grid_uint8(direction / (4 * direction.pow(2).mean().sqrt().clamp(min=1e-8)))
    return grids


def step_formula(denoiser, request: ReverseRequest, record: StepRecord, last_t: int | None) -> str:
    """The sampler's update with this step's numbers, and the guidance with w (conditional model)."""
    text = sampler_update_md(
        request.sampler, denoiser.scheduler_config, record.t, record.prev_t, request.eta, last_t
    )
    if record.labels is None:
        return text
    direction = guidance_direction(record)
    rms = None if direction is None else float(direction.pow(2).mean().sqrt())
    return guidance_md(record.guidance, request.digit, rms) + "\n\n---\n\n" + text


@dataclass(frozen=True)
class Frame:
    """What the reverse tab shows for one step: three grids and the step's equation."""

    record: StepRecord
    x_t: Image.Image
    x0: Image.Image
    eps: Image.Image
    formula: str
    elapsed: float  # seconds since the run started
    direction: Image.Image | None = None  # ε̂_y − ε̂_∅ of a guided step


def stream(
    denoiser,
    request: ReverseRequest,
    store: Replay | None = None,
    fps: float = REVERSE.max_fps,
    stop: Callable[[], bool] | None = None,
):
    """Consume the reverse chain and yield a Frame for the steps `Throttle` picks.

    Only the frames that will be shown become images (from the replay copy, when `store`
    keeps the step).
    The time a frame takes, including the wait at its yield while the consumer shows it,
    is charged to the throttle, so a slow consumer gets fewer frames, not a slower chain.
    `stop` is asked after every step: once it says so, no further step runs (Stop within a
    step, though frames, where a consumer's own cancel takes effect, are further apart).
    """
    throttle, start, last_t = Throttle(fps), time.perf_counter(), None
    for record in reverse_chain(denoiser, request):
        stored = store.add(record) if store is not None else None
        if throttle(record):
            begun = time.perf_counter()
            grids = stored or step_grids(record)  # a stored step's grids are not made twice
            yield Frame(
                record,
                show(grids["x_t"]),
                show(grids["x0"]),
                show(grids["eps"]),
                step_formula(denoiser, request, record, last_t),
                begun - start,
                show(grids["dir"]) if "dir" in grids else None,
            )
            throttle.spent(time.perf_counter() - begun)
        last_t = record.t
        if stop is not None and stop():  # before the next step is computed
            return
