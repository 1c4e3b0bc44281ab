"""Euler ancestral: Karras et al. 2022's ancestral Euler (EulerAncestralDiscreteScheduler)."""

from __future__ import annotations

from diffusers import EulerAncestralDiscreteScheduler

from .base import Sampler, SamplerNumbers, Step, sigmas, tex_number, x_sigma
from .euler import euler_numbers


def numbers(scheduler, step: Step) -> SamplerNumbers:
    """σ_up = sqrt(σ'² (σ² - σ'²) / σ²), σ_down = sqrt(σ'² - σ_up²): an Euler step to σ_down,
    then fresh noise of σ_up (the step's variance splits between the two)."""
    sig, sig_next = sigmas(scheduler, step)
    up = (sig_next**2 * (sig**2 - sig_next**2) / sig**2) ** 0.5
    down = (sig_next**2 - up**2) ** 0.5
    return euler_numbers(SAMPLER.id, scheduler, step, sigma_to=down, noise=up)


def equation(n: SamplerNumbers) -> tuple[str, str, str]:
    general = (
        r"$$x_{\sigma_{i+1}} = x_{\sigma_i} + (\sigma_{\downarrow} - \sigma_i)\,\hat\varepsilon + \sigma_{\uparrow} z$$"
        "\n\n"
        r"$$\sigma_{\uparrow} = \sqrt{\sigma_{i+1}^2(\sigma_i^2 - \sigma_{i+1}^2)/\sigma_i^2},\quad"
        r" \sigma_{\downarrow} = \sqrt{\sigma_{i+1}^2 - \sigma_{\uparrow}^2}$$"
    )
    live = (
        rf"$${x_sigma(n.sigma_prev)} = {x_sigma(n.sigma_t)} {'+' if n.coef_eps >= 0 else '-'} "
        rf"{tex_number(abs(n.coef_eps))}\,\hat\varepsilon"
        + (rf" + {tex_number(n.sigma)}\,z$$" if n.sigma > 0 else "$$")
    )
    name = (
        "**Euler a** (ancestral Euler, Karras et al. 2022): an Euler step down past the next σ, "
        "then fresh noise $z$ back up to it; stochastic, so the digits keep changing as steps are added."
    )
    return name, general, live


SAMPLER = Sampler(
    id="euler_a",
    label="Euler a (ancestral)",
    sd_name="Euler a",
    scheduler=EulerAncestralDiscreteScheduler,
    settings={"timestep_spacing": "trailing"},
    stochastic=True,
    order=1,
    evals_per_step=1,
    uses_eta=False,
    sigma_space=True,
    default_steps=30,
    colour="#937860",
    explain=(
        "An Euler step that overshoots below the next noise level, followed by fresh noise that "
        "brings it back up: DDPM's ancestral idea in σ coordinates. Because new noise enters at "
        "every step, it never settles on one image as the step count grows."
    ),
    numbers=numbers,
    equation=equation,
)
