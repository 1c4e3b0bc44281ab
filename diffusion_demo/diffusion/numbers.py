"""The numbers behind the live equations: β_t, ᾱ_t and the coefficients of each update.

Every number comes from a diffusers scheduler's own tensors (``alphas_cumprod``, ``betas``),
computed in the same order and precision as the scheduler computes them, so that what the
student reads (``media.equations`` turns these records into LaTeX) is exactly what the
code uses. Each record has ``as_dict()`` for the API (JSON has no inf/NaN: None).

Time convention (as in the rest of the app): the UI's t is in [0, T], t = 0 is the clean
image and ᾱ_t is diffusers' ``alphas_cumprod[t - 1]``. ``sampler_numbers`` and
``repaint_numbers`` take diffusers timesteps (what ``scheduler.step`` receives, 0 … T-1).

May import: config, checks, the other diffusion modules and libraries. Never media, ui or cli.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..checks import choice, in_range, number
from ..config import SAMPLER_NAMES
from .forward import check_t
from .schedules import ScheduleSpec, build_scheduler, scheduler_class


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


def _posterior(alpha_prod_t: torch.Tensor, alpha_prod_t_prev: torch.Tensor) -> tuple:
    """eq. 7 of Ho et al. 2020 in DDPMScheduler's float32 order: (β_t, coef_x0, coef_xt, β̃_t)."""
    beta_prod_t = 1 - alpha_prod_t
    beta_prod_t_prev = 1 - alpha_prod_t_prev
    current_alpha_t = alpha_prod_t / alpha_prod_t_prev
    current_beta_t = 1 - current_alpha_t
    coef_x0 = (alpha_prod_t_prev**0.5 * current_beta_t) / beta_prod_t
    coef_xt = current_alpha_t**0.5 * beta_prod_t_prev / beta_prod_t
    variance = torch.clamp(beta_prod_t_prev / beta_prod_t * current_beta_t, min=1e-20)
    return current_beta_t, coef_x0, coef_xt, variance


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
    current_beta_t, coef_x0, coef_xt, variance = _posterior(alpha_prod_t, alpha_prod_t_prev)
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
# One reverse step of a sampler
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SamplerNumbers:
    """One reverse step written as x_prev = a x_t + b x̂_0 + c ε̂ + σ z (+ DPM-Solver++ 2M term).

    t and prev_t are diffusers timesteps (prev_t = -1 means the last step, to x_0).
    """

    sampler: str
    t: int
    prev_t: int
    eta: float
    alpha_bar: float  # ᾱ at t
    alpha_bar_prev: float  # ᾱ at prev_t (1 after the last step)
    coef_xt: float  # a
    coef_x0: float  # b
    coef_eps: float  # c
    sigma: float  # σ: standard deviation of the fresh noise z
    # DPM-Solver++ only (0 elsewhere): λ = log(sqrt(ᾱ) / sqrt(1 - ᾱ)) and the step h in λ
    lambda_t: float = 0.0
    lambda_prev: float = 0.0
    h: float = 0.0
    # DPM-Solver++(2M) only: the weight on D1 = (x̂_0(t) - x̂_0(last_t)) / r0, and r0
    coef_d1: float = 0.0
    r0: float = 0.0
    last_t: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return _finite_dict(asdict(self))


@functools.lru_cache(maxsize=16)
def _read_only_scheduler(sampler: str, config_json: str):
    """One scheduler per (sampler, config), only ever read (ᾱ): building one costs ~2 ms, and
    the reverse tab asks for the numbers of every frame it streams."""
    return scheduler_class(sampler).from_config(json.loads(config_json))


def read_only_scheduler(sampler: str, scheduler_config: Any):
    """The cached scheduler of `sampler` built from `scheduler_config` (a dict or a diffusers config)."""
    return _read_only_scheduler(sampler, json.dumps(dict(scheduler_config), sort_keys=True, default=str))


def sampler_numbers(
    sampler: str,
    scheduler_config: Any,
    t: int,
    prev_t: int,
    eta: float = 0.0,
    last_t: int | None = None,
) -> SamplerNumbers:
    """The coefficients of the `sampler`'s update from diffusers timestep t to prev_t.

    DDPM: eq. 7 posterior mean with x̂_0 plugged in (what DDPMScheduler.step computes) and
    σ² = β̃_t. DDIM: eq. 12 of Song et al. 2021 with σ = η sqrt(β̃_t). DPM-Solver++: eq. 8
    (first order) of Lu et al. 2022b; pass `last_t` (the step before, larger than t) for the
    second-order multistep correction with D1 (midpoint form, diffusers' default).
    """
    # 1. the inputs: a known sampler, T - 1 >= t > prev_t >= -1, η in [0, 1]
    choice(sampler, "sampler", SAMPLER_NAMES)
    sched = read_only_scheduler(sampler, scheduler_config)
    T = int(sched.config.num_train_timesteps)
    t = check_t(t, T - 1)
    prev_t = in_range(prev_t, "prev_t", -1, t - 1)
    eta = number(eta, "eta", 0.0, 1.0)
    # 2. ᾱ at both ends, as the scheduler reads them
    ac = sched.alphas_cumprod
    alpha_prod_t = ac[t]
    if sampler == "ddim":
        alpha_prod_t_prev = ac[prev_t] if prev_t >= 0 else sched.final_alpha_cumprod
    else:
        # DDPMScheduler uses self.one after the last step; DPM-Solver++ ends at sigma = 0 (ᾱ = 1)
        alpha_prod_t_prev = ac[prev_t] if prev_t >= 0 else torch.tensor(1.0, dtype=ac.dtype)
    base = dict(
        sampler=sampler,
        t=t,
        prev_t=prev_t,
        eta=eta if sampler == "ddim" else 0.0,
        alpha_bar=float(alpha_prod_t),
        alpha_bar_prev=float(alpha_prod_t_prev),
    )
    # 3. the sampler's own coefficients
    if sampler == "ddpm":
        return _ddpm_numbers(base, alpha_prod_t, alpha_prod_t_prev)
    if sampler == "ddim":
        return _ddim_numbers(base, alpha_prod_t, alpha_prod_t_prev, eta)
    if last_t is not None:
        last_t = in_range(last_t, "last_t", t + 1, T - 1)
    ab_last = None if last_t is None else float(ac[last_t])
    return _dpmsolver_numbers(base, float(alpha_prod_t), float(alpha_prod_t_prev), last_t, ab_last)


