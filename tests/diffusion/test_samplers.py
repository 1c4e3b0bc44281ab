"""Every sampler of the registry: the chain equals a plain diffusers loop, each record's numbers
rebuild its update, the round trip and bad input work. A new sampler adds one row to SAMPLERS
(the registry) and, if it needs one, a row to the tables below."""

from __future__ import annotations

import inspect
import math

import pytest
import torch

from diffusion_demo.diffusion import samplers
from diffusion_demo.diffusion.roundtrip import round_trip
from diffusion_demo.diffusion.sampling import ReverseRequest, reverse_chain, validate_request
from diffusion_demo.media.equations import sampler_update_md

IDS = samplers.SAMPLER_IDS
STEPS = 6
# Network calls a run of STEPS steps makes: Heun's last step (to σ = 0) is a single Euler call.
CALLS = {"heun": 2 * STEPS - 1}
# Samplers whose numbers are only part of their update, and how many of the first records they
# rebuild exactly.
FIRST_ONLY: dict[str, int] = {"unipc": 1}  # its predictor-corrector terms are not written out


def diffusers_loop(den, sampler: samplers.Sampler, steps: int, n: int, seed: int) -> torch.Tensor:
    """The oracle: diffusers' documented loop, written out (no code of the chain's)."""
    s = sampler.scheduler.from_config(den.scheduler_config, **sampler.settings)
    s.set_timesteps(steps)
    x = (
        torch.randn((n, *den.sample_shape), generator=torch.Generator().manual_seed(seed))
        * s.init_noise_sigma
    )
    kwargs = {"generator": torch.Generator().manual_seed(seed + 1)}
    if "generator" not in inspect.signature(s.step).parameters:
        kwargs = {}
    for t in s.timesteps:
        with torch.inference_mode():
            eps = den.eps(s.scale_model_input(x, t), t)
        x = s.step(eps, t, x, **kwargs).prev_sample
    return x


@pytest.mark.parametrize("sampler_id", IDS)
def test_the_chain_is_the_diffusers_loop(tiny_denoiser, sampler_id):
    sampler = samplers.get(sampler_id)
    records = list(
        reverse_chain(tiny_denoiser, ReverseRequest(sampler=sampler_id, steps=STEPS, num_samples=3))
    )
    assert len(records) == CALLS.get(sampler_id, STEPS) == records[0].num_steps
    assert [r.index for r in records] == list(range(len(records)))
    assert {r.stage for r in records} == ({1, 2} if sampler.evals_per_step == 2 else {1})
    want = diffusers_loop(tiny_denoiser, sampler, STEPS, 3, 0)
    torch.testing.assert_close(records[-1].prev_sample, want, rtol=1e-5, atol=1e-5)
    # x_t is what the network saw: x_T ~ N(0, I) in DDPM's scale whatever the sampler's variable
    assert records[0].x_t.std().item() == pytest.approx(1.0, abs=0.15)


def _own(x: torch.Tensor, sigma: float, sampler: samplers.Sampler) -> torch.Tensor:
    """A record's x_t (DDPM's scale) in the sampler's own variable."""
    return x * math.sqrt(sigma * sigma + 1) if sampler.sigma_space else x


