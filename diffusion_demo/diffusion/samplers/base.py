"""What a sampler declares, the numbers of one of its steps, and the helpers its module shares.

A sampler module (ddpm.py, euler_a.py, …) builds one `Sampler`; the registry in
`__init__` lists them. `SamplerNumbers` is what a step record carries: ᾱ (and σ) at both
ends and the update's coefficients, read from the scheduler the chain used.

May import: config, checks and libraries (diffusers, torch). Never media, ui or cli.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import torch


@dataclass(frozen=True)
class SamplerNumbers:
    """One evaluation of a sampler as x_next = a x + b x̂_0 + c ε̂ + σ z (+ the 2M or Heun term).

    t and prev_t are diffusers timesteps (prev_t = -1: the last step, to x_0). x is the
    chain's own variable: x_t (VP) for DDPM-style samplers, x_σ = x_t / sqrt(ᾱ_t) for the
    σ-parametrised ones (Karras et al. 2022), where σ = sqrt((1 - ᾱ) / ᾱ).
    """

    sampler: str
    t: int
    prev_t: int
    eta: float
    alpha_bar: float  # ᾱ at t
    alpha_bar_prev: float  # ᾱ at prev_t (1 after the last step)
    coef_xt: float  # a
    coef_x0: float  # b
    coef_eps: float  # c
    sigma: float  # σ: standard deviation of the fresh noise z
    # DPM-Solver++ and UniPC (0 elsewhere): λ = log(sqrt(ᾱ) / sqrt(1 - ᾱ)) and the step h in λ
    lambda_t: float = 0.0
    lambda_prev: float = 0.0
    h: float = 0.0
    # DPM-Solver++(2M) only: the weight on D1 = (x̂_0(t) - x̂_0(last_t)) / r0, and r0
    coef_d1: float = 0.0
    r0: float = 0.0
    last_t: int | None = None
    # σ = sqrt((1 - ᾱ) / ᾱ) at both ends: the axis of Karras-style samplers and SD UIs
    sigma_t: float = 0.0
    sigma_prev: float = 0.0
    # 1, or 2 for the second network evaluation of a 2nd-order step (Heun's corrector, whose
    # update starts again from the step's first x, with weight coef_xt, and averages ε̂)
    stage: int = 1
    coef_eps_first: float = 0.0  # Heun's corrector: the weight on the first evaluation's ε̂

    def as_dict(self) -> dict[str, Any]:
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()
        }


@dataclass(frozen=True)
class Step:
    """Where one evaluation of the chain sits: what a sampler's `numbers` reads."""

    index: int  # the scheduler's step index (the round trip begins past 0)
    t: int  # the diffusers timestep of this evaluation
    prev_t: int  # the timestep after it (-1: x_0)
    eta: float
    stage: int  # 1, or 2 for Heun's corrector
    history: int  # earlier evaluations a multistep solver may use (0 at the first)
    last_t: int | None  # the timestep of the evaluation before (multistep solvers)
    final: bool  # the last evaluation of the run


@dataclass(frozen=True)
class Sampler:
    """One reverse-chain sampler, as declared by its module."""

    id: str  # the API's, deep links' and the CLI's name for it (stable: scripts use it)
    label: str  # the reverse tab's menu and the charts' legend
    sd_name: str  # what Stable Diffusion UIs (AUTOMATIC1111, ComfyUI) call it
    scheduler: type  # the diffusers scheduler class that owns its update
    stochastic: bool  # an SDE sampler (fresh noise z each step) or a deterministic ODE one
    order: int  # the solver's order
    evals_per_step: int  # network evaluations a step (Heun: 2)
    uses_eta: bool  # η (DDIM's noise dial) applies; elsewhere η > 0 is refused
    sigma_space: bool  # its x is x_σ = x_t / sqrt(ᾱ) (Karras et al. 2022), not x_t
    default_steps: int  # the steps the reverse tab and the quality chart start from
    colour: str  # its colour in every chart
    explain: str  # two sentences for the reverse tab's Explain text and docs/samplers.md
    numbers: Callable[[Any, Step], SamplerNumbers]  # (the run's scheduler, this step) -> numbers
    equation: Callable[[SamplerNumbers], tuple[str, str, str]]  # -> (name, general, live) Markdown
    settings: Mapping[str, Any] = field(default_factory=dict)  # from_config overrides
    max_sweep_steps: int = 250  # the quality chart's last point: converged by then (DDPM: 1000)

    def make_scheduler(self, scheduler_config: Mapping[str, Any], steps: int):
        """A fresh scheduler for one request (schedulers hold state), with its timesteps set."""
        scheduler = self.scheduler.from_config(scheduler_config, **self.settings)
        scheduler.set_timesteps(steps)
        return scheduler


def tex_number(x: float, digits: int = 4) -> str:
    """A float as LaTeX with `digits` significant digits: 0.7370, 3.12 \\times 10^{-5}, \\infty."""
    if math.isnan(x):
        return r"\mathrm{NaN}"
    if math.isinf(x):
        return r"\infty" if x > 0 else r"-\infty"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
        return f"{x:.{decimals}f}"
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def sigma_of(alpha_bar: float) -> float:
    """σ = sqrt((1 - ᾱ) / ᾱ): the noise-to-signal ratio Karras-style samplers step in."""
    return math.sqrt(max(0.0, 1.0 - alpha_bar) / alpha_bar)


def alpha_bar_of(sigma: float) -> float:
    """ᾱ = 1 / (1 + σ²), the inverse of sigma_of."""
    return 1.0 / (1.0 + sigma * sigma)


def alpha_bars(scheduler, step: Step) -> tuple[torch.Tensor, torch.Tensor]:
    """ᾱ at t and prev_t as the scheduler holds them (ᾱ = 1 after the last step)."""
    ac = scheduler.alphas_cumprod
    prev = ac[step.prev_t] if step.prev_t >= 0 else torch.tensor(1.0, dtype=ac.dtype)
    return ac[step.t], prev


def sigmas(scheduler, step: Step) -> tuple[float, float]:
    """σ of this evaluation's input and of the sample it lands on, from the scheduler's own
    `sigmas` (Karras spacing and interpolated timesteps included)."""
    s = scheduler.sigmas
    return float(s[step.index]), float(s[step.index + 1])


def base_fields(sampler: str, step: Step, ab_t: float, ab_prev: float) -> dict[str, Any]:
    """The fields every sampler's numbers share."""
    return dict(
        sampler=sampler,
        t=step.t,
        prev_t=step.prev_t,
        eta=step.eta,
        alpha_bar=float(ab_t),
        alpha_bar_prev=float(ab_prev),
        sigma_t=sigma_of(float(ab_t)),
        sigma_prev=sigma_of(float(ab_prev)),
        stage=step.stage,
    )


def subscripts(n: SamplerNumbers) -> tuple[int, int]:
    """The UI's subscripts of both ends (diffusers timestep k is x_{k+1}; the end is x_0)."""
    return n.t + 1, n.prev_t + 1


def x_sigma(sigma: float) -> str:
    """x at noise level σ, for σ-space equations: x_{σ=75.90}."""
    return rf"x_{{\sigma={tex_number(sigma, 3)}}}"
