"""diffusion/batch.py: the batched sampler's home (evaluate re-exports it for its callers)."""

from __future__ import annotations

from diffusion_demo.diffusion import batch
from diffusion_demo.diffusion.sampling import ReverseRequest
from diffusion_demo.training import evaluate


def test_evaluate_reexports_the_batched_sampler():
    assert evaluate.generate is batch.generate and evaluate.frame_indices is batch.frame_indices
    assert evaluate.batch_seed is batch.batch_seed and evaluate.Generated is batch.Generated


def test_unit_uint8_maps_minus_one_to_zero_and_one_to_255():
    import torch

    x = torch.tensor([-1.0, 0.0, 1.0, 2.0]).reshape(1, 1, 1, 4)
    assert batch.unit_uint8(x).tolist() == [[[0, 128, 255, 255]]]


def test_one_of_each_cycles_0_to_9_across_batches(tiny_cond_denoiser):
    request = ReverseRequest(sampler="ddim", steps=2, num_samples=25, seed=1, digit="each")
    got = batch.generate(tiny_cond_denoiser, request, batch_size=12, progress=False)
    assert got.labels.tolist() == [i % 10 for i in range(25)]  # batches of 10: no restart at 0
