"""The forward chain: closed form vs diffusers, its statistics, and the iterated Markov chain."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffusion_demo.config import SCHEDULE_NAMES
from diffusion_demo.diffusion import forward, schedules
from diffusion_demo.diffusion.schedules import ScheduleSpec


def _x0(shape=(3, 8, 8), seed=999) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
@pytest.mark.parametrize("t", [1, 17, 500, 1000])
def test_closed_form_equals_diffusers_add_noise(name, t):
    spec = ScheduleSpec(name)
    x0, eps = _x0(), forward.fixed_noise((3, 8, 8), 5)
    got = forward.q_sample(x0, t, spec, eps)
    sched = schedules.build_scheduler(spec)
    ref = sched.add_noise(x0[None], eps[None], torch.tensor([t - 1]))[0]
    assert torch.equal(got, ref)
    # the textbook formula (eq. 4 of Ho et al. 2020) as an independent oracle
    ab = sched.alphas_cumprod[t - 1].double()
    oracle = ab.sqrt() * x0.double() + (1 - ab).sqrt() * eps.double()
    torch.testing.assert_close(got.double(), oracle, rtol=1e-5, atol=1e-6)


def test_closed_form_batched_input():
    spec = ScheduleSpec("cosine")
    x0 = _x0((4, 1, 5, 5))
    eps = torch.randn(4, 1, 5, 5, generator=torch.Generator().manual_seed(1))
    got = forward.q_sample(x0, 300, spec, eps)
    single = torch.stack([forward.q_sample(x0[i], 300, spec, eps[i]) for i in range(4)])
    assert got.shape == x0.shape and torch.equal(got, single)


def test_t_zero_is_the_clean_image_and_a_copy():
    x0 = _x0()
    out = forward.q_sample(x0, 0, ScheduleSpec(), torch.randn(3, 8, 8))
    assert torch.equal(out, x0) and out.data_ptr() != x0.data_ptr()


def test_t_equals_T_is_almost_pure_noise():
    x0, eps = _x0(), forward.fixed_noise((3, 8, 8), 0)
    out = forward.q_sample(x0, 1000, ScheduleSpec(), eps)
    assert torch.allclose(out, eps, atol=0.01)


@pytest.mark.parametrize("t", [1, 250, 700])
def test_mean_and_variance_over_many_eps(t):
    """E[x_t] = sqrt(alpha_bar_t) x_0 and Var[x_t] = 1 - alpha_bar_t, per pixel."""
    spec = ScheduleSpec("linear")
    n = 20000
    x0 = torch.tensor([-1.0, -0.3, 0.4, 1.0]).reshape(1, 1, 2, 2)
    eps = torch.randn(n, 1, 2, 2, generator=torch.Generator().manual_seed(t))
    x_t = forward.q_sample(x0.expand(n, -1, -1, -1).contiguous(), t, spec, eps).double()
    ab = schedules.alpha_bar_at(spec, t)
    se_mean = np.sqrt((1 - ab) / n)
    np.testing.assert_allclose(x_t.mean(0).numpy(), np.sqrt(ab) * x0[0].numpy(), atol=5 * se_mean)
    var = x_t.var(0).numpy()
    np.testing.assert_allclose(var, 1 - ab, rtol=5 * np.sqrt(2 / n))


def test_iterated_chain_matches_closed_form_in_distribution():
    """eq. 2 iterated T times has the marginal of eq. 4: mean and variance per pixel."""
    spec = ScheduleSpec("linear", T=1000)
    n = 4000
    x0 = torch.tensor([-1.0, -0.5, 0.0, 0.8]).reshape(1, 2, 2).expand(n, 1, 2, 2).contiguous()
    keep = [0, 10, 300, 1000]
    out = forward.iterate_chain(x0, spec, keep, seed=3)
    assert sorted(out) == keep
    assert torch.equal(out[0], x0)
    for t in keep[1:]:
        ab = schedules.alpha_bar_at(spec, t)
        x_t = out[t].double()
        se = np.sqrt((1 - ab) / n)
        np.testing.assert_allclose(x_t.mean(0).numpy(), np.sqrt(ab) * x0[0].numpy(), atol=5 * se + 1e-4)
        np.testing.assert_allclose(x_t.var(0).numpy(), 1 - ab, rtol=6 * np.sqrt(2 / n), atol=1e-5)
        # and it is a different draw from the closed form's (independent noise)
        eps = forward.fixed_noise(tuple(x0.shape), 3)
        assert not torch.allclose(out[t], forward.q_sample(x0, t, spec, eps))


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_iterated_chain_every_schedule_ends_near_noise(name):
    spec = ScheduleSpec(name, T=1000)
    n = 3000
    x0 = torch.full((n, 1, 1, 1), 0.9)
    x_T = forward.iterate_chain(x0, spec, [1000], seed=0)[1000].double()
    assert abs(float(x_T.mean())) < 0.1
    assert float(x_T.var()) == pytest.approx(1.0, abs=0.1)


def test_iterate_chain_is_reproducible_per_seed():
    spec = ScheduleSpec(T=50)
    x0 = _x0((1, 4, 4))
    a = forward.iterate_chain(x0, spec, [25, 50], seed=7)
    b = forward.iterate_chain(x0, spec, [25, 50], seed=7)
    c = forward.iterate_chain(x0, spec, [25, 50], seed=8)
    assert torch.equal(a[50], b[50]) and not torch.equal(a[50], c[50])


def test_fixed_noise_is_fixed_per_seed():
    a, b, c = (
        forward.fixed_noise((3, 4, 4), 1),
        forward.fixed_noise((3, 4, 4), 1),
        forward.fixed_noise((3, 4, 4), 2),
    )
    assert torch.equal(a, b) and not torch.equal(a, c)
    big = forward.fixed_noise((200_000,), 0)
    assert abs(float(big.mean())) < 0.01 and float(big.std()) == pytest.approx(1.0, abs=0.01)


def test_dragging_t_morphs_smoothly_with_fixed_noise():
    """Neighbouring t differ little when ε is fixed: the drag shows one image fading."""
    spec, x0, eps = ScheduleSpec(), _x0(), forward.fixed_noise((3, 8, 8), 0)
    a, b = forward.q_sample(x0, 400, spec, eps), forward.q_sample(x0, 401, spec, eps)
    assert float((a - b).abs().max()) < 0.01


@pytest.mark.parametrize("bad", [-1, 1001, 2.5, float("nan"), float("inf"), "ten", None, [3]])
def test_check_t_refuses_bad_values(bad):
    with pytest.raises(ValueError, match=r"t must be a whole number in \[0, 1000\]"):
        forward.check_t(bad, 1000)


def test_check_t_accepts_the_ends_and_float_integers():
    assert forward.check_t(0, 10) == 0 and forward.check_t(10.0, 10) == 10 and forward.check_t("3", 10) == 3


def test_q_sample_refuses_t_outside_the_schedule():
    with pytest.raises(ValueError, match=r"\[0, 100\]"):
        forward.q_sample(_x0(), 101, ScheduleSpec(T=100), torch.zeros(3, 8, 8))
    with pytest.raises(ValueError):
        forward.iterate_chain(_x0(), ScheduleSpec(T=100), [5, 200], seed=0)


def test_evenly_spaced():
    assert forward.evenly_spaced(1000, 9) == [0, 125, 250, 375, 500, 625, 750, 875, 1000]
    assert forward.evenly_spaced(4, 9) == [0, 1, 2, 3, 4]
    assert forward.evenly_spaced(1, 9) == [0, 1]


def test_gaussian_and_pixel_density_integrate_to_one():
    xs = np.linspace(-8, 8, 16001)
    dx = xs[1] - xs[0]
    assert forward.gaussian_density(xs, 0.3, 0.5).sum() * dx == pytest.approx(1.0, abs=1e-6)
    x0 = _x0((3, 16, 16))
    for ab in (0.999, 0.5, 0.01):
        assert forward.pixel_density(xs, x0, ab).sum() * dx == pytest.approx(1.0, abs=1e-4)


def test_pixel_density_becomes_standard_normal_as_alpha_bar_goes_to_zero():
    xs = np.linspace(-4, 4, 81)
    dens = forward.pixel_density(xs, _x0((3, 16, 16)), 1e-6)
    np.testing.assert_allclose(dens, forward.gaussian_density(xs, 0.0, 1.0), atol=1e-3)


def test_pixel_density_matches_a_histogram_of_x_t():
    # (x_0 and ε from different seeds: torch.rand and torch.randn of one seed are correlated)
    spec, x0 = ScheduleSpec(), _x0((3, 64, 64), seed=12345)
    ab = schedules.alpha_bar_at(spec, 300)
    samples = torch.cat([forward.q_sample(x0, 300, spec, forward.fixed_noise(x0.shape, s)) for s in range(8)])
    hist, edges = np.histogram(samples.numpy().ravel(), bins=40, range=(-3, 3), density=True)
    centres = (edges[1:] + edges[:-1]) / 2
    # the density is smooth here (noise std 0.8 >> bin width), so bin centres are fair
    np.testing.assert_allclose(hist, forward.pixel_density(centres, x0, ab), atol=0.02)


def test_chain_rows_step_by_step_and_closed_form():
    """(Moved from tests/ui/tabs/test_forward_api.py::test_chain_strip_and_table.)"""
    rows = forward.chain_rows(torch.zeros(1, 4, 4), ScheduleSpec(T=200), seed=0)
    assert rows.ts == forward.evenly_spaced(200, 9)
    assert torch.equal(rows.iterated[0], rows.closed[0])
    assert not torch.equal(rows.iterated[200], rows.closed[200])  # different noise draws
