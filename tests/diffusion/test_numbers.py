"""The numbers of the live equations: every one equals the diffusers scheduler's own value."""

from __future__ import annotations

import math

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler

from diffusion_demo.config import SCHEDULE_NAMES
from diffusion_demo.diffusion import forward, numbers, schedules
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


def _ddpm_step(t: int, prev_t: int, x: torch.Tensor, eps: torch.Tensor, steps: int) -> tuple:
    s = DDPMScheduler.from_config(CONFIG)
    s.set_timesteps(steps)
    assert s.previous_timestep(t) == prev_t
    out = s.step(eps, t, x, generator=torch.Generator().manual_seed(1))
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    return out, z


@pytest.mark.parametrize(
    ("t", "prev_t", "steps"), [(999, 998, 1000), (500, 499, 1000), (980, 960, 50), (0, -1, 50)]
)
def test_ddpm_update_numbers_reproduce_the_step(t, prev_t, steps):
    g = torch.Generator().manual_seed(3)
    x, eps = torch.randn(1, 1, 4, 4, generator=g), torch.randn(1, 1, 4, 4, generator=g)
    out, z = _ddpm_step(t, prev_t, x, eps, steps)
    n = numbers.sampler_numbers("ddpm", CONFIG, t, prev_t)
    expected = n.coef_x0 * out.pred_original_sample + n.coef_xt * x + n.sigma * z
    torch.testing.assert_close(out.prev_sample, expected, rtol=1e-5, atol=1e-5)
    if t == 0:
        assert n.sigma == 0.0


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_ddim_update_numbers_reproduce_the_step(eta):
    s = DDIMScheduler.from_config(CONFIG)
    s.set_timesteps(50)
    t = int(s.timesteps[3])
    prev_t = t - 1000 // 50
    g = torch.Generator().manual_seed(4)
    x, eps = torch.randn(1, 1, 4, 4, generator=g), torch.randn(1, 1, 4, 4, generator=g)
    out = s.step(eps, t, x, eta=eta, generator=torch.Generator().manual_seed(2))
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(2))
    n = numbers.sampler_numbers("ddim", CONFIG, t, prev_t, eta)
    expected = n.coef_x0 * out.pred_original_sample + n.coef_eps * eps + n.sigma * z
    torch.testing.assert_close(out.prev_sample, expected, rtol=1e-5, atol=1e-5)
    assert (n.sigma == 0) == (eta == 0)


def test_dpmsolver_update_numbers_reproduce_first_and_second_order_steps():
    s = DPMSolverMultistepScheduler.from_config(CONFIG, algorithm_type="dpmsolver++", solver_order=2)
    s.set_timesteps(20)
    ts = [int(t) for t in s.timesteps]
    ab = s.alphas_cumprod
    g = torch.Generator().manual_seed(5)
    x = torch.randn(1, 1, 4, 4, generator=g)
    x0_hats = []
    for i, t in enumerate(ts[:3]):
        eps = torch.randn(1, 1, 4, 4, generator=g)
        x0_hat = (x - (1 - ab[t]).sqrt() * eps) / ab[t].sqrt()
        prev = s.step(eps, t, x).prev_sample
        n = numbers.sampler_numbers("dpmsolver", CONFIG, t, ts[i + 1], last_t=ts[i - 1] if i else None)
        expected = n.coef_xt * x + n.coef_x0 * x0_hat
        if i:
            expected = expected + n.coef_d1 * (x0_hat - x0_hats[-1]) / n.r0
        torch.testing.assert_close(prev, expected, rtol=1e-4, atol=1e-4)
        x0_hats.append(x0_hat)
        x = prev


def test_dpmsolver_last_step_returns_x0_hat():
    n = numbers.sampler_numbers("dpmsolver", CONFIG, 19, -1)
    assert (n.coef_xt, n.coef_x0, n.alpha_bar_prev) == (0.0, 1.0, 1.0)
    assert n.as_dict()["h"] is None


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("euler", CONFIG, 10, 9), "expected one of ddpm, ddim, dpmsolver"),
        (("ddpm", CONFIG, 1000, 999), r"t must be a whole number in \[0, 999\]"),
        (("ddpm", CONFIG, -1, -2), r"t must be a whole number"),
        (("ddpm", CONFIG, 10, 10), r"prev_t must be a whole number in \[-1, 9\]"),
        (("ddpm", CONFIG, 10, -2), "prev_t"),
        (("ddim", CONFIG, 10, 9, 1.5), r"eta must be a number in \[0, 1\]"),
        (("ddim", CONFIG, 10, 9, float("nan")), "eta"),
    ],
)
def test_sampler_numbers_refuse_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        numbers.sampler_numbers(*args)
    with pytest.raises(ValueError):
        numbers.sampler_numbers("dpmsolver", CONFIG, 10, 9, last_t=5)