def _ddpm_numbers(base: dict, alpha_prod_t: torch.Tensor, alpha_prod_t_prev: torch.Tensor) -> SamplerNumbers:
    """DDPMScheduler.step: eq. 7 posterior mean with x̂_0, variance β̃_t (fixed_small)."""
    _, coef_x0, coef_xt, variance = _posterior(alpha_prod_t, alpha_prod_t_prev)
    sigma = float(variance**0.5) if base["t"] > 0 else 0.0
    return SamplerNumbers(**base, coef_xt=float(coef_xt), coef_x0=float(coef_x0), coef_eps=0.0, sigma=sigma)


def _ddim_numbers(
    base: dict, alpha_prod_t: torch.Tensor, alpha_prod_t_prev: torch.Tensor, eta: float
) -> SamplerNumbers:
    """DDIMScheduler.step: eq. 12 of Song et al. 2021 with σ_t(η) of eq. 16."""
    beta_prod_t = 1 - alpha_prod_t
    beta_prod_t_prev = 1 - alpha_prod_t_prev
    # eq. 16 of Song et al. 2021: σ_t(η) = η sqrt((1-ᾱ_prev)/(1-ᾱ_t)) sqrt(1 - ᾱ_t/ᾱ_prev)
    variance = (beta_prod_t_prev / beta_prod_t) * (1 - alpha_prod_t / alpha_prod_t_prev)
    std_dev_t = eta * variance**0.5
    # eq. 12: sqrt(ᾱ_prev) x̂_0 + sqrt(1 - ᾱ_prev - σ²) ε̂ + σ z
    coef_eps = (1 - alpha_prod_t_prev - std_dev_t**2) ** 0.5
    return SamplerNumbers(
        **base,
        coef_xt=0.0,
        coef_x0=float(alpha_prod_t_prev**0.5),
        coef_eps=float(coef_eps),
        sigma=float(std_dev_t),
    )


def _dpmsolver_numbers(
    base: dict, ab_t: float, ab_prev: float, last_t: int | None, ab_last: float | None
) -> SamplerNumbers:
    """DPM-Solver++ in log-SNR time: α = sqrt(ᾱ), σ = sqrt(1 - ᾱ), λ = log(α / σ); first order,
    plus the 2M midpoint correction when the step before (`last_t`, its ᾱ `ab_last`) is given."""
    a_t, s_t = math.sqrt(ab_t), math.sqrt(1.0 - ab_t)
    a_p, s_p = math.sqrt(ab_prev), math.sqrt(max(0.0, 1.0 - ab_prev))
    lam_t = math.log(a_t) - math.log(s_t)
    lam_p = math.log(a_p) - math.log(s_p) if s_p > 0 else math.inf
    h = lam_p - lam_t
    # first order (= DDIM with η = 0): x_prev = (σ_prev/σ_t) x_t - α_prev (e^{-h} - 1) x̂_0
    coef_x0 = -a_p * math.expm1(-h) if math.isfinite(h) else a_p
    coef_xt = s_p / s_t
    coef_d1, r0 = 0.0, 0.0
    if ab_last is not None:
        lam_last = 0.5 * (math.log(ab_last) - math.log(1.0 - ab_last))
        r0 = (lam_t - lam_last) / h if math.isfinite(h) else 0.0
        # midpoint 2M: - 0.5 α_prev (e^{-h} - 1) D1, D1 = (x̂_0(t) - x̂_0(last)) / r0
        coef_d1 = 0.5 * coef_x0 if r0 else 0.0
    return SamplerNumbers(
        **base,
        coef_xt=coef_xt,
        coef_x0=coef_x0,
        coef_eps=0.0,
        sigma=0.0,
        lambda_t=lam_t,
        lambda_prev=lam_p,
        h=h,
        coef_d1=coef_d1,
        r0=r0,
        last_t=last_t,
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


def repaint_numbers(
    scheduler_config: Any, t: int, prev_t: int, down: bool, eta: float = 1.0
) -> RepaintNumbers:
    """ᾱ at both ends of one entry of RePaint's schedule (prev_t = -1: ᾱ = 1, the clean x_0)."""
    ac = read_only_scheduler("ddpm", scheduler_config).alphas_cumprod
    ab = float(ac[t])
    ab_prev = float(ac[prev_t]) if prev_t >= 0 else 1.0
    return RepaintNumbers(down, t, prev_t, ab, ab_prev, eta)
