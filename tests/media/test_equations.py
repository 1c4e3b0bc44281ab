"""The live equations: the text shows the scheduler's numbers (tested in tests/diffusion/test_numbers.py)."""

from __future__ import annotations

import math

import pytest
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

from diffusion_demo.diffusion import schedules
from diffusion_demo.diffusion.schedules import ScheduleSpec
from diffusion_demo.media import equations
from diffusion_demo.media.equations import Formula

CONFIG = dict(schedules.build_scheduler(ScheduleSpec()).config)


def test_forward_md_shows_the_numbers():
    spec = ScheduleSpec("cosine")
    md = equations.forward_md(spec, 617)
    n = md.numbers
    assert isinstance(md, Formula) and isinstance(md, str)
    assert r"q(x_t \mid x_0)" in md and "x_{617}" in md and "**cosine**" in md
    for value in (n.sqrt_alpha_bar, n.sqrt_one_minus_alpha_bar, n.alpha_bar, n.snr):
        assert equations.tex_number(value) in md
    assert md.count("$$") % 2 == 0 and md.replace("$$", "").count("$") % 2 == 0
    assert "nothing has been added" in equations.forward_md(spec, 0)
    assert "pure noise" in equations.forward_md(spec, 1000)


def test_posterior_md():
    md = equations.posterior_md(ScheduleSpec(), 500)
    n = md.numbers
    assert (
        r"\tilde\mu_{500}" in md
        and equations.tex_number(n.coef_x0) in md
        and equations.tex_number(n.variance) in md
    )
    assert equations.posterior_md(ScheduleSpec(), 1).numbers.coef_xt == 0.0  # x_0 is known at t = 1
    with pytest.raises(ValueError, match="needs t in"):
        equations.posterior_numbers(ScheduleSpec(), 0)
    with pytest.raises(ValueError, match=r"\[0, 1000\]"):
        equations.posterior_md(ScheduleSpec(), 1001)


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_ddim_update_md_shows_the_numbers(eta):
    s = DDIMScheduler.from_config(CONFIG)
    s.set_timesteps(50)
    t = int(s.timesteps[3])
    prev_t = t - 1000 // 50
    n = equations.sampler_numbers("ddim", CONFIG, t, prev_t, eta)
    md = equations.sampler_update_md("ddim", CONFIG, t, prev_t, eta)
    assert "DDIM" in md and equations.tex_number(n.coef_eps) in md


def test_dpmsolver_update_md_says_second_order():
    s = DPMSolverMultistepScheduler.from_config(CONFIG, algorithm_type="dpmsolver++", solver_order=2)
    s.set_timesteps(20)
    ts = [int(t) for t in s.timesteps]
    md = equations.sampler_update_md("dpmsolver", CONFIG, ts[1], ts[2], last_t=ts[0])
    assert "second order" in md and "D_1" in md


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpmsolver"])
def test_sampler_md_uses_ui_subscripts(sampler):
    md = equations.sampler_update_md(sampler, CONFIG, 979, 959, 0.5)
    assert "x_{960}" in md and "x_{980}" in md and "diffusers timestep 979" in md
    # diffusers' default scheduler clips x̂_0 (clip_sample): the text says so where it applies
    assert ("clip_sample" in md) == (sampler != "dpmsolver")
    assert "clip_sample" not in equations.sampler_update_md(
        sampler, CONFIG | {"clip_sample": False}, 979, 959
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.73696, "0.7370"),
        (1.0, "1.000"),
        (3.1234e-5, r"3.123 \times 10^{-5}"),
        (12345.6, r"1.235 \times 10^{4}"),
        (0.0, "0"),
        (math.inf, r"\infty"),
        (-math.inf, r"-\infty"),
    ],
)
def test_tex_number(value, text):
    assert equations.tex_number(value) == text


def test_latex_delimiters_put_display_math_first():
    assert [d["left"] for d in equations.LATEX_DELIMITERS] == ["$$", "$"]


def test_guidance_md_shows_this_step_s_w_and_says_when_the_step_is_outside_the_interval():
    inside = equations.guidance_md(3.0, "7", 0.081)
    assert r"\hat\varepsilon_\varnothing + 3.00\," in inside and "0.081" in inside and "the digit 7" in inside
    assert inside.numbers.w == 3.0 and "interval" not in inside
    outside = equations.guidance_md(1.0, "7", None, (3.0, (0, 500)))
    assert r"\hat\varepsilon = \hat\varepsilon_y" in outside
    assert "w = 3 applies only at diffusers timesteps 0 … 500" in outside
    assert "unconditional" in equations.guidance_md(0.0, "any")
