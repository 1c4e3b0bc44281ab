"""The numbers of the forward and posterior equations equal the diffusers scheduler's own
(a sampler's step numbers: tests/diffusion/test_samplers.py)."""

from __future__ import annotations

import math

import pytest
import torch
from diffusers import DDPMScheduler

from diffusion_demo.config import SCHEDULE_NAMES
from diffusion_demo.diffusion import coefficients as numbers
from diffusion_demo.diffusion import forward, schedules
from diffusion_demo.diffusion.schedules import ScheduleSpec

CONFIG = dict(schedules.build_scheduler(ScheduleSpec()).config)


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
@pytest.mark.parametrize("t", [1, 2, 250, 999, 1000])
def test_forward_numbers_are_the_add_noise_coefficients(name, t):
    spec = ScheduleSpec(name)
    n = numbers.forward_numbers(spec, t)
    sched = schedules.build_scheduler(spec)
    ab = sched.alphas_cumprod[t - 1]
    assert n.alpha_bar == float(ab)
    assert n.beta == float(sched.betas[t - 1])
    # add_noise with x_0 = 1, ε = 0 gives exactly sqrt(ᾱ_t); with x_0 = 0, ε = 1, sqrt(1 - ᾱ_t)
    one, zero = torch.ones(1, 1, 1), torch.zeros(1, 1, 1)
    assert n.sqrt_alpha_bar == float(forward.q_sample(one, t, spec, zero))
    assert n.sqrt_one_minus_alpha_bar == float(forward.q_sample(zero, t, spec, one))
    assert n.snr == pytest.approx(float(ab) / (1 - float(ab)), rel=1e-12)
    assert n.log_snr == pytest.approx(math.log(n.snr), rel=1e-12)


def test_forward_numbers_at_t_zero():
    n = numbers.forward_numbers(ScheduleSpec(), 0)
    assert (n.alpha_bar, n.sqrt_alpha_bar, n.sqrt_one_minus_alpha_bar, n.beta) == (1.0, 1.0, 0.0, None)
    assert math.isinf(n.snr)
    assert n.as_dict()["snr"] is None  # JSON-safe


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
@pytest.mark.parametrize("t", [1, 2, 100, 1000])
def test_posterior_numbers_equal_the_ddpm_scheduler(name, t):
    spec = ScheduleSpec(name)
    n = numbers.posterior_numbers(spec, t)
    sched = schedules.build_scheduler(spec)
    k = t - 1
    # the variance: diffusers' reference implementation (eq. 7 of Ho et al. 2020)
    assert n.variance == float(sched._get_variance(k, variance_type="fixed_small"))
    # the mean coefficients: DDPMScheduler.step with prediction_type="sample" returns
    # coef_x0 x_0 + coef_xt x_t + σ z; the same generator seed cancels z
    ref = DDPMScheduler.from_config(sched.config, prediction_type="sample", clip_sample=False)

    def step(x0: float, xt: float) -> float:
        out = ref.step(
            torch.full((1, 1, 1, 1), x0),
            k,
            torch.full((1, 1, 1, 1), xt),
            generator=torch.Generator().manual_seed(0),
        )
        return float(out.prev_sample)

    noise_only = step(0.0, 0.0)
    assert step(1.0, 0.0) - noise_only == pytest.approx(n.coef_x0, rel=1e-5, abs=1e-7)
    assert step(0.0, 1.0) - noise_only == pytest.approx(n.coef_xt, rel=1e-5, abs=1e-7)
    # the textbook form in float64 as a second oracle (diffusers' float32 β_t = 1 - ᾱ_t/ᾱ_{t-1}
    # loses ~1e-4 relative to cancellation, so this one is a formula check, not an exact one)
    ab, ab_prev = float(sched.alphas_cumprod[k]), (float(sched.alphas_cumprod[k - 1]) if k else 1.0)
    beta = 1 - ab / ab_prev
    assert n.coef_x0 == pytest.approx(math.sqrt(ab_prev) * beta / (1 - ab), rel=2e-3, abs=1e-9)
    assert n.coef_xt == pytest.approx(math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab), rel=2e-3, abs=1e-9)
