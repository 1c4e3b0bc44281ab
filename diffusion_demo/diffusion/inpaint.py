"""Fill in the missing part: RePaint (Lugmayr et al. 2022) with diffusers' RePaintScheduler.

The learned reverse chain is a prior over digits that any constraint can use. At every step
the pixels to keep are replaced by the forward chain's q(x_{t-1} | x_0) of the original
(eq. 8 of the paper), the pixels to fill come from the model's own step (eq. 9), and the two
are pasted together by the mask (eq. 10). Resampling jumps (Algorithm 1, r > 1) go back up
j steps with q(x_t | x_{t-1}) and come down again, so that the fill has time to agree with
what is kept. diffusers' RePaintScheduler does the arithmetic (`step`, `undo_step`) and
builds the up-and-down schedule; this module streams it as records, like `sampling`.

Mask convention here and in the UI: white (1) = to fill. diffusers' is the opposite (1 = keep).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from diffusers import RePaintScheduler

from ..checks import number
from ..config import GUIDANCE, IMAGES, INPAINT
from .sampling import class_labels, guided_eps, is_conditional, validate_digit


@dataclass(frozen=True)
class InpaintRequest:
    """A validated request: what every entry point (UI, API, CLI) passes on."""

    steps: int = INPAINT.default_steps
    jumps: int = INPAINT.default_jumps  # RePaint's r (jump_n_sample); 1 = no resampling
    seed: int = 0
    num_samples: int = INPAINT.num_samples
    digit: str = "any"
    guidance: float = 0.0  # the unconditional model unless asked: the kept pixels steer already
    jump_length: int = INPAINT.jump_length
    eta: float = INPAINT.eta


def validate_inpaint(
    steps: object,
    jumps: object,
    seed: object,
    digit: object = "any",
    guidance: object = 0.0,
    num_samples: object = INPAINT.num_samples,
) -> InpaintRequest:
    """Check user input; ValueError naming the field and its allowed range."""
    return InpaintRequest(
        steps=int(number(steps, "steps", 1, INPAINT.max_steps, True)),
        jumps=int(number(jumps, "jumps", 1, INPAINT.max_jumps, True)),
        seed=int(number(seed, "seed", 0, IMAGES.max_seed, True)),
        num_samples=int(number(num_samples, "num_samples", 1, 64, True)),
        digit=validate_digit(digit),
        guidance=float(number(guidance, "guidance", 0.0, GUIDANCE.max_w, False)),
    )


# --- masks ---------------------------------------------------------------------------------


def preset_mask(name: str, size: int = 28) -> torch.Tensor:
    """A preset as (1, 1, size, size) float, 1 = to fill: a half, or the centre square."""
    m = torch.zeros(size, size)
    h = size // 2
    regions = {
        "top": (slice(0, h), slice(None)),
        "bottom": (slice(h, None), slice(None)),
        "left": (slice(None), slice(0, h)),
        "right": (slice(None), slice(h, None)),
        "centre": (slice(size // 4, size - size // 4), slice(size // 4, size - size // 4)),
    }
    if name not in regions:
        raise ValueError(
            f"Unknown mask {name!r}: expected one of {', '.join(INPAINT.presets)} or a mask image."
        )
    m[regions[name]] = 1.0
    return m[None, None]


def check_mask(fill: torch.Tensor) -> torch.Tensor:
    """A mask must leave something to keep and something to fill."""
    covered = float(fill.mean())
    if covered == 0:
        raise ValueError("The mask covers nothing: paint (white) the part to fill in, or pick a preset.")
    if covered == 1:
        raise ValueError(
            "The mask covers everything: nothing is left to keep (generating from scratch is the reverse tab)."
        )
    return fill


# --- the chain -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InpaintRecord:
    """One entry of RePaint's schedule: a step down (the model) or a jump up (the forward chain)."""

    index: int  # 0-based position in the schedule
    num_steps: int  # entries in the schedule (steps down and jumps up)
    t: int  # the diffusers timestep before this entry (0 … T-1)
    prev_t: int  # the one after it: lower for a step down (-1: x_0), higher for a jump up
    down: bool  # True: x_t -> x_{t-1} by the model and the kept pixels; False: a jump back up
    x_t: torch.Tensor  # the sample before this entry
    prev_sample: torch.Tensor  # the sample after it
    pred_original_sample: torch.Tensor | None  # x̂_0 of a step down (None for a jump up)
    guidance: float = 1.0


