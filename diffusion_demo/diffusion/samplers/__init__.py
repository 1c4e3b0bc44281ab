"""The samplers of the reverse chain: one module each, listed here in menu order.

A module declares a `Sampler` (base.py): its id (API, deep links, CLI), label, name in
Stable Diffusion UIs, diffusers scheduler and settings, SDE or ODE, order, calls a step,
whether η applies, colour, explanation, and its step numbers and live equation. Adding a
sampler is one module plus one line below (and a row of tests/diffusion/test_samplers.py).

May import: config, checks and libraries. Never media, ui or cli.
"""

from __future__ import annotations

from . import ddim, ddpm, dpmpp_2m_karras, dpmsolver, euler, euler_a, heun, unipc
from .base import Sampler

SAMPLERS: dict[str, Sampler] = {
    m.SAMPLER.id: m.SAMPLER for m in (ddpm, ddim, dpmsolver, euler, euler_a, heun, dpmpp_2m_karras, unipc)
}
SAMPLER_IDS: tuple[str, ...] = tuple(SAMPLERS)
DEFAULT_SAMPLER: str = ddim.SAMPLER.id  # the reverse tab's, the API's and the CLI's default


def get(sampler_id: object) -> Sampler:
    """The sampler of this id; a ValueError listing the registry's ids otherwise."""
    if not isinstance(sampler_id, str) or sampler_id not in SAMPLERS:
        raise ValueError(f"Unknown sampler {sampler_id!r}: expected one of {', '.join(SAMPLER_IDS)}.")
    return SAMPLERS[sampler_id]
