"""The math, live: Markdown + LaTeX strings with the current numbers substituted.

The numbers come from `diffusion.coefficients` and, for a sampler's step, from the step
record (the sampler's module computed them from its scheduler); this module writes them
out. Each ``*_md`` returns a :class:`Formula`: a ``str`` for ``gr.Markdown`` that carries
its numbers (``.numbers``). UI time: t in [0, T]; a diffusers timestep k is shown as x_{k+1}.

May import: config, diffusion and libraries. Never ui, cli or training.
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any

from ..diffusion.coefficients import (
    GuidanceNumbers,
    forward_numbers,
    posterior_numbers,
    repaint_numbers,
)
from ..diffusion.samplers import SAMPLERS
from ..diffusion.samplers import get as get_sampler
from ..diffusion.samplers.base import SamplerNumbers, tex_number
from ..diffusion.schedules import ScheduleSpec

# gr.Markdown needs these to render inline $…$ as well as display $$…$$ ($$ must come first).
LATEX_DELIMITERS: list[dict[str, Any]] = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]


class Formula(str):
    """A Markdown string that also carries the numbers substituted into it."""

    numbers: Any

    def __new__(cls, text: str, numbers: Any) -> Formula:
        obj = super().__new__(cls, text)
        obj.numbers = numbers
        return obj


# --------------------------------------------------------------------------------------
# Forward process q(x_t | x_0)
# --------------------------------------------------------------------------------------


def forward_md(spec: ScheduleSpec, t: int) -> Formula:
    """eq. 4 of Ho et al. 2020, q(x_t | x_0) = N(sqrt(ᾱ_t) x_0, (1 - ᾱ_t) I), numbers substituted."""
    n = forward_numbers(spec, t)
    head = r"$$q(x_t \mid x_0) = \mathcal{N}\big(\sqrt{\bar\alpha_t}\, x_0,\ (1-\bar\alpha_t)\, I\big)$$"
    if n.t == 0:
        body = (
            r"At $t = 0$ nothing has been added yet: $\bar\alpha_0 = 1$, so $x_0$ is the image itself "
            r"and the signal-to-noise ratio is $\infty$."
        )
        return Formula(f"{head}\n\n{body}", n)
    tt = n.t
    equation = (
        rf"$$x_{{{tt}}} = \underbrace{{{tex_number(n.sqrt_alpha_bar)}}}_{{\sqrt{{\bar\alpha_{{{tt}}}}}}}\, x_0"
        rf" + \underbrace{{{tex_number(n.sqrt_one_minus_alpha_bar)}}}_{{\sqrt{{1-\bar\alpha_{{{tt}}}}}}}"
        r"\, \varepsilon, \qquad \varepsilon \sim \mathcal{N}(0, I)$$"
    )
    if n.snr > 1:
        verdict = "the image still dominates."
    elif n.snr > 1e-2:
        verdict = "the noise now dominates, but the image is still in there."
    else:
        verdict = r"almost pure noise: $x_t$ is close to $\mathcal{N}(0, I)$."
    body = (
        rf"At $t = {tt}$ of $T = {n.T}$ (**{n.schedule}**): $\beta_{{{tt}}} = {tex_number(n.beta)}$, "
        rf"$\bar\alpha_{{{tt}}} = {tex_number(n.alpha_bar)}$."
        "\n\n"
        f"{equation}"
        "\n\n"
        rf"Signal-to-noise ratio $\mathrm{{SNR}}(t) = \bar\alpha_t / (1-\bar\alpha_t) = {tex_number(n.snr)}$ "
        rf"($\log \mathrm{{SNR}} = {tex_number(n.log_snr, 3)}$): {verdict}"
    )
    return Formula(f"{head}\n\n{body}", n)


# --------------------------------------------------------------------------------------
# Forward-process posterior q(x_{t-1} | x_t, x_0)
# --------------------------------------------------------------------------------------


def posterior_md(spec: ScheduleSpec, t: int) -> Formula:
    """eq. 6-7 of Ho et al. 2020: the step back is Gaussian too, once x_0 is known."""
    n = posterior_numbers(spec, t)
    tt, tp = n.t, n.t - 1
    text = (
        r"$$q(x_{t-1} \mid x_t, x_0) = \mathcal{N}\big(\tilde\mu_t(x_t, x_0),\ \tilde\beta_t I\big)$$"
        "\n\n"
        r"$$\tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1-\bar\alpha_t}\, x_0"
        r" + \frac{\sqrt{\alpha_t}\,(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}\, x_t,"
        r"\qquad \tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\,\beta_t$$"
        "\n\n"
        rf"At $t = {tt}$: $\beta_{{{tt}}} = {tex_number(n.beta)}$, $\bar\alpha_{{{tt}}} = {tex_number(n.alpha_bar)}$, "
        rf"$\bar\alpha_{{{tp}}} = {tex_number(n.alpha_bar_prev)}$, so"
        "\n\n"
        rf"$$\tilde\mu_{{{tt}}} = {tex_number(n.coef_x0)}\, x_0 + {tex_number(n.coef_xt)}\, x_{{{tt}}},"
        rf"\qquad \tilde\beta_{{{tt}}} = {tex_number(n.variance)}$$"
        "\n\n"
        "This is the step the model learns to take *without* knowing $x_0$: it predicts the noise "
        r"$\hat\varepsilon$ and plugs $\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\hat\varepsilon)/\sqrt{\bar\alpha_t}$ "
        "into this mean."
    )
    return Formula(text, n)


# --------------------------------------------------------------------------------------
# One reverse step of a sampler
# --------------------------------------------------------------------------------------


def sampler_update_md(n: SamplerNumbers, clips: bool = False) -> Formula:
    """A step record's update (`record.numbers`) in its sampler's words, numbers substituted.

    `clips`: the scheduler clips x̂_0 to [-1, 1] (DDPM and DDIM with ``clip_sample``)."""
    sampler = get_sampler(n.sampler)
    name, general, live = sampler.equation(n)
    a, b = n.t + 1, n.prev_t + 1  # UI subscripts
    x0hat_def = (
        rf"$\hat x_0 = (x_{{{a}}} - \sqrt{{1-\bar\alpha_{{{a}}}}}\,\hat\varepsilon)/\sqrt{{\bar\alpha_{{{a}}}}}$ "
        rf"is the network's current guess of the clean image ($\bar\alpha_{{{a}}} = {tex_number(n.alpha_bar)}$, "
        rf"$\bar\alpha_{{{b}}} = {tex_number(n.alpha_bar_prev)}$"
        + (
            rf"; $\sigma = {tex_number(n.sigma_t, 3)} \to {tex_number(n.sigma_prev, 3)}$)."
            if sampler.sigma_space
            else ")."
        )
    )
    where = f"diffusers timestep {n.t} → {n.prev_t if n.prev_t >= 0 else 'done'}"
    if n.prev_t != n.t - 1 and sampler.order == 1 and not sampler.sigma_space:
        where += r"; with skipped steps $\alpha_t$ and $\beta_t$ are taken between the two visited steps"
    if clips:
        x0hat_def += r" diffusers clips it to $[-1, 1]$ before the update (`clip_sample`)."
    text = f"{name}\n\n{general}\n\nThis step ({where}):\n\n{live}\n\n{x0hat_def}"
    return Formula(text, n)


def guidance_md(
    w: float,
    digit: str,
    direction_rms: float | None = None,
    interval: tuple[float, tuple[int, int]] | None = None,
) -> Formula:
    """The guided noise estimate of the current step with w and the guidance direction's size.

    `interval`: the run's own w and its guidance interval, when this step lies outside it."""
    n = GuidanceNumbers(float(w), str(digit), None if direction_rms is None else float(direction_rms))
    general = (
        r"$$\hat\varepsilon = \hat\varepsilon_\varnothing + w\,"
        r"(\hat\varepsilon_y - \hat\varepsilon_\varnothing)$$"
    )
    y = {"any": "a label per sample, drawn from the seed", "each": "0, 1, …, 9 across the grid"}.get(
        n.digit, f"the digit {n.digit}"
    )
    if n.w == 0:
        live = r"$$\hat\varepsilon = \hat\varepsilon_\varnothing$$"
        what = "w = 0: the unconditional model (the null label ∅), one UNet pass; the labels are ignored."
    elif n.w == 1:
        live = r"$$\hat\varepsilon = \hat\varepsilon_y$$"
        what = f"w = 1: the plain conditional model, one UNet pass, y = {y}."
    else:
        live = (
            rf"$$\hat\varepsilon = \hat\varepsilon_\varnothing + {tex_number(n.w, 3)}\,"
            r"(\hat\varepsilon_y - \hat\varepsilon_\varnothing)$$"
        )
        size = "" if n.direction_rms is None else f" (its RMS this step: {n.direction_rms:.3f})"
        what = (
            f"w > 1 pushes past the conditional model, along the guidance direction{size}: y = {y}; "
            "both terms come from one UNet call on [x_t, x_t] with [y, ∅]."
        )
    if interval is not None:
        asked, (lo, hi) = interval
        what += (
            f" The run's w = {asked:g} applies only at diffusers timesteps {lo} … {hi} (a guidance "
            "interval, Kynkäänniemi et al. 2024): this step is outside it."
        )
    text = (
        "**Classifier-free guidance** (Ho & Salimans 2022), steering the chain towards the label y:"
        f"\n\n{general}\n\nThis step: {live}\n\n{what}"
    )
    return Formula(text, n)


