"""The reverse chain generator: timesteps, determinism, Stop, and equality with diffusers' pipelines."""

from __future__ import annotations

import dataclasses
import socket
from unittest import mock

import numpy as np
import pytest
import torch
from diffusers import DDIMPipeline, DDIMScheduler, DDPMPipeline, DDPMScheduler, DPMSolverMultistepScheduler

from diffusion_demo.config import MODEL
from diffusion_demo.diffusion import sampling
from diffusion_demo.diffusion.samplers import SAMPLER_IDS
from diffusion_demo.diffusion.sampling import ReverseRequest, reverse_chain, sample

from ..tolerances import assert_same_within_rounding, float64


class CountingDenoiser:
    """Wraps a Denoiser and counts network evaluations."""

    def __init__(self, den):
        self.den, self.calls = den, 0
        self.scheduler_config, self.sample_shape = den.scheduler_config, den.sample_shape

    def eps(self, x, t):
        self.calls += 1
        return self.den.eps(x, t)


def reference_timesteps(config: dict, sampler: str, steps: int) -> list[int]:
    """The timesteps diffusers' own scheduler visits, built here independently of sampling.py."""
    if sampler == "ddpm":
        s = DDPMScheduler.from_config(config)
    elif sampler == "ddim":
        s = DDIMScheduler.from_config(config)
    else:
        s = DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++", solver_order=2)
    s.set_timesteps(steps)
    return [int(t) for t in s.timesteps]


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpmsolver"])
@pytest.mark.parametrize("steps", [1, 7, 10])
def test_t_sequence_is_the_schedulers(tiny_denoiser, sampler, steps):
    records = list(reverse_chain(tiny_denoiser, ReverseRequest(sampler, steps, 1, seed=0)))
    expected = reference_timesteps(tiny_denoiser.scheduler_config, sampler, steps)
    assert [r.t for r in records] == expected
    assert [r.index for r in records] == list(range(len(expected)))
    assert all(r.num_steps == len(expected) for r in records)
    assert expected == sorted(expected, reverse=True) and expected[0] < 1000


def test_ddim_10_visits_the_leading_spaced_timesteps(tiny_denoiser):
    ts = [r.t for r in reverse_chain(tiny_denoiser, ReverseRequest("ddim", 10, 1))]
    assert ts == [900, 800, 700, 600, 500, 400, 300, 200, 100, 0]


def test_records_chain_together(tiny_denoiser):
    records = list(reverse_chain(tiny_denoiser, ReverseRequest("ddpm", 5, 2, seed=1)))
    np.testing.assert_array_equal(records[0].x_t, sampling.initial_noise((2, 1, 28, 28), 1))
    for a, b in zip(records, records[1:], strict=False):
        assert torch.equal(a.prev_sample, b.x_t)
    for r in records:
        assert r.eps_hat.shape == r.x_t.shape == r.pred_original_sample.shape == (2, 1, 28, 28)


@pytest.mark.parametrize("sampler, eta", [("ddpm", 0.0), ("ddim", 0.0), ("ddim", 1.0), ("dpmsolver", 0.0)])
def test_same_seed_same_result_other_seed_other_result(tiny_denoiser, sampler, eta):
    a = sample(tiny_denoiser, ReverseRequest(sampler, 6, 2, seed=5, eta=eta))
    b = sample(tiny_denoiser, ReverseRequest(sampler, 6, 2, seed=5, eta=eta))
    c = sample(tiny_denoiser, ReverseRequest(sampler, 6, 2, seed=6, eta=eta))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    assert a.shape == (2, 1, 28, 28) and a.min() >= -1 and a.max() <= 1


def test_closing_the_generator_stops_the_network(tiny_denoiser):
    den = CountingDenoiser(tiny_denoiser)
    chain = reverse_chain(den, ReverseRequest("ddpm", 50, 1))
    for _ in range(3):
        next(chain)
    assert den.calls == 3
    chain.close()
    with pytest.raises(StopIteration):
        next(chain)
    assert den.calls == 3  # no evaluation after Stop


def test_start_t_runs_only_the_lower_timesteps(tiny_denoiser):
    x = torch.zeros(1, 1, 28, 28)
    ts = [r.t for r in reverse_chain(tiny_denoiser, ReverseRequest("ddim", 10, 1), x_start=x, start_t=450)]
    assert ts == [400, 300, 200, 100, 0]


def test_ddim_equals_diffusers_ddim_pipeline(tiny_denoiser):
    """Same UNet, same x_T, eta = 0: our loop and DDIMPipeline agree to float32 precision."""
    pipe = DDIMPipeline(
        unet=tiny_denoiser.unet, scheduler=DDPMScheduler.from_config(tiny_denoiser.scheduler_config)
    )
    pipe.set_progress_bar_config(disable=True)
    for seed, steps in [(0, 10), (3, 25)]:
        request = ReverseRequest("ddim", steps, 3, seed=seed, eta=0.0)
        ours = sample(tiny_denoiser, request)
        theirs = pipe(
            batch_size=3,
            generator=torch.Generator().manual_seed(seed),
            num_inference_steps=steps,
            eta=0.0,
            output_type="pt",
        ).images
        assert theirs.shape == (3, 1, 28, 28)
        exact = (sample(float64(tiny_denoiser), request) + 1) / 2  # tests/tolerances.py
        assert_same_within_rounding(theirs, (ours + 1) / 2, exact, ops=steps)


