"""UniPC: Zhao et al. 2023's unified predictor-corrector, bh2, order 2 (UniPCMultistepScheduler)."""

from __future__ import annotations

from diffusers import UniPCMultistepScheduler

from .base import Sampler, SamplerNumbers, Step, tex_number
from .dpmsolver import dpm_general, dpm_live, dpm_numbers


def numbers(scheduler, step: Step) -> SamplerNumbers:
    """The step's first-order part in log-SNR time (DPM-Solver++'s); UniPC's predictor adds an
    order-2 term from the previous x̂_0, and its corrector (UniC) first refines x_t with the
    x̂_0 just computed: their B(h) weights are not written out here."""
    return dpm_numbers(SAMPLER.id, scheduler, step, second_order=False)


def equation(n: SamplerNumbers) -> tuple[str, str, str]:
    live, _ = dpm_live(n)
    name = (
        "**UniPC** (Zhao et al. 2023): the data-prediction step of DPM-Solver++ (shown, first-order "
        "part), with a predictor of order 2 and a corrector that refines $x_t$ with the new "
        rf"$\hat x_0$ at no extra network call; $h = {tex_number(n.h, 3)}$."
    )
    return name, dpm_general(), live


SAMPLER = Sampler(
    id="unipc",
    label="UniPC",
    sd_name="UniPC",
    scheduler=UniPCMultistepScheduler,
    settings={"timestep_spacing": "trailing"},
    stochastic=False,
    order=2,
    evals_per_step=1,
    uses_eta=False,
    sigma_space=False,
    default_steps=20,
    colour="#CCB974",
    explain=(
        "A multistep solver like DPM-Solver++ that also corrects each new point with the network "
        "call it makes there anyway: the corrector is free. It is among the best at very few "
        "steps (10–20)."
    ),
    numbers=numbers,
    equation=equation,
)
