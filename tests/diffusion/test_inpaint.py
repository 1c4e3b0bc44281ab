"""RePaint inpainting and the sketch preprocessing: equality with diffusers, kept pixels, masks."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from diffusers import RePaintPipeline, RePaintScheduler

from diffusion_demo.config import INPAINT
from diffusion_demo.diffusion import inpaint
from diffusion_demo.diffusion.inpaint import InpaintRequest, inpaint_chain, preset_mask

from ..tolerances import assert_same_within_rounding, float64


def a_digit() -> torch.Tensor:
    x = torch.full((1, 1, 28, 28), -1.0)
    x[..., 6:22, 12:16] = 1.0  # a "1"
    return x


@pytest.mark.parametrize("jumps", [1, 3])
def test_equals_diffusers_repaint_pipeline(tiny_denoiser, jumps):
    """With an unconditional model the chain is RePaintPipeline's loop: same seed, same images."""
    den, x0, fill = tiny_denoiser, a_digit(), preset_mask("top")
    request = InpaintRequest(steps=20, jumps=jumps, seed=4, num_samples=1, jump_length=5)
    ours = inpaint.inpaint(den, x0, fill, request)
    pipe = RePaintPipeline(unet=den.unet, scheduler=RePaintScheduler.from_config(den.scheduler_config))
    pipe.set_progress_bar_config(disable=True)
    theirs = pipe(
        image=x0,
        mask_image=1 - fill,
        num_inference_steps=20,
        eta=INPAINT.eta,
        jump_length=5,
        jump_n_sample=jumps,
        generator=torch.Generator().manual_seed(4),
        output_type="np",
    ).images
    exact = (inpaint.inpaint(float64(den), x0, fill, request)[:, 0] + 1) / 2  # tests/tolerances.py
    assert_same_within_rounding(torch.from_numpy(theirs[..., 0]), (ours[:, 0] + 1) / 2, exact, ops=20 * jumps)


def test_the_kept_pixels_are_the_inputs_exactly(tiny_cond_denoiser):
    x0, fill = a_digit(), preset_mask("left")
    out = inpaint.inpaint(tiny_cond_denoiser, x0, fill, InpaintRequest(steps=10, jumps=2, num_samples=3))
    kept = fill[0, 0] == 0
    u8 = lambda x: ((x + 1) * 127.5).round()  # noqa: E731
    assert (u8(out[:, 0])[:, kept] - u8(x0[0, 0])[kept]).abs().max() <= 1  # within 1/255
    assert out[:, 0][:, ~kept].std() > 0  # the fill is not the input


def test_two_seeds_give_different_fills(tiny_denoiser):
    x0, fill = a_digit(), preset_mask("centre")
    a = inpaint.inpaint(tiny_denoiser, x0, fill, InpaintRequest(steps=8, jumps=1, seed=0, num_samples=2))
    b = inpaint.inpaint(tiny_denoiser, x0, fill, InpaintRequest(steps=8, jumps=1, seed=1, num_samples=2))
    assert (a - b).abs().max() > 1e-3
    assert (a[0] - a[1]).abs().max() > 1e-3  # and the completions of one seed differ too


def test_one_jump_is_the_plain_masked_chain(tiny_denoiser):
    """r = 1: no resampling, every entry a step down, as many as the steps asked for."""
    records = list(
        inpaint_chain(tiny_denoiser, a_digit(), preset_mask("top"), InpaintRequest(steps=10, jumps=1))
    )
    assert all(r.down for r in records) and len(records) == 10
    assert [r.t for r in records] == list(range(900, -1, -100))
    assert [r.prev_t for r in records] == [*range(800, -1, -100), -1]
    with_jumps = list(
        inpaint_chain(
            tiny_denoiser, a_digit(), preset_mask("top"), InpaintRequest(steps=10, jumps=2, jump_length=3)
        )
    )
    ups = [r for r in with_jumps if not r.down]
    assert ups and all(r.prev_t == r.t + 100 for r in ups)
    assert inpaint.down_steps(InpaintRequest(steps=10, jumps=2, jump_length=3)) == sum(
        r.down for r in with_jumps
    )


def test_conditional_fill_uses_the_digit_and_guidance(tiny_cond_denoiser):
    x0, fill = a_digit(), preset_mask("bottom")
    req = InpaintRequest(steps=6, jumps=1, num_samples=2, digit="8", guidance=3.0)
    a = inpaint.inpaint(tiny_cond_denoiser, x0, fill, req)
    b = inpaint.inpaint(tiny_cond_denoiser, x0, fill, dataclasses.replace(req, guidance=0.0))
    assert (a - b).abs().max() > 1e-4


@pytest.mark.parametrize("name", INPAINT.presets)
def test_presets_leave_something_to_keep_and_to_fill(name):
    m = inpaint.check_mask(preset_mask(name))
    assert m.shape == (1, 1, 28, 28) and 0.2 < float(m.mean()) <= 0.5


def test_masks_that_cover_nothing_or_everything_or_have_another_size_are_refused():
    with pytest.raises(ValueError, match="covers nothing"):
        inpaint.check_mask(torch.zeros(1, 1, 28, 28))
    with pytest.raises(ValueError, match="covers everything"):
        inpaint.check_mask(torch.ones(1, 1, 28, 28))
    with pytest.raises(ValueError, match="Unknown mask 'middle': expected one of top, bottom"):
        preset_mask("middle")


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"steps": 0}, r"steps must be a whole number in \[1, 1000\]"),
        ({"jumps": 11}, r"jumps must be a whole number in \[1, 10\]"),
        ({"jumps": "x"}, r"jumps must be a whole number in \[1, 10\]"),
        ({"seed": -1}, "seed must be a whole number"),
        ({"guidance": 99}, r"guidance must be a number in \[0, 8\]"),
        ({"digit": "ten"}, "Unknown digit 'ten'"),
    ],
)
def test_validate_inpaint_names_the_field(over, message):
    args = {"steps": 50, "jumps": 1, "seed": 0} | over
    with pytest.raises(ValueError, match=message):
        inpaint.validate_inpaint(**args)