def test_ddpm_equals_diffusers_ddpm_pipeline(tiny_denoiser):
    """DDPMPipeline draws x_T and the per-step z from one generator; ours uses seed for x_T and
    seed + 1 for z. Feed the pipeline our x_T and a seed + 1 generator: results must agree."""
    import diffusers.pipelines.ddpm.pipeline_ddpm as pipeline_ddpm

    pipe = DDPMPipeline(
        unet=tiny_denoiser.unet, scheduler=DDPMScheduler.from_config(tiny_denoiser.scheduler_config)
    )
    pipe.set_progress_bar_config(disable=True)
    seed, steps, n = 4, 20, 2
    x_T = sampling.initial_noise((n, 1, 28, 28), seed)
    with mock.patch.object(pipeline_ddpm, "randn_tensor", return_value=x_T.clone()) as patched:
        theirs = pipe(
            batch_size=n,
            generator=torch.Generator().manual_seed(seed + 1),
            num_inference_steps=steps,
            output_type="pt",
        ).images
    assert patched.call_count == 1  # only x_T was replaced; the scheduler drew its own z
    request = ReverseRequest("ddpm", steps, n, seed=seed)
    ours = sample(tiny_denoiser, request)
    exact = (sample(float64(tiny_denoiser), request) + 1) / 2  # tests/tolerances.py
    assert_same_within_rounding(theirs, (ours + 1) / 2, exact, ops=steps)
    # and the noise mattered: a different z gives a different result
    other = sample(tiny_denoiser, ReverseRequest("ddpm", steps, n, seed=seed + 7))
    assert not torch.allclose(ours, other)


def test_dpmsolver_pred_original_sample_is_derived_from_eps(tiny_denoiser):
    records = list(reverse_chain(tiny_denoiser, ReverseRequest("dpmsolver", 5, 1, seed=2)))
    ab = DDPMScheduler.from_config(tiny_denoiser.scheduler_config).alphas_cumprod
    r = records[1]
    expected = ((r.x_t - (1 - ab[r.t]).sqrt() * r.eps_hat) / ab[r.t].sqrt()).clamp(-1, 1)
    torch.testing.assert_close(r.pred_original_sample, expected)
    assert torch.isfinite(records[-1].prev_sample).all()


def test_validate_request_messages():
    with pytest.raises(ValueError, match="expected one of " + ", ".join(SAMPLER_IDS)):
        sampling.validate_request("lms", 10, 1, 0)
    with pytest.raises(ValueError, match=r"num_samples must be a whole number in \[1, 16\]"):
        sampling.validate_request("ddim", 10, 17, 0)
    assert sampling.validate_request("ddim", 10, 500, 0, max_samples=1000).num_samples == 500


@pytest.mark.slow
def test_shipped_checkpoint_makes_recognisable_digits(monkeypatch):
    """The real model, loaded with the network cut: DDIM-20 of 8 digits, mostly confident digits."""
    from diffusion_demo.models import classifier, unet

    weights = MODEL.checkpoint / "unet" / "diffusion_pytorch_model.safetensors"
    if not weights.is_file():
        pytest.skip(f"no shipped checkpoint at {MODEL.checkpoint}")

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    den = unet.load(MODEL.checkpoint)
    x = sample(den, ReverseRequest("ddim", 20, 8, seed=0))
    pred = classifier.load().predict(((x + 1) / 2).numpy())
    assert (pred.confidence >= 0.8).sum() >= 6, pred.confidence
    if den.null_label is not None:  # the shipped model is class-conditional: steer it to 7s
        sevens = sample(den, ReverseRequest("ddim", 20, 16, seed=1, digit="7"))
        read = classifier.load().predict(((sevens + 1) / 2).numpy()).labels
        assert (read == 7).sum() >= 15, read


# --- class conditioning and classifier-free guidance (Ho & Salimans 2022) -------------------


def _x_t(n: int = 3) -> torch.Tensor:
    return torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(11))


def test_guidance_0_is_the_null_label_pass_and_1_the_conditional_pass(tiny_cond_denoiser):
    den, x, t = tiny_cond_denoiser, _x_t(), torch.tensor(400)
    y = torch.tensor([3, 7, 1])
    null = torch.full_like(y, den.null_label)
    with torch.inference_mode():
        eps0, c0, u0 = sampling.guided_eps(den, x, t, y, 0.0)
        eps1, c1, u1 = sampling.guided_eps(den, x, t, y, 1.0)
        torch.testing.assert_close(eps0, den.unet(x, t, class_labels=null).sample)
        torch.testing.assert_close(eps1, den.unet(x, t, class_labels=y).sample)
        assert c0 is None and u1 is None  # one pass each
        # the labels matter: an untrained UNet's class embeddings are random, not equal
        assert (eps0 - eps1).abs().max() > 1e-4


