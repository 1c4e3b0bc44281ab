"""DDIM: eq. 12 of Song et al. 2021, deterministic at η = 0 (diffusers' DDIMScheduler)."""

from __future__ import annotations

from diffusers import DDIMScheduler

from .base import Sampler, SamplerNumbers, Step, base_fields, subscripts, tex_number


def numbers(scheduler, step: Step) -> SamplerNumbers:
    """DDIMScheduler.step: eq. 12 of Song et al. 2021 with σ_t(η) of eq. 16."""
    ac = scheduler.alphas_cumprod
    ab_t = ac[step.t]
    ab_prev = ac[step.prev_t] if step.prev_t >= 0 else scheduler.final_alpha_cumprod
    # eq. 16: σ_t(η) = η sqrt((1-ᾱ_prev)/(1-ᾱ_t)) sqrt(1 - ᾱ_t/ᾱ_prev)
    variance = ((1 - ab_prev) / (1 - ab_t)) * (1 - ab_t / ab_prev)
    std_dev_t = step.eta * variance**0.5
    # eq. 12: sqrt(ᾱ_prev) x̂_0 + sqrt(1 - ᾱ_prev - σ²) ε̂ + σ z
    coef_eps = (1 - ab_prev - std_dev_t**2) ** 0.5
    return SamplerNumbers(
        **base_fields(SAMPLER.id, step, ab_t, ab_prev),
        coef_xt=0.0,
        coef_x0=float(ab_prev**0.5),
        coef_eps=float(coef_eps),
        sigma=float(std_dev_t),
    )


def equation(n: SamplerNumbers) -> tuple[str, str, str]:
    a, b = subscripts(n)
    general = (
        r"$$x_{t-1} = \sqrt{\bar\alpha_{t-1}}\,\hat x_0 + \sqrt{1-\bar\alpha_{t-1}-\sigma_t^2}\,\hat\varepsilon"
        r" + \sigma_t z,\quad \sigma_t = \eta\sqrt{\tilde\beta_t}$$"
    )
    live = rf"$$x_{{{b}}} = {tex_number(n.coef_x0)}\,\hat x_0 + {tex_number(n.coef_eps)}\,\hat\varepsilon" + (
        rf" + {tex_number(n.sigma)}\,z$$" if n.sigma > 0 else "$$"
    )
    name = rf"**DDIM** (eq. 12 of Song et al. 2021) with $\eta = {tex_number(n.eta, 3)}$: " + (
        "deterministic, the same $x_T$ always gives the same image."
        if n.sigma == 0
        else "part of the step is fresh noise $z$."
    )
    return name, general, live


SAMPLER = Sampler(
    id="ddim",
    label="DDIM",
    sd_name="DDIM",
    scheduler=DDIMScheduler,
    stochastic=False,
    order=1,
    evals_per_step=1,
    uses_eta=True,
    sigma_space=False,
    default_steps=50,
    colour="#DD8452",
    explain=(
        "Jumps straight to the next visited step along the network's guess of x_0, re-using the "
        "predicted noise instead of drawing new noise: the same x_T always gives the same image. "
        "η = 1 adds DDPM's fresh noise back."
    ),
    numbers=numbers,
    equation=equation,
)
