"""Off the manifold and back: noising to level t, then the learned chain home."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from diffusion_demo.config import MODEL
from diffusion_demo.diffusion import forward, roundtrip
from diffusion_demo.diffusion.sampling import ReverseRequest, make_scheduler
from diffusion_demo.diffusion.schedules import ScheduleSpec, spec_from_config
from diffusion_demo.media.images import examples, load_image, to_digit
from diffusion_demo.models import unet


def a_digit() -> torch.Tensor:
    return to_digit(load_image(examples()["digit-3"]))


def test_start_timestep_is_the_samplers_largest_step_at_or_below_t(tiny_denoiser):
    cfg = tiny_denoiser.scheduler_config
    visited = [int(s) for s in make_scheduler(cfg, "ddim", 50).timesteps]
    for t in (1, 21, 500, 1000):
        start = roundtrip.start_timestep(cfg, "ddim", 50, t)
        assert start in visited and start <= t - 1
        assert all(s > t - 1 for s in visited if s > start)
    assert roundtrip.start_timestep(cfg, "ddpm", 1000, 617) == 616


def test_noise_to_is_diffusers_add_noise_at_that_timestep(tiny_denoiser):
    cfg = tiny_denoiser.scheduler_config
    x0 = a_digit()[None]
    got = roundtrip.noise_to(x0, 499, cfg, seed=4)
    ab = float(make_scheduler(cfg, "ddpm", 1000).alphas_cumprod[499])
    eps = forward.fixed_noise(x0.shape, 4)
    torch.testing.assert_close(got, ab**0.5 * x0 + (1 - ab) ** 0.5 * eps, atol=1e-5, rtol=1e-5)
    assert spec_from_config(cfg).T == 1000


def test_round_trip_starts_at_x_t_and_visits_only_lower_timesteps(tiny_denoiser):
    x0 = a_digit()[None]
    x_t, start, chain = roundtrip.round_trip(tiny_denoiser, x0, 400, ReverseRequest("ddim", 50, 1, 0))
    records = list(chain)
    assert start == 380
    torch.testing.assert_close(records[0].x_t, x_t)
    assert [r.t for r in records] == list(range(380, -1, -20))


def test_reconstruct_at_t_zero_returns_x0(tiny_denoiser):
    x0 = a_digit()[None]
    torch.testing.assert_close(
        roundtrip.reconstruct(tiny_denoiser, x0, 0, ReverseRequest("ddim", 20, 1, 0)), x0
    )


def test_below_smallest_step_is_a_clear_error(tiny_denoiser):
    with pytest.raises(ValueError, match="smallest timestep"):
        roundtrip.start_timestep(tiny_denoiser.scheduler_config, "dpmsolver", 5, 1)


def test_distance_curve_shape_and_seeds(tiny_denoiser):
    dists, recons = roundtrip.distance_curve(
        tiny_denoiser, a_digit(), [0, 10, 900], [0, 1], ReverseRequest("ddim", 20, 1, 0)
    )
    assert dists.shape == (3, 2) and recons.shape == (3, 2, 1, 28, 28)
    np.testing.assert_allclose(dists[0], 0.0, atol=1e-7)  # t = 0: nothing to undo
    assert dists[2].mean() > dists[1].mean()


@pytest.mark.slow
@pytest.mark.skipif(not (MODEL.checkpoint / "unet").is_dir(), reason="shipped checkpoint not built")
def test_shipped_model_distance_grows_with_t_on_average():
    den = unet.load(MODEL.checkpoint, autocast="fp32")
    dists, _ = roundtrip.distance_curve(
        den, a_digit(), [50, 300, 700], [0, 1, 2], ReverseRequest("ddim", 25, 1, 0)
    )
    mean = dists.mean(axis=1)
    assert mean[0] < mean[1] < mean[2]
    assert mean[0] < 0.1  # a light push comes back to (nearly) the same digit
    assert Path(den.path).name == "ddpm-digits"


def test_trained_spec_is_the_checkpoints_own_schedule_or_the_default_without_one(tiny_denoiser):
    assert roundtrip.trained_spec(tiny_denoiser) == spec_from_config(tiny_denoiser.scheduler_config)
    assert roundtrip.trained_spec(None) == ScheduleSpec("linear", 1e-4, 0.02, 1000)
    other = SimpleNamespace(
        scheduler_config={
            "beta_schedule": "squaredcos_cap_v2",
            "beta_start": 1e-4,
            "beta_end": 0.02,
            "num_train_timesteps": 500,
        }
    )
    assert roundtrip.trained_spec(other) == ScheduleSpec("cosine", 1e-4, 0.02, 500)