def test_guided_batched_pass_equals_two_separate_passes(tiny_cond_denoiser):
    den, x, t, w = tiny_cond_denoiser, _x_t(), torch.tensor(250), 3.5
    y = torch.tensor([0, 9, 4])
    with torch.inference_mode():
        eps, eps_c, eps_u = sampling.guided_eps(den, x, t, y, w)
        cond = den.unet(x, t, class_labels=y).sample
        uncond = den.unet(x, t, class_labels=torch.full_like(y, den.null_label)).sample
        # one call of 2N rows vs two of N: equal within float32 rounding (tests/tolerances.py)
        exact_c = float64(den).eps(x, t, y)
        exact_u = float64(den).eps(x, t, torch.full_like(y, den.null_label))
    assert_same_within_rounding(eps_c, cond, exact_c)
    assert_same_within_rounding(eps_u, uncond, exact_u)
    assert_same_within_rounding(eps, uncond + w * (cond - uncond), exact_u + w * (exact_c - exact_u), ops=3)


def test_guided_chain_is_reproducible_and_records_the_guidance(tiny_cond_denoiser):
    request = ReverseRequest("ddim", 4, 5, seed=8, digit="each", guidance=2.5, guidance_interval=(0, 999))
    a, b = sample(tiny_cond_denoiser, request), sample(tiny_cond_denoiser, request)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    records = list(reverse_chain(tiny_cond_denoiser, request))
    assert [int(v) for v in records[0].labels] == [0, 1, 2, 3, 4]
    assert all(r.guidance == 2.5 and r.eps_cond is not None and r.eps_uncond is not None for r in records)
    other = sample(tiny_cond_denoiser, dataclasses.replace(request, guidance=0.0))
    assert (other - a).abs().max() > 1e-4  # w changes the images


def test_any_draws_its_labels_from_the_seed(tiny_cond_denoiser):
    def labels(seed: int) -> torch.Tensor:
        request = ReverseRequest("ddim", 2, 16, seed=seed, digit="any")
        return next(reverse_chain(tiny_cond_denoiser, request)).labels

    assert torch.equal(labels(5), labels(5))
    assert not torch.equal(labels(5), labels(6))
    assert set(labels(5).tolist()) <= set(range(10)) and len(set(labels(5).tolist())) > 3
    # x_T is the seed's own noise, as without labels: the labels come from another stream
    first = next(reverse_chain(tiny_cond_denoiser, ReverseRequest("ddim", 2, 16, seed=5)))
    torch.testing.assert_close(first.x_t, sampling.initial_noise((16, 1, 28, 28), 5))


def test_a_fixed_digit_labels_every_sample(tiny_cond_denoiser):
    record = next(reverse_chain(tiny_cond_denoiser, ReverseRequest("ddim", 2, 4, digit="7", guidance=1.0)))
    assert record.labels.tolist() == [7, 7, 7, 7]
    assert record.eps_uncond is None  # w = 1: the conditional pass alone


def test_guidance_interval_runs_the_plain_conditional_model_outside(tiny_cond_denoiser):
    request = ReverseRequest("ddim", 10, 2, digit="3", guidance=4.0, guidance_interval=(300, 700))
    ws = {r.t: r.guidance for r in reverse_chain(tiny_cond_denoiser, request)}
    assert ws[900] == 1.0 and ws[500] == 4.0 and ws[0] == 1.0


def test_an_unconditional_model_ignores_guidance_but_refuses_a_digit(tiny_denoiser):
    plain = sample(tiny_denoiser, ReverseRequest("ddim", 3, 2, seed=1, guidance=0.0))
    guided = sample(tiny_denoiser, ReverseRequest("ddim", 3, 2, seed=1, guidance=5.0))
    torch.testing.assert_close(plain, guided, rtol=0, atol=0)
    with pytest.raises(ValueError, match="digit '4' needs the class-conditional model"):
        sample(tiny_denoiser, ReverseRequest("ddim", 3, 2, digit="4"))


@pytest.mark.parametrize(
    ("digit", "guidance", "message"),
    [
        ("12", 1.0, "Unknown digit '12': expected one of any, 0, 1"),
        (None, 1.0, "Unknown digit None"),
        ("any", -1, r"guidance must be a number in \[0, 8\]"),
        ("any", float("nan"), r"guidance must be a number in \[0, 8\]"),
        ("any", 1e9, r"guidance must be a number in \[0, 8\]"),
        ("any", "lots", r"guidance must be a number in \[0, 8\]"),
    ],
)
def test_validate_request_names_digit_and_guidance(digit, guidance, message):
    with pytest.raises(ValueError, match=message):
        sampling.validate_request("ddim", 10, 1, 0, digit=digit, guidance=guidance)


def test_validate_request_takes_a_digit_as_int_or_string():
    assert sampling.validate_request("ddim", 10, 1, 0, digit=7).digit == "7"
    assert sampling.validate_request("ddim", 10, 1, 0, digit="each").digit == "each"
