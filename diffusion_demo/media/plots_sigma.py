"""Where a run's steps fall on both noise axes: DDPM's t and σ = sqrt((1 - ᾱ) / ᾱ).

Left: σ against t (log scale) for the model's schedule, the run's network calls marked on
it. Right: σ at each step of the run beside the same number of steps spaced uniformly in t
and spaced as Karras et al. 2022 space σ (eq. 5, ρ = 7): the spacing is the difference.

May import: config, diffusion (samplers) and libraries.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from ..diffusion import samplers
from ..diffusion.samplers.base import sigma_of
from ..diffusion.schedules import spec_from_config
from .plots import RENDER_LOCK, cached_curves, fig_to_image

RHO = 7.0  # Karras et al. 2022, eq. 5: σ_i^(1/ρ) evenly spaced


def run_sigmas(scheduler_config: Any, sampler_id: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(t, σ) of every network call of the run: the timesteps its scheduler visits (1-based,
    the UI's t) and σ there (the scheduler's own σ where it keeps them, Karras included)."""
    sampler = samplers.get(sampler_id)
    scheduler = sampler.make_scheduler(scheduler_config, steps)
    t = np.array([float(v) for v in scheduler.timesteps])
    if hasattr(scheduler, "sigmas") and len(scheduler.sigmas) > len(t) - 1:
        sigma = np.array([float(s) for s in scheduler.sigmas[: len(t)]])
    else:
        ac = scheduler.alphas_cumprod.double().numpy()
        sigma = np.array([sigma_of(float(ac[int(round(v))])) for v in t])
    return t + 1, sigma


def karras_sigmas(sigma_min: float, sigma_max: float, n: int) -> np.ndarray:
    """eq. 5 of Karras et al. 2022: n values from σ_max to σ_min, evenly spaced in σ^(1/ρ)."""
    ramp = np.linspace(0, 1, n)
    lo, hi = sigma_min ** (1 / RHO), sigma_max ** (1 / RHO)
    return (hi + ramp * (lo - hi)) ** RHO


def steps_chart(scheduler_config: Any, sampler_id: str, steps: int) -> Image.Image:
    """The two panels for this run (sampler, steps) of the model with `scheduler_config`."""
    sampler = samplers.get(sampler_id)
    t, sigma = run_sigmas(scheduler_config, sampler_id, steps)
    ac = cached_curves(spec_from_config(dict(scheduler_config))).alpha_bar  # the schedule's ᾱ, float64
    all_sigma = np.sqrt((1 - ac) / ac)
    T = len(ac)
    n = len(sigma) if sampler.evals_per_step == 1 else (len(sigma) + 1) // 2
    uniform = all_sigma[np.linspace(T - 1, 0, n).round().astype(int)]
    karras = karras_sigmas(float(all_sigma[0]), float(all_sigma[-1]), n)
    with RENDER_LOCK:
        fig = Figure(figsize=(8.4, 2.9), dpi=100, layout="constrained")
        left, right = fig.subplots(1, 2)
        left.semilogy(np.arange(1, T + 1), all_sigma, color="0.6", lw=1.2, label="σ(t) of the schedule")
        left.semilogy(t, sigma, "o", ms=3.5, color=sampler.colour, label=f"{sampler.label}: {len(t)} calls")
        left.set_xlabel("t (DDPM's axis)")
        left.set_ylabel("σ = √((1-ᾱ)/ᾱ)")
        left.legend(fontsize=8, loc="lower right")
        left.set_title("The run's steps on both axes", fontsize=9)
        idx = np.arange(1, n + 1)
        right.semilogy(idx, uniform, "s-", ms=3, lw=1, color="0.55", label="uniform in t")
        right.semilogy(idx, karras, "^-", ms=3, lw=1, color="#8172B3", label="Karras (ρ = 7)")
        ours = sigma if sampler.evals_per_step == 1 else sigma[::2]
        right.semilogy(idx[: len(ours)], ours, "o-", ms=4, lw=1.5, color=sampler.colour, label="this run")
        right.set_xlabel("step")
        right.set_title("Spacing: where the steps go", fontsize=9)
        right.legend(fontsize=8, loc="upper right")
        for ax in (left, right):
            ax.grid(alpha=0.3, which="both", lw=0.5)
            ax.tick_params(labelsize=8)
        return fig_to_image(fig)
