"""Chains as frames: what every export, download and the reverse tab's stream show.

Each function takes a typed request (ForwardRequest, ReverseRequest, RoundTripRequest,
InpaintRequest, Toy2dRequest) and returns images; which steps become frames is decided here
(diffusion.many_samples.frame_indices: evenly spaced, the last step kept). The command line
(cli/export.py), the downloads (media/export_files.py) and the reverse tab (ui/frames.py) call
the same functions; media/export.py writes the frames.

May import: media, diffusion, toy2d (through toy2d_plots), config, checks, libraries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from ..checks import choice
from ..config import EXPORT
from ..diffusion import forward
from ..diffusion.inpaint import InpaintRequest, inpaint_chain
from ..diffusion.many_samples import frame_indices, generate, unit_uint8
from ..diffusion.roundtrip import round_trip
from ..diffusion.sampling import ReverseRequest, StepRecord, reverse_chain
from ..diffusion.schedules import ScheduleSpec, spec_from_config
from . import images, toy2d_plots
from .equations import clips, guidance_md, sampler_update_md
from .export import Frames, grid_frame, label_t
from .inpaint_export import masked_input

CHAINS: tuple[str, ...] = ("closed", "markov")


# --- grids of a step ----------------------------------------------------------------------


def grid_uint8(batch: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> one small uint8 grid image (what replay stores)."""
    return images.to_uint8(images.grid(batch.float().cpu()))


def show(a: np.ndarray, width: int | None = None) -> Image.Image:
    """A stored uint8 grid as an image: native size for the UI (the browser upscales it,
    see `common.frame_image`), or upscaled to `width` with nearest neighbours (exports)."""
    img = Image.fromarray(np.asarray(a))
    if width is None:
        return img
    return img.resize((width, round(img.height * width / img.width)), Image.Resampling.NEAREST)


def tensor_frame(batch: torch.Tensor, width: int | None = None) -> Image.Image:
    """(N, C, H, W) in [-1, 1] -> one grid image, native size unless `width` is given."""
    return show(grid_uint8(batch), width)


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


def step_formula(denoiser, request: ReverseRequest, record: StepRecord) -> str:
    """The sampler's update with the numbers the record carries, and the guidance with w
    (a conditional model): no scheduler is built for it."""
    text = sampler_update_md(record.numbers, clips(denoiser.scheduler_config, request.sampler))
    if record.labels is None:
        return text
    direction = guidance_direction(record)
    rms = None if direction is None else float(direction.pow(2).mean().sqrt())
    outside = (request.guidance, request.guidance_interval) if record.guidance != request.guidance else None
    return guidance_md(record.guidance, request.digit, rms, outside) + "\n\n---\n\n" + text


def check_scale(scale: int) -> int:
    """The pixel upscaling of digit frames: a whole number in [1, 16]."""
    if not 1 <= scale <= 16:
        raise ValueError(f"--scale must be in [1, 16]; got {scale}.")
    return int(scale)


# --- the forward chain --------------------------------------------------------------------


@dataclass(frozen=True)
class ForwardRequest:
    """The forward chain of one image: which image, schedule, noise and how many frames."""

    image: Path
    spec: ScheduleSpec
    seed: int = 0
    frames: int = 40
    chain: str = "closed"  # closed: eq. 4 with one fixed ε (smooth); markov: eq. 2 step by step
    size: int = EXPORT.forward_size  # the longer side of the frames (px)


def forward_frames(request: ForwardRequest, progress: bool = False) -> Frames:
    """The forward chain x_0 -> x_T of one image at evenly spaced t (closed form or Markov)."""
    chain = choice(request.chain, "chain", CHAINS)
    if not 2 <= request.frames <= 1000:
        raise ValueError(f"--frames must be in [2, 1000]; got {request.frames}.")
    if not 8 <= request.size <= 2048:
        raise ValueError(f"--size must be in [8, 2048] pixels; got {request.size}.")
    spec = request.spec
    x0 = images.to_tensor(images.fit(images.load_image(request.image), request.size))
    ts = forward.evenly_spaced(spec.T, request.frames)
    if chain == "markov":  # eq. 2, one step at a time (slow for large T)
        xs = forward.iterate_chain(x0, spec, ts, request.seed)
    else:  # eq. 4 with one fixed ε: x_t morphs smoothly as t grows
        eps = forward.fixed_noise(x0.shape, request.seed)
        xs = {t: forward.q_sample(x0, t, spec, eps) for t in tqdm(ts, desc="forward", disable=not progress)}
    return Frames([images.to_pil(xs[t]) for t in ts], [f"t = {t}" for t in ts])


