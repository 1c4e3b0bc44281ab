"""The numbers behind the forward, posterior, guidance and RePaint equations.

Read from a diffusers scheduler's own tensors in its order and precision, so what the student
reads (media.equations writes them out) is what the code uses; ``as_dict()`` is for the API
(JSON has no inf/NaN: None). UI time: t in [0, T], ᾱ_t = ``alphas_cumprod[t - 1]``;
``repaint_numbers`` takes diffusers timesteps. A sampler's step numbers are its module's
(samplers/), carried by each step record.

May import: config, checks, the other diffusion modules and libraries. Never media, ui or cli.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass
from typing import Any

from diffusers import DDPMScheduler

from .forward import check_t
from .samplers.ddpm import posterior_coefficients
from .schedules import ScheduleSpec, build_scheduler


def _finite_dict(d: dict[str, Any]) -> dict[str, Any]:
    """JSON has no inf/NaN: report them as None."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


# --------------------------------------------------------------------------------------
# Forward process q(x_t | x_0)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForwardNumbers:
    """The coefficients of x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε at one UI step t."""

    t: int
    T: int
    schedule: str
    beta: float | None  # β_t (None at t = 0: no step taken yet)
    alpha_bar: float  # ᾱ_t = prod_{s<=t} (1 - β_s); 1 at t = 0
    sqrt_alpha_bar: float  # the scheduler's sqrt_alpha_prod in add_noise
    sqrt_one_minus_alpha_bar: float  # the scheduler's sqrt_one_minus_alpha_prod in add_noise
    snr: float  # ᾱ_t / (1 - ᾱ_t); inf at t = 0
    log_snr: float

    def as_dict(self) -> dict[str, Any]:
        return _finite_dict(asdict(self))


def forward_numbers(spec: ScheduleSpec, t: int) -> ForwardNumbers:
    """Read ᾱ_t from the DDPMScheduler and take square roots in float32, as add_noise does."""
    t = check_t(t, spec.T)
    if t == 0:
        return ForwardNumbers(0, spec.T, spec.name, None, 1.0, 1.0, 0.0, math.inf, math.inf)
    sched = build_scheduler(spec)
    ab = sched.alphas_cumprod[t - 1]  # float32, diffusers' timestep t - 1
    alpha_bar = float(ab)
    snr = alpha_bar / (1.0 - alpha_bar) if alpha_bar < 1.0 else math.inf
    return ForwardNumbers(
        t=t,
        T=spec.T,
        schedule=spec.name,
        beta=float(sched.betas[t - 1]),
        alpha_bar=alpha_bar,
        # the same float32 expressions as DDPMScheduler.add_noise
        sqrt_alpha_bar=float(ab**0.5),
        sqrt_one_minus_alpha_bar=float((1 - ab) ** 0.5),
        snr=snr,
        log_snr=math.log(snr) if 0 < snr < math.inf else (math.inf if snr > 0 else -math.inf),
    )


# --------------------------------------------------------------------------------------
# Forward-process posterior q(x_{t-1} | x_t, x_0)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PosteriorNumbers:
    """eq. 6-7 of Ho et al. 2020 at UI step t: mean = coef_x0 x_0 + coef_xt x_t, variance β̃_t."""

    t: int
    T: int
    schedule: str
    beta: float  # β_t = 1 - ᾱ_t / ᾱ_{t-1} (diffusers' current_beta_t)
    alpha_bar: float  # ᾱ_t
    alpha_bar_prev: float  # ᾱ_{t-1} (1 at t = 1)
    coef_x0: float  # sqrt(ᾱ_{t-1}) β_t / (1 - ᾱ_t)
    coef_xt: float  # sqrt(α_t) (1 - ᾱ_{t-1}) / (1 - ᾱ_t)
    variance: float  # β̃_t = (1 - ᾱ_{t-1}) / (1 - ᾱ_t) β_t, clamped at 1e-20 like diffusers

    def as_dict(self) -> dict[str, Any]:
        return _finite_dict(asdict(self))


def posterior_numbers(spec: ScheduleSpec, t: int) -> PosteriorNumbers:
    """The coefficients DDPMScheduler.step and ._get_variance compute, in their float32 order."""
    t = check_t(t, spec.T)
    if t < 1:
        raise ValueError(f"q(x_(t-1) | x_t, x_0) needs t in [1, {spec.T}]; got t = 0.")
    sched = build_scheduler(spec)
    k = t - 1  # diffusers' timestep
    alpha_prod_t = sched.alphas_cumprod[k]
    alpha_prod_t_prev = sched.alphas_cumprod[k - 1] if k - 1 >= 0 else sched.one
    # eq. 7 of Ho et al. 2020: mean coefficients and the posterior variance β̃_t
    current_beta_t, coef_x0, coef_xt, variance = posterior_coefficients(alpha_prod_t, alpha_prod_t_prev)
    return PosteriorNumbers(
        t=t,
        T=spec.T,
        schedule=spec.name,
        beta=float(current_beta_t),
        alpha_bar=float(alpha_prod_t),
        alpha_bar_prev=float(alpha_prod_t_prev),
        coef_x0=float(coef_x0),
        coef_xt=float(coef_xt),
        variance=float(variance),
    )


# --------------------------------------------------------------------------------------
# Classifier-free guidance and RePaint
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuidanceNumbers:
    """The classifier-free guidance of one step (Ho & Salimans 2022, eq. 6)."""

    w: float  # the weight used at this step (1 outside the guidance interval)
    digit: str  # what the labels y are: "any", "0" … "9" or "each"
    direction_rms: float | None  # RMS of ε̂_y − ε̂_∅ over the batch (None: not computed, w ∈ {0, 1})


@dataclass(frozen=True)
class RepaintNumbers:
    """One entry of RePaint's schedule: a step down (t -> prev_t) or a jump up (t -> prev_t > t)."""

    down: bool
    t: int  # diffusers timestep before the entry
    prev_t: int  # after it (-1: the final x_0)
    alpha_bar: float
    alpha_bar_prev: float
    eta: float


@functools.lru_cache(maxsize=16)
def _read_only_scheduler(config_json: str) -> DDPMScheduler:
    """One scheduler per config, only ever read (ᾱ): building one costs ~2 ms, and the fill-in
    tab asks for the numbers of every frame it streams."""
    return DDPMScheduler.from_config(json.loads(config_json))


def repaint_numbers(
    scheduler_config: Any, t: int, prev_t: int, down: bool, eta: float = 1.0
) -> RepaintNumbers:
    """ᾱ at both ends of one entry of RePaint's schedule (prev_t = -1: ᾱ = 1, the clean x_0)."""
    config = json.dumps(dict(scheduler_config), sort_keys=True, default=str)
    ac = _read_only_scheduler(config).alphas_cumprod
    ab = float(ac[t])
    ab_prev = float(ac[prev_t]) if prev_t >= 0 else 1.0
    return RepaintNumbers(down, t, prev_t, ab, ab_prev, eta)