def clips(scheduler_config: Any, sampler: str) -> bool:
    """Whether the sampler's scheduler clips x̂_0 (DDPM and DDIM read ``clip_sample``)."""
    get = (
        scheduler_config.get
        if hasattr(scheduler_config, "get")
        else lambda k, d=None: getattr(scheduler_config, k, d)
    )
    return _reads_clip_sample(get_sampler(sampler).scheduler) and bool(get("clip_sample", True))


@functools.cache
def _reads_clip_sample(scheduler: type) -> bool:
    """Whether a scheduler class takes `clip_sample` (read once per class: every streamed
    frame's equation asks)."""
    return "clip_sample" in inspect.signature(scheduler.__init__).parameters


# --------------------------------------------------------------------------------------
# RePaint (the fill-in tab)
# --------------------------------------------------------------------------------------


def repaint_md(scheduler_config: Any, t: int, prev_t: int, down: bool, eta: float = 1.0) -> Formula:
    """RePaint's update (Lugmayr et al. 2022, eq. 8-10 and Algorithm 1) with this entry's numbers.

    t and prev_t are diffusers timesteps (prev_t = -1: the last step, to x_0); a jump up has
    prev_t > t. Subscripts are shown in the UI convention (diffusers timestep k is x_{k+1})."""
    n = repaint_numbers(scheduler_config, t, prev_t, down, eta)
    ab, ab_prev = n.alpha_bar, n.alpha_bar_prev
    a, b = t + 1, prev_t + 1
    if down:
        general = (
            r"$$x_{t-1} = m \odot x^{\mathrm{known}}_{t-1} + (1 - m) \odot x^{\mathrm{unknown}}_{t-1}$$"
            "\n\n"
            r"$$x^{\mathrm{known}}_{t-1} = \sqrt{\bar\alpha_{t-1}}\,x_0 + \sqrt{1-\bar\alpha_{t-1}}\,\varepsilon"
            r",\qquad x^{\mathrm{unknown}}_{t-1} \sim p_\theta(x_{t-1} \mid x_t)$$"
        )
        live = (
            rf"$$x^{{\mathrm{{known}}}}_{{{b}}} = {tex_number(math.sqrt(ab_prev))}\,x_0"
            rf" + {tex_number(math.sqrt(max(0.0, 1 - ab_prev)))}\,\varepsilon$$"
        )
        what = (
            "The pixels to **keep** (m = 1) come from the forward chain of the original, noised to "
            "the new level; the pixels to **fill** (m = 0) from the model's own step "
            f"(DDIM's update with η = {eta:g}, i.e. ancestral sampling). The mask pastes them together."
            + (" Last step: the kept pixels are the original's exactly." if prev_t < 0 else "")
        )
        name = "**RePaint** (Lugmayr et al. 2022, eq. 8–10): a step down"
    else:
        general = (
            r"$$x_{t} = \sqrt{1-\beta_{t}}\,x_{t-1} + \sqrt{\beta_{t}}\,z$$ (the forward chain, step by step)"
        )
        ratio = ab_prev / ab
        live = (
            rf"$$x_{{{b}}} = {tex_number(math.sqrt(ratio))}\,x_{{{a}}} + {tex_number(math.sqrt(max(0.0, 1 - ratio)))}\,z$$"
            " (together, in distribution)"
        )
        what = (
            "A **resampling jump**: the whole image goes back up by the forward chain, and the chain "
            "comes down again, so that the filled part has another chance to agree with the kept part."
        )
        name = "**RePaint** (Algorithm 1, resampling): a jump back up"
    where = f"diffusers timestep {t} → {prev_t if prev_t >= 0 else 'done'}"
    return Formula(f"{name} ({where})\n\n{general}\n\nThis step: {live}\n\n{what}", n)


def samplers_md() -> str:
    """Every sampler of the registry as a Markdown table: the reverse tab's Explain text and
    docs/samplers.md (a test keeps the page equal to this)."""
    rows = [
        "| Sampler (`id`) | in Stable Diffusion UIs | kind | order | network calls a step | steps to start from | what it does |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in SAMPLERS.values():
        kind = "SDE (fresh noise each step)" if s.stochastic else "ODE (deterministic)"
        if s.uses_eta:
            kind += "; η > 0 adds noise"
        rows.append(
            f"| **{s.label}** (`{s.id}`) | {s.sd_name} | {kind} | {s.order} | {s.evals_per_step} | "
            f"{s.default_steps} | {s.explain} |"
        )
    return "\n".join(rows)