# --- the reverse chain --------------------------------------------------------------------


def reverse_frames(
    denoiser, request: ReverseRequest, max_frames: int, scale: int, progress: bool = False
) -> Frames:
    """The reverse chain x_T -> x_0 of a grid of samples, one frame per step (or throttled)."""
    check_scale(scale)
    gen = generate(denoiser, request, batch_size=64, max_frames=max_frames, progress=progress)
    return Frames([grid_frame(f, scale) for f in gen.frames or []], [label_t(t) for t in gen.frame_steps])


# --- the round trip -----------------------------------------------------------------------


@dataclass(frozen=True)
class RoundTripRequest:
    """A digit noised to step t, then denoised back by `reverse` (its num_samples copies of
    x_t each find their own way back)."""

    x0: torch.Tensor  # one digit (C, H, W) in [-1, 1]
    t: int  # the app's t (1 … T); the chain starts at the sampler's step at or below it
    reverse: ReverseRequest


@dataclass(frozen=True)
class BackStep:
    """One kept step of the way back: where it was evaluated, where it landed, and x there."""

    t: int  # diffusers timestep the network saw
    prev_t: int  # diffusers timestep it landed on (-1: x_0)
    last: bool  # the final step (x_0)
    x: torch.Tensor  # (N, C, H, W) the sample after the step


@dataclass(frozen=True)
class RoundTripChain:
    x_t: torch.Tensor  # (N, C, H, W): where the way back starts
    timestep: int  # the diffusers timestep of x_t (the app's t is timestep + 1)
    steps: list[BackStep]


def roundtrip_chain(
    denoiser, request: RoundTripRequest, max_frames: int, progress: bool = False
) -> RoundTripChain:
    """diffusion.roundtrip.round_trip, keeping at most max_frames - 1 steps of the way back
    (x_t is frame 0; frame_indices: evenly spaced, x_0 always kept)."""
    n = request.reverse.num_samples
    # 1. x_t = sqrt(ᾱ_t) x_0 + sqrt(1 − ᾱ_t) ε (eq. 4) at the sampler's first step ≤ t, and the chain back
    x_t, timestep, chain = round_trip(denoiser, request.x0[None], request.t, request.reverse)
    if n > 1:  # every sample starts from the same x_t, with its own per-step noise
        chain.close()
        x_t = x_t.repeat(n, 1, 1, 1)
        chain = reverse_chain(denoiser, request.reverse, x_start=x_t, start_t=timestep)
    # 2. the way back, p_θ(x_{t-1} | x_t) step by step; the frames to keep are known at step 0
    steps: list[BackStep] = []
    keep: set[int] = set()
    with torch.inference_mode():
        for record in tqdm(chain, desc=f"{request.reverse.sampler}-back", unit="step", disable=not progress):
            if record.index == 0:
                keep = set(frame_indices(record.num_steps, max_frames))
            if record.index in keep:
                last = record.index == record.num_steps - 1
                steps.append(BackStep(record.t, record.prev_t, last, record.prev_sample))
    return RoundTripChain(x_t, timestep, steps)