@pytest.mark.parametrize("sampler_id", IDS)
def test_each_records_numbers_rebuild_its_update(tiny_denoiser, sampler_id):
    """x_next = a x + b x̂_0 + c ε̂ (+ the 2M term, + Heun's first ε̂) + σ z, from the record's
    numbers alone: deterministic samplers exactly, stochastic ones with a residual of std σ."""
    sampler = samplers.get(sampler_id)
    records = list(
        reverse_chain(tiny_denoiser, ReverseRequest(sampler=sampler_id, steps=STEPS, num_samples=8))
    )
    checked = records[: FIRST_ONLY.get(sampler_id, len(records))]
    for k, r in enumerate(checked):
        n = r.numbers
        assert n.sampler == sampler_id and n.stage == r.stage
        ab = n.alpha_bar if r.stage == 1 else 1 / (1 + n.sigma_prev**2)  # Heun's corrector: at σ'
        x0_hat = (r.x_t - math.sqrt(1 - ab) * r.eps_hat) / math.sqrt(ab)
        start = r if r.stage == 1 else records[k - 1]  # the corrector redoes the step from its start
        x = _own(start.x_t, n.sigma_t, sampler)
        expected = n.coef_xt * x + n.coef_x0 * x0_hat + n.coef_eps * r.eps_hat
        if n.coef_eps_first:
            expected = expected + n.coef_eps_first * records[k - 1].eps_hat
        if n.coef_d1:
            prev = records[k - 1]
            ab_last = 1 / (1 + prev.numbers.sigma_t**2)
            x0_last = (prev.x_t - math.sqrt(1 - ab_last) * prev.eps_hat) / math.sqrt(ab_last)
            expected = expected + n.coef_d1 * (x0_hat - x0_last) / n.r0
        got = _own(r.prev_sample, n.sigma_prev, sampler)
        scale = 1 + expected.abs().max().item()
        residual = got - expected
        if n.sigma > 0.05:  # fresh noise z ~ N(0, I) of std σ: 8 × 28 × 28 draws
            assert residual.std().item() == pytest.approx(n.sigma, rel=0.1), (k, n)
        else:
            assert residual.abs().max().item() <= 2e-4 * scale + n.sigma * 6, (k, n)


@pytest.mark.parametrize("sampler_id", IDS)
def test_each_step_has_its_equation_with_its_numbers(tiny_denoiser, sampler_id):
    records = list(
        reverse_chain(tiny_denoiser, ReverseRequest(sampler=sampler_id, steps=STEPS, num_samples=1))
    )
    for r in records:
        md = sampler_update_md(r.numbers)
        assert md.numbers is r.numbers and "$$" in md
        assert samplers.get(sampler_id).label.split(" ")[0] in md
    if sampler_id == "heun":
        assert "corrector" in sampler_update_md(records[1].numbers)
        assert "predictor" in sampler_update_md(records[0].numbers)


@pytest.mark.parametrize("sampler_id", IDS)
def test_the_round_trip_starts_at_t_and_comes_back(tiny_denoiser, sampler_id):
    x0 = torch.zeros(2, *tiny_denoiser.sample_shape)
    request = ReverseRequest(sampler=sampler_id, steps=20, num_samples=2, seed=1)
    x_t, timestep, chain = round_trip(tiny_denoiser, x0, 300, request)
    records = list(chain)
    assert timestep <= 299 and records[0].t == timestep and records[0].stage == 1
    torch.testing.assert_close(records[0].x_t, x_t)  # the network sees the x_t that was shown
    full = 20 * samplers.get(sampler_id).evals_per_step - (samplers.get(sampler_id).evals_per_step - 1)
    assert records[-1].prev_t == -1 and len(records) < full


def test_every_sampler_declares_what_the_menus_and_charts_need():
    colours = [s.colour for s in samplers.SAMPLERS.values()]
    assert len(set(colours)) == len(colours)
    for s in samplers.SAMPLERS.values():
        assert s.id.isidentifier() and s.label and s.sd_name and s.explain.count(". ") >= 1
        assert s.order in (1, 2) and s.evals_per_step in (1, 2) and 1 <= s.default_steps <= 1000
        assert s.uses_eta == (s.id == "ddim")
    assert samplers.DEFAULT_SAMPLER == "ddim" and IDS[:3] == ("ddpm", "ddim", "dpmsolver")


def test_an_unknown_sampler_lists_the_registry():
    for bad in ("euler_ancestral", "", None, 3):
        with pytest.raises(ValueError, match="expected one of " + ", ".join(IDS)):
            validate_request(bad, 10, 1, 0)


@pytest.mark.parametrize("sampler_id", [s for s in IDS if s != "ddim"])
def test_eta_on_a_sampler_without_it_is_refused_not_ignored(sampler_id):
    with pytest.raises(ValueError, match=f"eta = 0.5 does not apply to sampler '{sampler_id}'"):
        validate_request(sampler_id, 10, 1, 0, eta=0.5)
    assert validate_request(sampler_id, 10, 1, 0, eta=0).eta == 0


def test_two_calls_a_step_halve_the_most_steps():
    assert validate_request("heun", 500, 1, 0).steps == 500
    with pytest.raises(ValueError, match="steps"):
        validate_request("heun", 501, 1, 0)
