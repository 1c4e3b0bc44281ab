"""Euler: Karras et al. 2022, Algorithm 1 without churn, the ODE in σ (EulerDiscreteScheduler)."""

from __future__ import annotations

from diffusers import EulerDiscreteScheduler

from .base import Sampler, SamplerNumbers, Step, alpha_bar_of, base_fields, sigmas, tex_number, x_sigma


def euler_numbers(sampler: str, scheduler, step: Step, sigma_to: float | None = None, noise: float = 0.0):
    """x_σ' = x_σ + (σ' - σ) d with d = (x_σ - x̂_0) / σ = ε̂ (ε-prediction): a = 1, c = σ' - σ.
    `sigma_to`: where the deterministic part lands (Euler a's σ_down), `noise`: σ_up."""
    sig, sig_next = sigmas(scheduler, step)
    land = sig_next if sigma_to is None else sigma_to
    return SamplerNumbers(
        **base_fields(sampler, step, alpha_bar_of(sig), alpha_bar_of(sig_next)),
        coef_xt=1.0,
        coef_x0=0.0,
        coef_eps=land - sig,
        sigma=noise,
    )


def euler_general() -> str:
    return (
        r"$$x_{\sigma_{i+1}} = x_{\sigma_i} + (\sigma_{i+1} - \sigma_i)\,d_i,\qquad"
        r" d_i = \frac{x_{\sigma_i} - \hat x_0}{\sigma_i} = \hat\varepsilon$$"
        "\n\n"
        r"$$x_\sigma = x_t / \sqrt{\bar\alpha_t},\quad \sigma = \sqrt{(1-\bar\alpha_t)/\bar\alpha_t}$$"
    )


def numbers(scheduler, step: Step) -> SamplerNumbers:
    return euler_numbers(SAMPLER.id, scheduler, step)


def equation(n: SamplerNumbers) -> tuple[str, str, str]:
    live = (
        rf"$${x_sigma(n.sigma_prev)} = {x_sigma(n.sigma_t)} {'+' if n.coef_eps >= 0 else '-'} "
        rf"{tex_number(abs(n.coef_eps))}\,\hat\varepsilon$$"
    )
    name = (
        "**Euler** (Karras et al. 2022, Algorithm 1): one straight step along the ODE's direction "
        r"$d = \hat\varepsilon$, in $\sigma$ instead of $t$; deterministic."
    )
    return name, euler_general(), live


SAMPLER = Sampler(
    id="euler",
    label="Euler",
    sd_name="Euler",
    scheduler=EulerDiscreteScheduler,
    settings={"timestep_spacing": "trailing"},
    stochastic=False,
    order=1,
    evals_per_step=1,
    uses_eta=False,
    sigma_space=True,
    default_steps=30,
    colour="#C44E52",
    explain=(
        "Writes the chain as an ODE in σ, the noise-to-signal ratio, where x_σ = x_t / sqrt(ᾱ), and "
        "takes plain Euler steps along the predicted noise: the simplest solver there is. It is "
        "DDIM in other coordinates, which is why the two give nearly the same digits."
    ),
    numbers=numbers,
    equation=equation,
)
