"""The reverse chain for many samples at once: batches, per-batch seeds, a progress bar and
a bounded number of snapshots (for GIF/MP4 exports, `sample` and `evaluate`).

May import: diffusion (sampling), config, libraries.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from .sampling import ReverseRequest, reverse_chain

# Images per UNet call: per-image cost stops falling beyond 64 on a CPU, and the memory
# stays small (64 x 784 floats per state); evaluate's EVAL.batch_size is the same.
DEFAULT_BATCH_SIZE = 64


@dataclass
class Generated:
    """What a batched run of the reverse chain produced."""

    samples: np.ndarray  # float32 (N, H, W) in [0, 1] (N, H, W, C for colour models)
    # uint8 (N, H, W[, C]) snapshots of the chain, x_T first and x_0 last; None when not asked for
    frames: list[np.ndarray] | None = None
    frame_steps: list[int] = field(default_factory=list)  # the timestep each frame shows (-1: x_0)
    seconds: float = 0.0
    labels: np.ndarray | None = None  # the label y of each sample (a class-conditional model)


def batch_seed(seed: int, index: int) -> int:
    """Batch 0 uses `seed` itself (so 16 CLI samples equal the UI's grid); later batches get
    independent 32-bit seeds derived from (seed, index)."""
    if index == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


def frame_indices(num_steps: int, max_frames: int) -> list[int]:
    """Which steps' outputs to keep so that 1 + len(result) <= max_frames (x_T is frame 0).

    Every step when it fits, else evenly spaced ones; the last step (x_0) is always kept.
    """
    if max_frames < 2:
        raise ValueError(f"max_frames must be at least 2 (x_T and x_0); got {max_frames}.")
    if num_steps + 1 <= max_frames:
        return list(range(num_steps))
    return sorted({int(round(v)) for v in np.linspace(0, num_steps - 1, max_frames)[1:]})


def to_unit(x: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> float32 (N, H, W) (or (N, H, W, C)) in [0, 1]."""
    a = ((x.detach().float().clamp(-1, 1) + 1) / 2).cpu().numpy()
    return a[:, 0] if a.shape[1] == 1 else a.transpose(0, 2, 3, 1)


def unit_uint8(x: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> uint8 (N, H, W) (or (N, H, W, C)): one stored snapshot."""
    return (to_unit(x) * 255).round().astype(np.uint8)


@dataclass
class _Run:
    """What `generate` collects across batches."""

    keep: set[int] = field(default_factory=set)
    samples: list[np.ndarray] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)
    frames: list[list[np.ndarray]] | None = None
    timesteps: list[int] = field(default_factory=list)
    bar: tqdm | None = None


def _run_batch(denoiser, req: ReverseRequest, run: _Run, first: bool, x_start, start_t, bar_args) -> list:
    """One batch through the chain: its snapshots (and, into `run`, its labels and timesteps)."""
    n, batch_size, max_frames, progress = bar_args
    chain = reverse_chain(denoiser, req, x_start, start_t=start_t)
    batch_frames: list[np.ndarray] = []
    x = None
    try:
        for record in chain:
            if run.bar is None:  # the step count is known once the chain has started
                total = record.num_steps * -(-n // batch_size)
                run.bar = tqdm(
                    total=total, desc=f"{req.sampler}-{record.num_steps}", unit="step", disable=not progress
                )
                if max_frames:
                    run.keep = set(frame_indices(record.num_steps, max_frames))
            if first:
                run.timesteps.append(record.t)
            if record.index == 0 and record.labels is not None:
                run.labels.append(record.labels.numpy())
            if max_frames and record.index == 0:
                batch_frames.append(unit_uint8(record.x_t))
            if record.index in run.keep:
                batch_frames.append(unit_uint8(record.prev_sample))
            x = record.prev_sample
            run.bar.update(1)
    finally:
        chain.close()
    if x is None:  # no steps (start_t below every timestep): x_start is the answer
        x = x_start
    run.samples.append(to_unit(x))
    return batch_frames


def generate(
    denoiser,
    request: ReverseRequest,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_frames: int | None = None,
    progress: bool = True,
    x_start: torch.Tensor | None = None,
    start_t: int | None = None,
) -> Generated:
    """Run `sampling.reverse_chain` for request.num_samples samples in batches, with a tqdm bar.

    `max_frames`: also keep up to that many snapshots of the chain (for GIF/MP4 exports).
    `x_start`/`start_t`: start from given noisy images at a timestep (the round trip).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}.")
    n = request.num_samples if x_start is None else len(x_start)
    if request.digit == "each" and batch_size >= 10:  # whole cycles of 0 … 9 in every batch
        batch_size -= batch_size % 10
    run = _Run()
    start = time.perf_counter()
    for b, lo in enumerate(range(0, n, batch_size)):
        size = min(batch_size, n - lo)
        # 1. each batch its own seed (batch 0: the request's, so it matches the UI's grid)
        req = dataclasses.replace(request, num_samples=size, seed=batch_seed(request.seed, b))
        part = None if x_start is None else x_start[lo : lo + size]
        batch_frames = _run_batch(
            denoiser, req, run, b == 0, part, start_t, (n, batch_size, max_frames, progress)
        )
        # 2. the snapshots of all batches, frame by frame
        if max_frames:
            if run.frames is None:
                run.frames = [[] for _ in batch_frames]
            for k, f in enumerate(batch_frames):
                run.frames[k].append(f)
    if run.bar is not None:
        run.bar.close()
    ts = run.timesteps
    return Generated(
        samples=np.concatenate(run.samples).astype(np.float32),
        frames=None if run.frames is None else [np.concatenate(f) for f in run.frames],
        # frame 0 shows x_T at the first timestep; step i's output is x at step i+1's timestep
        frame_steps=(ts[:1] + [(ts + [-1])[i + 1] for i in sorted(run.keep)]) if max_frames else [],
        seconds=time.perf_counter() - start,
        labels=np.concatenate(run.labels) if run.labels else None,
    )
