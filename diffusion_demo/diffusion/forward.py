"""The forward (noising) Markov chain q, in closed form and step by step.

Time convention used everywhere in the app: t is an integer in [0, T]; t = 0 is the
clean image x_0 and t = T is x_T. diffusers indexes its tensors by timestep t - 1
(its ``alphas_cumprod[k]`` is alpha_bar_{k+1}), so this module converts once, here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..checks import in_range
from ..config import FORWARD
from .schedules import ScheduleSpec, build_scheduler


def check_t(t: object, T: int) -> int:
    """A UI/API timestep: a whole number in [0, T]."""
    return in_range(t, "t", 0, T)


def fixed_noise(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """One ε ~ N(0, I) per seed, so dragging t morphs x_t smoothly instead of flickering."""
    gen = torch.Generator().manual_seed(int(seed))
    return torch.randn(shape, generator=gen)


def q_sample(x0: torch.Tensor, t: int, spec: ScheduleSpec, noise: torch.Tensor) -> torch.Tensor:
    """eq. 4 of Ho et al. 2020: x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) ε.

    Computed by the diffusers scheduler's ``add_noise``; t = 0 returns x_0 itself.
    """
    t = check_t(t, spec.T)
    if t == 0:
        return x0.clone()
    scheduler = build_scheduler(spec)
    timesteps = torch.full((x0.shape[0],) if x0.ndim == 4 else (1,), t - 1, dtype=torch.long)
    batched = x0 if x0.ndim == 4 else x0.unsqueeze(0)
    eps = noise if noise.ndim == 4 else noise.unsqueeze(0)
    x_t = scheduler.add_noise(batched, eps, timesteps)
    return x_t if x0.ndim == 4 else x_t[0]


def iterate_chain(
    x0: torch.Tensor, spec: ScheduleSpec, keep: list[int], seed: int
) -> dict[int, torch.Tensor]:
    """Run the Markov chain one step at a time and keep x_t at the requested t's.

    eq. 2 of Ho et al. 2020: q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I).
    Each step sees only the previous sample: that is what makes it a Markov chain.
    """
    keep_set = {check_t(t, spec.T) for t in keep}
    betas = build_scheduler(spec).betas.to(torch.float32)
    gen = torch.Generator().manual_seed(int(seed) + 1)  # independent of the closed form's ε
    x = x0.clone()
    out = {0: x.clone()} if 0 in keep_set else {}
    last = max(keep_set)
    for t in range(1, last + 1):
        beta = betas[t - 1]
        z = torch.randn(x.shape, generator=gen)
        x = torch.sqrt(1 - beta) * x + torch.sqrt(beta) * z
        if t in keep_set:
            out[t] = x.clone()
    return out


def evenly_spaced(T: int, n: int) -> list[int]:
    """n timesteps from 0 to T inclusive, as evenly spaced as integers allow."""
    return sorted({int(round(v)) for v in np.linspace(0, T, n)})


def gaussian_density(x: np.ndarray, mean: float, var: float) -> np.ndarray:
    """N(mean, var) density: the theory curve drawn over the pixel histogram."""
    return np.exp(-((x - mean) ** 2) / (2 * var)) / np.sqrt(2 * np.pi * var)


def pixel_density(x: np.ndarray, x0: torch.Tensor, alpha_bar: float) -> np.ndarray:
    """Theoretical density of x_t's pixels: the x_0 pixel histogram blurred by N(·, 1 - alpha_bar).

    Each pixel is sqrt(alpha_bar) x_0[i] + sqrt(1 - alpha_bar) ε_i, so the pixel values of
    x_t follow a mixture of Gaussians centred on the scaled x_0 values; as alpha_bar -> 0 it
    becomes N(0, 1), the blog's "T -> infinity gives N(0, I)".
    """
    centres, weights = np.unique(np.round(x0.numpy().ravel() * 64) / 64, return_counts=True)
    weights = weights / weights.sum()
    var = max(1.0 - alpha_bar, 1e-6)
    dens = np.zeros_like(x, dtype=np.float64)
    for c, w in zip(np.sqrt(alpha_bar) * centres, weights, strict=True):
        dens += w * gaussian_density(x, c, var)
    return dens


@dataclass(frozen=True)
class ChainRows:
    """x_t at the same t's by both routes: the iterated chain and the closed form."""

    ts: list[int]
    iterated: dict[int, torch.Tensor]  # eq. 2, T steps, fresh noise at each
    closed: dict[int, torch.Tensor]  # eq. 4, one jump with one ε
    x0: torch.Tensor


def chain_rows(x0: torch.Tensor, spec: ScheduleSpec, seed: int, n: int = FORWARD.chain_frames) -> ChainRows:
    """x_t at n evenly spaced t: eq. 2 iterated T times, and eq. 4 in one jump (another ε)."""
    ts = evenly_spaced(spec.T, n)
    iterated = iterate_chain(x0, spec, ts, seed)
    eps = fixed_noise(tuple(x0.shape), seed)
    closed = {t: q_sample(x0, t, spec, eps) for t in ts}
    return ChainRows(ts, iterated, closed, x0)
