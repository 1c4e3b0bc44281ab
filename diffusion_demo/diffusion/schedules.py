"""Variance schedules beta_t, built by diffusers, and the quantities derived from them.

diffusers owns beta, alpha_bar, add_noise and step; this module only names the
schedules the way the UI does, validates user input and reads the scheduler's tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from diffusers import DDPMScheduler

from ..checks import finite, whole
from ..config import SCHEDULE, SCHEDULE_NAMES

# UI name -> diffusers' beta_schedule name.
_DIFFUSERS_NAME = {
    "linear": "linear",
    "scaled_linear": "scaled_linear",
    "cosine": "squaredcos_cap_v2",
    "sigmoid": "sigmoid",
}


@dataclass(frozen=True)
class ScheduleSpec:
    """What a user chooses: a schedule name, its beta range and the number of steps T."""

    name: str = "linear"
    beta_start: float = SCHEDULE.default_beta_start
    beta_end: float = SCHEDULE.default_beta_end
    T: int = SCHEDULE.default_T


def validate_spec(
    name: str,
    beta_start: float = SCHEDULE.default_beta_start,
    beta_end: float = SCHEDULE.default_beta_end,
    T: int = SCHEDULE.default_T,
) -> ScheduleSpec:
    """Check user input and return a ScheduleSpec; raise ValueError with a clear message."""
    if name not in SCHEDULE_NAMES:
        raise ValueError(f"Unknown schedule {name!r}: expected one of {', '.join(SCHEDULE_NAMES)}.")
    beta_start, beta_end = finite(beta_start, "beta_start"), finite(beta_end, "beta_end")
    if not 0 < beta_start < beta_end < SCHEDULE.max_beta:
        raise ValueError(
            f"Need 0 < beta_start < beta_end < {SCHEDULE.max_beta}; "
            f"got beta_start={beta_start:g}, beta_end={beta_end:g}."
        )
    T = whole(T, "T")
    if not 1 <= T <= SCHEDULE.max_T:
        raise ValueError(f"T must be between 1 and {SCHEDULE.max_T}; got {T}.")
    return ScheduleSpec(name, beta_start, beta_end, T)


def spec_from_config(scheduler_config: dict) -> ScheduleSpec:
    """A trained model's scheduler config (diffusers names) as the app's ScheduleSpec."""
    names = {v: k for k, v in _DIFFUSERS_NAME.items()}
    c = scheduler_config
    return ScheduleSpec(
        names[c.get("beta_schedule", "linear")],
        float(c.get("beta_start", 1e-4)),
        float(c.get("beta_end", 0.02)),
        int(c.get("num_train_timesteps", 1000)),
    )


def build_scheduler(spec: ScheduleSpec, **overrides) -> DDPMScheduler:
    """A fresh DDPMScheduler for this schedule: the owner of β, ᾱ and add_noise (schedulers hold
    state: one per request). A sampler's scheduler is its module's (samplers/)."""
    config = dict(
        num_train_timesteps=spec.T,
        beta_start=spec.beta_start,
        beta_end=spec.beta_end,
        beta_schedule=_DIFFUSERS_NAME[spec.name],
    )
    config.update(overrides)
    return DDPMScheduler(**config)


@dataclass(frozen=True)
class ScheduleCurves:
    """Per-step curves of one schedule, index t = 0 … T-1 (diffusers' timesteps)."""

    beta: np.ndarray
    alpha_bar: np.ndarray

    @property
    def sqrt_alpha_bar(self) -> np.ndarray:
        return np.sqrt(self.alpha_bar)

    @property
    def sqrt_one_minus_alpha_bar(self) -> np.ndarray:
        return np.sqrt(1.0 - self.alpha_bar)

    @property
    def snr(self) -> np.ndarray:
        # SNR(t) = alpha_bar_t / (1 - alpha_bar_t) (Kingma et al. 2021, eq. 1 form)
        return self.alpha_bar / (1.0 - self.alpha_bar)

    @property
    def log_snr(self) -> np.ndarray:
        return np.log(self.snr)


def curves(spec: ScheduleSpec) -> ScheduleCurves:
    """beta_t and alpha_bar_t exactly as the diffusers scheduler holds them (float64 copies)."""
    sched = build_scheduler(spec)
    return ScheduleCurves(beta=sched.betas.double().numpy(), alpha_bar=sched.alphas_cumprod.double().numpy())


def alpha_bar_at(spec: ScheduleSpec, t: int) -> float:
    """alpha_bar at UI step t in [0, T]: t = 0 is the clean image (alpha_bar = 1)."""
    if t == 0:
        return 1.0
    return float(curves(spec).alpha_bar[t - 1])


def as_tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x))
