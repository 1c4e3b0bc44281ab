"""The learned reverse chain p_θ(x_{t-1} | x_t) on 2D points, and the learned ε-field.

Owns `reverse_run` (every state x_T … x_0, cached for the slider), `sample`, `eps_field`
and `model_t` (the model's step for the panel's t).

May import: config, diffusion, the other toy2d modules and libraries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import torch

from ..config import TOY2D_LIMITS as LIMITS
from ..diffusion.forward import check_t
from ..diffusion.samplers import ddpm
from ..diffusion.sampling import ReverseRequest, reverse_chain
from .model import Toy2DModel


def model_t(t: int, panel_T: int, model: Toy2DModel) -> int:
    """The reverse chain's step matching the slider: the same fraction t / T of its own T."""
    return int(round(t * model.spec.T / panel_T))


_RUNS: OrderedDict[tuple[int, int, int], np.ndarray] = OrderedDict()
_RUNS_LOCK = threading.Lock()
# Reverse runs kept for the slider: each is (T+1) x n x 2 float32, 8 MB at T = 1000.
_RUNS_KEPT = 4


def reverse_run(model: Toy2DModel, seed: int, n: int = LIMITS.n_points) -> np.ndarray:
    """All states of the reverse chain from x_T ~ N(0, I) to x_0, shape (T+1, n, 2): [t] = x_t.

    Each step is diffusers' DDPMScheduler.step (eq. 11 of Ho et al. 2020) with ε_θ; the
    result is cached, so moving the t slider only indexes into it.
    """
    key = (model.uid, int(seed), int(n))
    with _RUNS_LOCK:
        if key in _RUNS:
            _RUNS.move_to_end(key)
            return _RUNS[key]
    T = model.spec.T
    states = np.empty((T + 1, n, 2), dtype=np.float32)
    request = ReverseRequest(sampler=ddpm.SAMPLER.id, steps=T, num_samples=n, seed=int(seed))
    for record in reverse_chain(model, request):
        if record.index == 0:
            states[T] = record.x_t.numpy()
        states[record.t] = record.prev_sample.numpy()
    states.flags.writeable = False  # shared by every request that hits the cache
    with _RUNS_LOCK:
        _RUNS[key] = states
        while len(_RUNS) > _RUNS_KEPT:
            _RUNS.popitem(last=False)
    return states


def sample(model: Toy2DModel, n: int, seed: int) -> np.ndarray:
    """n samples x_0 from the trained reverse chain."""
    return reverse_run(model, seed, n)[0]


@torch.no_grad()
def eps_field(model: Toy2DModel, t: int, lim: float = 3.0, n: int = 17) -> tuple[np.ndarray, np.ndarray]:
    """The learned ε̂(x, t) on an n x n grid over [-lim, lim]^2 at UI step t in [1, T].

    Returns (grid points (n*n, 2), ε̂ (n*n, 2)). The score of q(x_t) is approximately
    -ε̂ / sqrt(1 - alpha_bar_t) (the ε <-> score link of Song et al. 2021): -ε̂ points back
    towards the data.
    """
    t = max(1, check_t(t, model.spec.T))
    axis = np.linspace(-lim, lim, n, dtype=np.float32)
    grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    eps = model.eps(torch.from_numpy(grid), t - 1)
    return grid, eps.numpy()
