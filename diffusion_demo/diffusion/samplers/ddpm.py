"""DDPM: ancestral sampling, eq. 6–7 of Ho et al. 2020 (diffusers' DDPMScheduler)."""

from __future__ import annotations

import torch
from diffusers import DDPMScheduler

from .base import Sampler, SamplerNumbers, Step, alpha_bars, base_fields, subscripts, tex_number


def posterior_coefficients(alpha_prod_t: torch.Tensor, alpha_prod_t_prev: torch.Tensor) -> tuple:
    """eq. 7 of Ho et al. 2020 in DDPMScheduler's float32 order: (β_t, coef_x0, coef_xt, β̃_t)."""
    beta_prod_t = 1 - alpha_prod_t
    beta_prod_t_prev = 1 - alpha_prod_t_prev
    current_alpha_t = alpha_prod_t / alpha_prod_t_prev
    current_beta_t = 1 - current_alpha_t
    coef_x0 = (alpha_prod_t_prev**0.5 * current_beta_t) / beta_prod_t
    coef_xt = current_alpha_t**0.5 * beta_prod_t_prev / beta_prod_t
    variance = torch.clamp(beta_prod_t_prev / beta_prod_t * current_beta_t, min=1e-20)
    return current_beta_t, coef_x0, coef_xt, variance


def numbers(scheduler, step: Step) -> SamplerNumbers:
    """DDPMScheduler.step: the eq. 7 posterior mean with x̂_0, variance β̃_t (fixed_small)."""
    ab_t, ab_prev = alpha_bars(scheduler, step)
    _, coef_x0, coef_xt, variance = posterior_coefficients(ab_t, ab_prev)
    sigma = float(variance**0.5) if step.t > 0 else 0.0
    fields = base_fields(SAMPLER.id, step, ab_t, ab_prev) | {"eta": 0.0}
    return SamplerNumbers(**fields, coef_xt=float(coef_xt), coef_x0=float(coef_x0), coef_eps=0.0, sigma=sigma)


def equation(n: SamplerNumbers) -> tuple[str, str, str]:
    a, b = subscripts(n)
    general = (
        r"$$x_{t-1} = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1-\bar\alpha_t}\,\hat x_0"
        r" + \frac{\sqrt{\alpha_t}\,(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}\,x_t + \sigma_t z$$"
        "\n\n"
        r"$$\sigma_t^2 = \tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\,\beta_t$$"
    )
    live = rf"$$x_{{{b}}} = {tex_number(n.coef_x0)}\,\hat x_0 + {tex_number(n.coef_xt)}\,x_{{{a}}}" + (
        rf" + {tex_number(n.sigma)}\,z$$" if n.sigma > 0 else "$$"
    )
    name = (
        "**DDPM** (ancestral sampling, eq. 6–7 of Ho et al. 2020): the posterior mean with "
        r"$\hat x_0$ plugged in, plus fresh noise $z \sim \mathcal{N}(0, I)$."
    )
    return name, general, live


SAMPLER = Sampler(
    id="ddpm",
    label="DDPM (ancestral)",
    sd_name="DDPM",
    scheduler=DDPMScheduler,
    stochastic=True,
    order=1,
    evals_per_step=1,
    uses_eta=False,
    sigma_space=False,
    default_steps=1000,
    colour="#4C72B0",
    explain=(
        "The chain the model was trained for: each step takes the Gaussian posterior's mean with "
        "the network's guess of x_0 plugged in, and adds fresh noise. It needs many small steps "
        "(T = 1000); with fewer, each step is too coarse and the digits blur."
    ),
    numbers=numbers,
    equation=equation,
    max_sweep_steps=1000,
)
