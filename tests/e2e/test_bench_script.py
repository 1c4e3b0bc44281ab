"""benchmarks/bench.py stays runnable and measures what it says: its in-process parts on the
tiny UNet (the full run takes ~8 minutes on the shipped model: not a test)."""

from __future__ import annotations

import pytest
import torch

from diffusion_demo.diffusion.sampling import ReverseRequest

from .helpers import benchmark_script

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def bench():
    return benchmark_script("bench")


def test_a_streamed_run_splits_into_chain_steps_and_streaming(bench, tiny_denoiser):
    request = ReverseRequest(sampler="ddim", steps=8, num_samples=4, seed=0)
    streamed = bench.app_chain(tiny_denoiser, request, frames=True)
    # the chain's own steps were timed (the clock is wrapped around the generator that the
    # UI's stream consumes): a real part of the run, never the whole of it
    assert 0 < streamed["in_chain"] < streamed["total"]
    assert 0 < streamed["first"] <= streamed["total"]
    bare = bench.app_chain(tiny_denoiser, request, frames=False)
    assert bare["in_chain"] == bare["total"]  # no frames: all of it is the chain


def test_streaming_overhead_reports_medians_of_alternated_pairs(bench, tiny_denoiser, monkeypatch):
    calls = []
    real = bench.app_chain

    def recording(den, request, frames):
        calls.append((request.steps, frames))
        return real(den, request, frames)

    monkeypatch.setattr(bench, "app_chain", recording)
    request = ReverseRequest(sampler="ddpm", steps=6, num_samples=2, seed=0)
    res = bench.streaming_overhead(tiny_denoiser, request, pairs=3)
    assert calls == [(5, True)] + [(6, True), (6, False)] * 3  # a warm-up, then alternated
    assert res["pairs"] == 3
    assert res["app_s"] > 0 and res["app_noframes_s"] > 0
    assert -0.9 < res["overhead"] < 10  # a ratio of two runs of the same chain
    assert 0 < res["overhead_in_run"] < 10


def test_flop_count_and_gemm_peak_are_measured(bench, tiny_denoiser):
    flops = bench.unet_flops(tiny_denoiser, batch=2)
    assert flops == pytest.approx(2 * bench.unet_flops(tiny_denoiser, batch=1), rel=0.01)  # per image
    assert bench.gemm_peak(torch.float32, n=128, repeats=2) > 0.1  # GFLOP/s
