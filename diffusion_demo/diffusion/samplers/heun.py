"""Heun: Karras et al. 2022, Algorithm 1 (2nd order), two network calls a step (HeunDiscreteScheduler)."""

from __future__ import annotations

import dataclasses

from diffusers import HeunDiscreteScheduler

from .base import Sampler, SamplerNumbers, Step, alpha_bar_of, base_fields, tex_number, x_sigma
from .euler import euler_general, euler_numbers


def numbers(scheduler, step: Step) -> SamplerNumbers:
    """Stage 1 (the predictor): an Euler step σ -> σ' (the last step, to σ = 0, is only this).
    Stage 2 (the corrector, at σ'): from the step's first x again, along the mean of both ε̂:
    x_σ' = x_σ + (σ' - σ) (ε̂_1 + ε̂_2) / 2. diffusers interleaves the σ of both stages."""
    if step.stage == 1:
        return euler_numbers(SAMPLER.id, scheduler, step)
    sig, sig_next = float(scheduler.sigmas[step.index - 1]), float(scheduler.sigmas[step.index])
    half = (sig_next - sig) / 2
    fields = base_fields(SAMPLER.id, dataclasses.replace(step, t=step.last_t, prev_t=step.t), 0.5, 0.5)
    fields |= dict(
        alpha_bar=alpha_bar_of(sig), alpha_bar_prev=alpha_bar_of(sig_next), sigma_t=sig, sigma_prev=sig_next
    )
    return SamplerNumbers(**fields, coef_xt=1.0, coef_x0=0.0, coef_eps=half, sigma=0.0, coef_eps_first=half)


def equation(n: SamplerNumbers) -> tuple[str, str, str]:
    general = euler_general() + (
        "\n\n"
        r"$$\text{then at } \sigma_{i+1}:\ x_{\sigma_{i+1}} = x_{\sigma_i} + (\sigma_{i+1} - \sigma_i)\,"
        r"\tfrac12\big(\hat\varepsilon^{(1)} + \hat\varepsilon^{(2)}\big)$$"
    )
    sign = "+" if n.coef_eps >= 0 else "-"
    if n.stage == 1:
        rel = r"\approx" if n.sigma_prev > 0 else "="  # the last step is not corrected
        live = rf"$${x_sigma(n.sigma_prev)} {rel} {x_sigma(n.sigma_t)} {sign} {tex_number(abs(n.coef_eps))}\,\hat\varepsilon^{{(1)}}$$"
        what = (
            "the **predictor** (network call 1 of this step): an Euler step, to be corrected"
            if n.sigma_prev > 0
            else "the last step, to $\\sigma = 0$: a plain Euler step"
        )
    else:
        live = (
            rf"$${x_sigma(n.sigma_prev)} = {x_sigma(n.sigma_t)} {sign} {tex_number(abs(n.coef_eps))}\,"
            r"\big(\hat\varepsilon^{(1)} + \hat\varepsilon^{(2)}\big)$$"
        )
        what = (
            "the **corrector** (network call 2 of this step): the mean of both slopes, from the step's start"
        )
    name = f"**Heun** (Karras et al. 2022, Algorithm 1, 2nd order): {what}."
    return name, general, live


SAMPLER = Sampler(
    id="heun",
    label="Heun",
    sd_name="Heun",
    scheduler=HeunDiscreteScheduler,
    settings={"timestep_spacing": "trailing"},
    stochastic=False,
    order=2,
    evals_per_step=2,
    uses_eta=False,
    sigma_space=True,
    default_steps=15,
    colour="#DA8BC3",
    explain=(
        "Takes an Euler step, asks the network again at the point it reached, and redoes the step "
        "along the average of the two slopes (the trapezoidal rule). Each step costs two network "
        "calls, so 15 Heun steps cost about what 30 Euler steps do."
    ),
    numbers=numbers,
    equation=equation,
)