def schedule(scheduler_config: dict, request: InpaintRequest) -> RePaintScheduler:
    """A fresh RePaintScheduler from the checkpoint's β (schedulers hold state), timesteps set."""
    scheduler = RePaintScheduler.from_config(scheduler_config)
    scheduler.set_timesteps(request.steps, request.jump_length, request.jumps)
    scheduler.eta = request.eta
    return scheduler


def inpaint_chain(
    denoiser, x0: torch.Tensor, fill: torch.Tensor, request: InpaintRequest
) -> Iterator[InpaintRecord]:
    """RePaint's Algorithm 1 on x0 (1, C, H, W) in [-1, 1] with `fill` (1, 1, H, W; 1 = to fill).

    Yields one record per schedule entry; with an unconditional denoiser it is exactly
    diffusers' RePaintPipeline loop (the same generator use, so the same seed gives the same
    images). Closing the generator (Stop) ends it at the next yield.
    """
    if not is_conditional(denoiser) and request.digit != "any":
        raise ValueError(
            f"digit {request.digit!r} needs the class-conditional model; this checkpoint is unconditional "
            "(expected one of: any)."
        )
    # 1. the up-and-down schedule (Algorithm 1: r = jumps, j = jump_length)
    scheduler = schedule(denoiser.scheduler_config, request)
    timesteps = [int(t) for t in scheduler.timesteps]
    n = request.num_samples
    original = x0.expand(n, *x0.shape[1:]).contiguous()
    keep = (1 - fill).expand(n, 1, *fill.shape[2:]).contiguous()  # diffusers' mask: 1 = keep
    # 2. x_T ~ N(0, I) from the seed's generator, which then drives every step's noise
    gen = torch.Generator().manual_seed(request.seed)
    x = torch.randn(original.shape, generator=gen)
    labels = class_labels(request.digit, n, request.seed) if is_conditional(denoiser) else None
    stride = scheduler.config.num_train_timesteps // scheduler.num_inference_steps
    t_last = timesteps[0] + 1
    for i, t in enumerate(timesteps):
        with torch.inference_mode():
            if t < t_last:
                # 3. eq. 8-10: known part from q(x_{t-1} | x_0), unknown from the model, pasted by the mask
                eps, _, _ = guided_eps(denoiser, x, torch.tensor(t), labels, request.guidance)
                out = scheduler.step(eps.to(x.dtype), t, x, original, keep, generator=gen)
                record = InpaintRecord(
                    i,
                    len(timesteps),
                    t,
                    max(-1, t - stride),
                    True,
                    x,
                    out.prev_sample,
                    out.pred_original_sample,
                    request.guidance,
                )
            else:
                # 4. a resampling jump: back up one strided step with q(x_t | x_{t-1})
                up = scheduler.undo_step(x, t_last, generator=gen)
                record = InpaintRecord(i, len(timesteps), t_last, t, False, x, up, None, request.guidance)
        yield record
        x = record.prev_sample
        t_last = t


def inpaint(denoiser, x0: torch.Tensor, fill: torch.Tensor, request: InpaintRequest) -> torch.Tensor:
    """Run the whole chain; the completions (N, C, H, W) in [-1, 1]."""
    x = None
    for record in inpaint_chain(denoiser, x0, fill, request):
        x = record.prev_sample
    return x.clamp(-1, 1)


def down_steps(request: InpaintRequest) -> int:
    """How many UNet evaluations the schedule makes (its steps down)."""
    ts = [int(t) for t in schedule({"num_train_timesteps": 1000}, request).timesteps]
    return sum(1 for prev, t in zip([ts[0] + 1, *ts], ts, strict=False) if t < prev)
