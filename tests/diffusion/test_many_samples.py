"""diffusion/many_samples.py: many samples in batches, for the CLI and the exports."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffusion_demo.diffusion import many_samples
from diffusion_demo.diffusion.sampling import ReverseRequest, sample


def test_unit_uint8_maps_minus_one_to_zero_and_one_to_255():
    import torch

    x = torch.tensor([-1.0, 0.0, 1.0, 2.0]).reshape(1, 1, 1, 4)
    assert many_samples.unit_uint8(x).tolist() == [[[0, 128, 255, 255]]]


def test_one_of_each_cycles_0_to_9_across_batches(tiny_cond_denoiser):
    request = ReverseRequest(sampler="ddim", steps=2, num_samples=25, seed=1, digit="each")
    got = many_samples.generate(tiny_cond_denoiser, request, batch_size=12, progress=False)
    assert got.labels.tolist() == [i % 10 for i in range(25)]  # batches of 10: no restart at 0


# --- batched generation -------------------------------------------------------------------


def test_frame_indices_throttle_and_keep_the_last_step():
    assert many_samples.frame_indices(5, 10) == [0, 1, 2, 3, 4]
    kept = many_samples.frame_indices(1000, 50)
    assert len(kept) + 1 <= 50 and kept[-1] == 999 and kept == sorted(set(kept))
    with pytest.raises(ValueError, match="at least 2"):
        many_samples.frame_indices(10, 1)


def test_batch_seeds_start_at_the_seed_and_differ():
    assert many_samples.batch_seed(7, 0) == 7
    seeds = {many_samples.batch_seed(7, i) for i in range(50)}
    assert len(seeds) == 50 and all(0 <= s < 2**32 for s in seeds)


def test_generate_in_batches_matches_sampling_and_records_frames(tiny_denoiser):
    request = ReverseRequest("ddim", 4, 5, seed=3)
    gen = many_samples.generate(tiny_denoiser, request, batch_size=2, max_frames=10, progress=False)
    assert gen.samples.shape == (5, 28, 28) and gen.samples.dtype == np.float32
    assert 0.0 <= gen.samples.min() and gen.samples.max() <= 1.0
    # batch 0 is exactly the UI's request with the same seed
    first = sample(tiny_denoiser, ReverseRequest("ddim", 4, 2, seed=3))
    np.testing.assert_allclose(gen.samples[:2], ((first[:, 0] + 1) / 2).numpy(), atol=1e-6)
    # x_T plus one frame per step, each holding all 5 samples, x_0 last
    assert len(gen.frames) == 5 and all(f.shape == (5, 28, 28) and f.dtype == np.uint8 for f in gen.frames)
    np.testing.assert_allclose(gen.frames[-1] / 255, gen.samples, atol=1 / 255 + 1e-6)
    assert gen.frame_steps == [750, 500, 250, 0, -1]


def test_generate_from_a_given_start(tiny_denoiser):
    x_start = torch.zeros(3, 1, 28, 28)
    gen = many_samples.generate(
        tiny_denoiser,
        ReverseRequest("ddpm", 1000, 3),
        batch_size=2,
        progress=False,
        x_start=x_start,
        start_t=4,
    )
    assert gen.samples.shape == (3, 28, 28)
