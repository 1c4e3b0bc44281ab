"""Off the data manifold and back: noise a real digit to level t, then run the learned chain home.

The blog's "More insight": the forward process pushes a sample off the data manifold;
the reverse process draws a trajectory back onto it. Small t comes back as the same
digit, large t lands somewhere else on the manifold: a new digit.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from .forward import fixed_noise, q_sample
from .sampling import ReverseRequest, StepRecord, make_scheduler, reverse_chain
from .schedules import ScheduleSpec, spec_from_config


def trained_spec(denoiser) -> ScheduleSpec:
    """The schedule the model was trained with, read from its checkpoint's scheduler config:
    a round trip must noise exactly as in training. Without a model (None), the default
    schedule of config.SCHEDULE (Ho et al. 2020's linear 1e-4 -> 0.02, T = 1000)."""
    if denoiser is None:
        return ScheduleSpec()
    return spec_from_config(denoiser.scheduler_config)


def start_timestep(scheduler_config: dict, sampler: str, steps: int, t: int) -> int:
    """The sampler's first timestep at or below UI step t (diffusers index t - 1)."""
    visited = [int(s) for s in make_scheduler(scheduler_config, sampler, steps).timesteps]
    below = [s for s in visited if s <= t - 1]
    if not below:
        raise ValueError(
            f"t = {t} is below the sampler's smallest timestep ({min(visited) + 1}); expected t ≥ {min(visited) + 1}."
        )
    return below[0]


def noise_to(x0: torch.Tensor, timestep: int, scheduler_config: dict, seed: int) -> torch.Tensor:
    """eq. 4 of Ho et al. 2020 (forward.q_sample): x_0 (N, C, H, W) pushed to diffusers timestep."""
    spec = spec_from_config(scheduler_config)
    return q_sample(x0, timestep + 1, spec, fixed_noise(x0.shape, seed))


def start(denoiser, x0: torch.Tensor, t: int, request: ReverseRequest) -> tuple[torch.Tensor, int]:
    """Where the round trip starts: x_t at the sampler's first timestep ≤ t, and that diffusers
    timestep. The forward chain only (no network call): cheap enough to show before a run."""
    timestep = start_timestep(denoiser.scheduler_config, request.sampler, request.steps, t)
    return noise_to(x0, timestep, denoiser.scheduler_config, request.seed), timestep


def round_trip(
    denoiser, x0: torch.Tensor, t: int, request: ReverseRequest
) -> tuple[torch.Tensor, int, Iterator[StepRecord]]:
    """x_t and the reverse chain from it. x0 is (N, C, H, W) in [-1, 1]; t in [1, T].

    Returns (x_t, the diffusers timestep it sits at, the generator of step records).
    """
    x_t, timestep = start(denoiser, x0, t, request)
    return x_t, timestep, reverse_chain(denoiser, request, x_start=x_t, start_t=timestep)


def reconstruct(denoiser, x0: torch.Tensor, t: int, request: ReverseRequest) -> torch.Tensor:
    """Run the whole round trip and return the reconstruction (N, C, H, W)."""
    x = x0
    if t > 0:
        _, _, chain = round_trip(denoiser, x0, t, request)
        for record in chain:
            x = record.prev_sample
    return x.clamp(-1, 1)


def distance_curve(
    denoiser, x0: torch.Tensor, ts: list[int], seeds: list[int], request: ReverseRequest
) -> tuple[np.ndarray, torch.Tensor]:
    """RMS distance (pixels in [0, 1]) from x_0 to its reconstruction, per t and seed.

    x0 is one digit (C, H, W). All seeds of one t run as one batch (one noise draw each).
    Returns (distances of shape (len(ts), len(seeds)), reconstructions (len(ts), S, C, H, W)).
    """
    batch = x0.unsqueeze(0).repeat(len(seeds), 1, 1, 1)
    dists, recons = [], []
    for t in ts:
        noisy = []
        for s in seeds:  # per-seed noise, so each seed's trajectory is reproducible on its own
            timestep = (
                start_timestep(denoiser.scheduler_config, request.sampler, request.steps, t) if t else 0
            )
            noisy.append(noise_to(x0.unsqueeze(0), timestep, denoiser.scheduler_config, s) if t else x0[None])
        x = torch.cat(noisy)
        if t:
            for record in reverse_chain(denoiser, request, x_start=x, start_t=timestep):
                x = record.prev_sample
        x = x.clamp(-1, 1)
        recons.append(x)
        dists.append(((x - batch) / 2).pow(2).mean(dim=(1, 2, 3)).sqrt().numpy())
    return np.stack(dists), torch.stack(recons)
