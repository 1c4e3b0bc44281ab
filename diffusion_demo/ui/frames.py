"""Turning step records into what a browser can show: throttled, small, bounded.

The reverse generator yields every step; this module decides which ones become images
(Throttle), which are kept for the scrubber (Replay) and streams them (stream). The
images themselves are media/chains.py's (step_grids, show, tensor_frame).

May import: media, diffusion, config, libraries (no Gradio: the tabs consume the stream).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ..config import REVERSE
from ..diffusion.sampling import ReverseRequest, StepRecord, reverse_chain
from ..media.chains import show, step_formula, step_grids


class Throttle:
    """Which steps become frames: the first, the last, and between them at most `fps` a
    second, and no more than fit in `budget`.

    A frame costs time in which the chain does not run: making its images here, then Gradio
    encoding, caching and sending them while the generator waits at its yield (serial with
    the chain; ~15 ms a frame on 2 cores). Report that cost with `spent()`, and the next
    frame waits long enough that frames take at most `budget` of the run's time.


    `sharing()`: how many chains share the machine now (the engine's running count); then
    all of them together get REVERSE.shared_fps frames a second (a class of thirty: a frame
    each every 3 s), and the network and the other pages the machine's time.
    """

    def __init__(
        self,
        fps: float = REVERSE.max_fps,
        budget: float = REVERSE.frame_budget,
        sharing: Callable[[], int] | None = None,
    ) -> None:
        self.interval = 1.0 / fps
        self.budget = budget
        self.sharing = sharing or (lambda: 1)
        self.cost = 0.0  # what the last frame took, made and shown
        self.last = -float("inf")

    def __call__(self, record: StepRecord) -> bool:
        now = time.perf_counter()
        wait = max(self.interval, self.cost / self.budget)
        if (sharing := self.sharing()) > 1:  # several users' chains: a share of REVERSE.shared_fps
            wait = max(wait, sharing / REVERSE.shared_fps)
        if record.index in (0, record.num_steps - 1) or now - self.last >= wait:
            self.last = now
            return True
        return False

    def spent(self, seconds: float) -> None:
        """The frame just shown took `seconds`: the wait for the next one starts now."""
        self.cost = seconds
        self.last = time.perf_counter()


@dataclass
class Replay:
    """At most `limit` stored steps of a run, evenly spread, for the scrubber (bounded memory).

    `num_steps` is what the run was asked for; which records to keep is decided from the first
    record's own count (network calls: Heun makes two a step), so the last is always kept."""

    num_steps: int
    limit: int = REVERSE.max_replay_frames
    keep: set[int] = field(init=False)
    frames: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.keep = self._spread(self.num_steps)

    def _spread(self, count: int) -> set[int]:
        n = min(count, self.limit)
        return {int(round(i)) for i in np.linspace(0, count - 1, n)}

    def add(self, record: StepRecord) -> dict | None:
        """Store the step if it is one to keep; returns what was stored (or None)."""
        if not self.frames and record.num_steps != self.num_steps:  # a record per network call
            self.num_steps, self.keep = record.num_steps, self._spread(record.num_steps)
        if record.index not in self.keep:
            return None
        n = record.prev_sample.shape[0]  # the grid's size: the decision strip finds a sample in it
        stage = (
            {"stage": record.stage} if record.stage == 2 else {}
        )  # Heun's corrector, for the replay's text
        self.frames.append({"index": record.index, "t": record.t, "n": n, **stage, **step_grids(record)})
        return self.frames[-1]


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


def sharers(denoiser) -> Callable[[], int] | None:
    """How many chains share the machine with this one (an engine Chain), else None (alone)."""
    engine = getattr(denoiser, "engine", None)
    return None if engine is None else (lambda: engine.status()["running"])


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
    throttle, start = Throttle(fps, sharing=sharers(denoiser)), time.perf_counter()
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
                step_formula(denoiser, request, record),
                begun - start,
                show(grids["dir"]) if "dir" in grids else None,
            )
            throttle.spent(time.perf_counter() - begun)
        if stop is not None and stop():  # before the next step is computed
            return
