"""DPM++ 2M Karras: DPM-Solver++(2M) on Karras et al. 2022's σ spacing (eq. 5, ρ = 7)."""

from __future__ import annotations

from diffusers import DPMSolverMultistepScheduler

from .base import Sampler, SamplerNumbers, Step, tex_number
from .dpmsolver import dpm_general, dpm_live, dpm_numbers, uses_second_order


def numbers(scheduler, step: Step) -> SamplerNumbers:
    return dpm_numbers(SAMPLER.id, scheduler, step, uses_second_order(step))


def equation(n: SamplerNumbers) -> tuple[str, str, str]:
    live, order = dpm_live(n)
    name = (
        rf"**DPM++ 2M Karras** (Lu et al. 2022 on Karras et al. 2022's σ steps), {order}; "
        rf"$\sigma = {tex_number(n.sigma_t, 3)} \to {tex_number(n.sigma_prev, 3)}$, "
        rf"$h = {tex_number(n.h, 3)}$."
    )
    return name, dpm_general(), live


SAMPLER = Sampler(
    id="dpmpp_2m_karras",
    label="DPM++ 2M Karras",
    sd_name="DPM++ 2M Karras",
    scheduler=DPMSolverMultistepScheduler,
    settings={"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": True},
    stochastic=False,
    order=2,
    evals_per_step=1,
    uses_eta=False,
    sigma_space=False,
    default_steps=20,
    colour="#8172B3",
    explain=(
        "The same multistep solver as DPM-Solver++, with its steps spaced as Karras et al. 2022 "
        "space σ: σ_i^(1/7) evenly from σ_max to σ_min, so more of the steps fall where the noise "
        "is small and the details form. Stable Diffusion UIs' most common default."
    ),
    numbers=numbers,
    equation=equation,
)
