"""Variance schedules: every option, their curves, and every bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from diffusers import DDPMScheduler

from diffusion_demo.config import SCHEDULE, SCHEDULE_NAMES
from diffusion_demo.diffusion import schedules
from diffusion_demo.diffusion.schedules import ScheduleSpec, validate_spec


def test_the_four_schedules_are_named_as_in_the_ui():
    assert SCHEDULE_NAMES == ("linear", "scaled_linear", "cosine", "sigmoid")


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_alpha_bar_is_decreasing_in_zero_one(name):
    c = schedules.curves(ScheduleSpec(name))
    assert c.alpha_bar.shape == c.beta.shape == (SCHEDULE.default_T,)
    assert np.all(c.alpha_bar > 0) and np.all(c.alpha_bar <= 1)
    assert np.all(np.diff(c.alpha_bar) < 0), "alpha_bar must strictly decrease"
    assert np.all(c.beta > 0) and np.all(c.beta < 1)
    # alpha_bar_t = prod_{s<=t} (1 - beta_s): diffusers' cumprod, checked in float64
    np.testing.assert_allclose(c.alpha_bar, np.cumprod(1 - c.beta), rtol=1e-4)


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_default_schedules_end_in_noise(name):
    """With T = 1000 every shipped schedule reaches alpha_bar_T below the warning level."""
    c = schedules.curves(ScheduleSpec(name))
    assert c.alpha_bar[-1] < SCHEDULE.warn_alpha_bar_T


def test_curves_are_the_schedulers_own_tensors():
    for name, diffusers_name in [
        ("linear", "linear"),
        ("scaled_linear", "scaled_linear"),
        ("cosine", "squaredcos_cap_v2"),
        ("sigmoid", "sigmoid"),
    ]:
        spec = ScheduleSpec(name, 2e-4, 0.03, 500)
        ref = DDPMScheduler(
            num_train_timesteps=500, beta_start=2e-4, beta_end=0.03, beta_schedule=diffusers_name
        )
        c = schedules.curves(spec)
        assert np.array_equal(c.alpha_bar, ref.alphas_cumprod.double().numpy()), name
        assert np.array_equal(c.beta, ref.betas.double().numpy()), name


def test_known_values_at_t_499():
    """The numbers in the project notes (diffusers 0.42.1, T = 1000)."""
    expected = {"linear": 0.0786, "scaled_linear": 0.333, "cosine": 0.494, "sigmoid": 0.302}
    for name, value in expected.items():
        assert schedules.curves(ScheduleSpec(name)).alpha_bar[499] == pytest.approx(value, abs=1e-3), name


def test_linear_schedule_uses_beta_start_and_end():
    c = schedules.curves(ScheduleSpec("linear", 1e-3, 0.05, 100))
    assert c.beta[0] == pytest.approx(1e-3, rel=1e-5)
    assert c.beta[-1] == pytest.approx(0.05, rel=1e-5)
    np.testing.assert_allclose(np.diff(c.beta), (0.05 - 1e-3) / 99, rtol=1e-3)


def test_snr_and_log_snr():
    c = schedules.curves(ScheduleSpec("cosine"))
    np.testing.assert_allclose(c.snr, c.alpha_bar / (1 - c.alpha_bar))
    np.testing.assert_allclose(c.log_snr, np.log(c.snr))
    assert np.all(np.diff(c.log_snr) < 0)
    np.testing.assert_allclose(c.sqrt_alpha_bar**2 + c.sqrt_one_minus_alpha_bar**2, 1.0)


def test_alpha_bar_at_uses_the_ui_time_convention():
    spec = ScheduleSpec("linear", T=50)
    c = schedules.curves(spec)
    assert schedules.alpha_bar_at(spec, 0) == 1.0
    assert schedules.alpha_bar_at(spec, 1) == pytest.approx(c.alpha_bar[0])
    assert schedules.alpha_bar_at(spec, 50) == pytest.approx(c.alpha_bar[-1])


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_validate_accepts_every_schedule(name):
    spec = validate_spec(name, 1e-4, 0.02, 1000)
    assert spec == ScheduleSpec(name, 1e-4, 0.02, 1000)
    assert isinstance(spec.T, int)


def test_validate_accepts_number_types_from_the_ui():
    spec = validate_spec("linear", "0.0001", np.float32(0.02), 250.0)
    assert spec.T == 250 and isinstance(spec.T, int)
    assert spec.beta_start == pytest.approx(1e-4)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (dict(name="quadratic"), ("quadratic", "expected one of", "linear", "cosine")),
        (dict(name=""), ("expected one of",)),
        (dict(name=None), ("expected one of",)),
        (dict(beta_start=0.02, beta_end=0.01), ("beta_start < beta_end",)),
        (dict(beta_start=0.01, beta_end=0.01), ("beta_start < beta_end",)),
        (dict(beta_start=0.0), ("0 < beta_start",)),
        (dict(beta_start=-1e-4), ("0 < beta_start",)),
        (dict(beta_end=1.0), ("0.999",)),
        (dict(beta_end=float("nan")), ("finite",)),
        (dict(beta_start=float("inf")), ("finite",)),
        (dict(beta_start="abc"), ("beta_start must be a number",)),
        (dict(beta_end=None), ("beta_end must be a number",)),
        (dict(T=0), ("between 1 and",)),
        (dict(T=-5), ("between 1 and",)),
        (dict(T=SCHEDULE.max_T + 1), ("between 1 and",)),
        (dict(T=10.5), ("whole number",)),
        (dict(T="many"), ("T must be a number",)),
    ],
)
def test_validate_refuses_bad_input_with_a_clear_message(kwargs, words):
    args = dict(name="linear", beta_start=1e-4, beta_end=0.02, T=1000) | kwargs
    with pytest.raises(ValueError) as info:
        validate_spec(**args)
    for w in words:
        assert w in str(info.value), str(info.value)


def test_build_scheduler_is_the_schedules_ddpm_scheduler():
    spec = ScheduleSpec("cosine", T=300)
    s = schedules.build_scheduler(spec, clip_sample=False)
    assert isinstance(s, DDPMScheduler) and not s.config.clip_sample
    assert s.config.num_train_timesteps == 300 and s.config.beta_schedule == "squaredcos_cap_v2"


def test_schedulers_are_fresh_per_call():
    spec = ScheduleSpec()
    a, b = schedules.build_scheduler(spec), schedules.build_scheduler(spec)
    a.set_timesteps(10)
    assert a is not b and len(b.timesteps) == 1000


def test_as_tensor_is_contiguous():
    x = np.arange(12.0).reshape(3, 4)[:, ::2]
    t = schedules.as_tensor(x)
    assert t.is_contiguous() and torch.equal(
        t, torch.tensor([[0.0, 2], [4, 6], [8, 10]], dtype=torch.float64)
    )
    assert not math.isnan(float(t.sum()))
