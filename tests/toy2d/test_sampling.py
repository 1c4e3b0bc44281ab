"""toy2d.sampling: the reverse chain of a shipped model, its cache and the learned ε-field."""

from __future__ import annotations

import numpy as np
import torch

from diffusion_demo.toy2d.model import shipped
from diffusion_demo.toy2d.sampling import eps_field, reverse_run

# ------------------------------------------------------------------ the reverse chain


def test_reverse_run_states_and_cache():
    model = shipped("rings")
    states = reverse_run(model, seed=2, n=50)
    assert states.shape == (1001, 50, 2) and np.isfinite(states).all()
    # x_T is the seed's N(0, I) draw; the run is cached for the slider
    np.testing.assert_array_equal(
        states[-1], torch.randn((50, 2), generator=torch.Generator().manual_seed(2))
    )
    assert reverse_run(model, seed=2, n=50) is states


def test_learned_field_at_t_T_predicts_the_point_itself():
    # x_T = sqrt(alpha_bar_T) x_0 + sqrt(1 - alpha_bar_T) ε ≈ ε, so ε̂(x, T) ≈ x
    grid, eps = eps_field(shipped("moons"), 1000, lim=2.0, n=9)
    far = np.linalg.norm(grid, axis=1) > 0.5
    grid, eps = grid[far], eps[far]
    cos = (grid * eps).sum(1) / np.linalg.norm(grid, axis=1) / np.linalg.norm(eps, axis=1)
    assert cos.mean() > 0.95
    np.testing.assert_allclose(eps, grid, atol=0.2)