def _u8(x: torch.Tensor) -> np.ndarray:
    """(N, 1, H, W) in [-1, 1] -> uint8 (N, H, W)."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()[:, 0]


def roundtrip_frames(
    denoiser, request: RoundTripRequest, max_frames: int, scale: int, progress: bool = False
) -> Frames:
    """Noise a digit to step t (forward.q_sample: diffusers' add_noise), then denoise it back:
    a quarter of the frames show the way out (x_0 … x_t), the rest the way back."""
    check_scale(scale)
    n = request.reverse.num_samples
    n_fwd = max(2, max_frames // 4)
    # its frame 0 (x_t) is the forward part's last
    back = roundtrip_chain(denoiser, request, max(2, max_frames - n_fwd + 1), progress)
    spec = spec_from_config(denoiser.scheduler_config)
    x0 = request.x0
    eps = forward.fixed_noise(x0.shape, request.reverse.seed)
    fwd_ts = forward.evenly_spaced(back.timestep + 1, n_fwd)
    fwd = [x0 if s == 0 else forward.q_sample(x0, s, spec, eps) for s in fwd_ts]
    frames = [grid_frame(np.repeat(_u8(f[None]), n, 0), scale) for f in fwd]
    captions = [f"forward t = {s}" for s in fwd_ts]
    frames += [grid_frame(unit_uint8(s.x), scale) for s in back.steps]
    captions += [f"reverse {label_t(s.prev_t)}" for s in back.steps]
    return Frames(frames, captions)


def roundtrip_view_frames(denoiser, request: RoundTripRequest, max_frames: int, width: int) -> Frames:
    """The round-trip tab's frames: x_0, x_t and the way back (at most max_frames - 1 steps),
    each a grid `width` pixels wide; t = 0 is x_0 alone."""
    shots, captions = [tensor_frame(request.x0[None], width)], ["x_0"]
    if request.t > 0:
        back = roundtrip_chain(denoiser, request, max_frames)
        shots.append(tensor_frame(back.x_t, width))
        captions.append(f"x_t, t = {back.timestep + 1}")
        for s in back.steps:
            shots.append(tensor_frame(s.x.clamp(-1, 1), width))
            captions.append("back: x_0" if s.last else f"back: t = {s.t + 1}")
    return Frames(shots, captions)


# --- the fill-in chain (RePaint) ----------------------------------------------------------


def _unit(x: torch.Tensor) -> np.ndarray:
    return ((x.clamp(-1, 1)[:, 0] + 1) / 2).numpy()


def inpaint_frames(
    denoiser, x0: torch.Tensor, fill: torch.Tensor, request: InpaintRequest, max_frames: int, scale: int
) -> Frames:
    """The masked input, then x_t at up to max_frames - 1 evenly spaced schedule entries."""
    check_scale(scale)
    if max_frames < 2:
        raise ValueError(f"--max-frames must be at least 2; got {max_frames}.")
    shown = masked_input(x0, fill).expand(request.num_samples, *x0.shape[1:])  # the grid's shape
    shots = [grid_frame(_unit(shown), scale)]
    captions = ["keep / fill"]
    keep: set[int] = set()
    for record in inpaint_chain(denoiser, x0, fill, request):
        if record.index == 0:
            keep = set(frame_indices(record.num_steps, max(2, max_frames - 1)))
        if record.index in keep:
            shots.append(grid_frame(_unit(record.prev_sample), scale))
            arrow = "down:" if record.down else "jump up:"
            captions.append("x_0" if record.prev_t < 0 else f"{arrow} t = {record.prev_t + 1}")
    return Frames(shots, captions)


# --- the 2D picture -----------------------------------------------------------------------


@dataclass(frozen=True)
class Toy2dRequest:
    """The 2D animation: a data set (or custom points), its schedule, and the frames."""

    dataset: str = "moons"
    seed: int = 0
    points: str = ""  # a custom set: one "x, y" per line
    spec: ScheduleSpec | None = None
    frames: int = 24  # each way: forward, then reverse
    size: int = 320  # square frames (px)
    train_if_missing: bool = True  # a custom set without a shipped model trains one (~15 s)
    fps: float = EXPORT.toy2d_fps


def toy2d_frames(request: Toy2dRequest) -> Frames:
    """The 2D picture: a point cloud pushed off its curve into N(0, I) (forward, with the
    chosen schedule), then fresh noise brought back by the learned reverse chain."""
    shots = toy2d_plots.animation_frames(
        request.dataset,
        request.seed,
        request.points,
        request.spec,
        n_frames=request.frames,
        size=request.size,
        train_if_missing=request.train_if_missing,
    )
    # The figures carry their own titles (forward/reverse, t): no caption band needed.
    return Frames(shots, [], request.fps)
