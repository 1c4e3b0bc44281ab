"""The math, live: Markdown + LaTeX strings with the current numbers substituted.

Every number shown comes from a diffusers scheduler's own tensors (``alphas_cumprod``,
``betas``), computed in the same order and precision as the scheduler computes them, so
that what the student reads is exactly what the code uses. Each ``*_md`` function returns
a :class:`Formula`: a ``str`` (drop it into ``gr.Markdown``) that also carries the numbers
(``.numbers``) for tests and for the API.

Time convention (as in the rest of the app): the UI's t is in [0, T], t = 0 is the clean
image and ᾱ_t is diffusers' ``alphas_cumprod[t - 1]``. ``sampler_update_md`` takes
diffusers timesteps (what ``scheduler.step`` receives, 0 … T-1) and shows them in the UI
convention (diffusers timestep k is x_{k+1}).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..checks import in_range, number
from ..config import SAMPLER_NAMES
from ..diffusion.forward import check_t
from ..diffusion.schedules import ScheduleSpec, build_scheduler, scheduler_class

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


# --------------------------------------------------------------------------------------
# Forward process q(x_t | x_0)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForwardNumbers:
    """The coefficients of x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε at one UI step t."""

    t: int
    T: int
    schedule: str
    beta: float | None  # β_t (None at t = 0: no step taken yet)
    alpha_bar: float  # ᾱ_t = prod_{s<=t} (1 - β_s); 1 at t = 0
    sqrt_alpha_bar: float  # the scheduler's sqrt_alpha_prod in add_noise
    sqrt_one_minus_alpha_bar: float  # the scheduler's sqrt_one_minus_alpha_prod in add_noise
    snr: float  # ᾱ_t / (1 - ᾱ_t); inf at t = 0
    log_snr: float

    def as_dict(self) -> dict[str, Any]:
        return _finite_dict(asdict(self))


def forward_numbers(spec: ScheduleSpec, t: int) -> ForwardNumbers:
    """Read ᾱ_t from the DDPMScheduler and take square roots in float32, as add_noise does."""
    t = check_t(t, spec.T)
    if t == 0:
        return ForwardNumbers(0, spec.T, spec.name, None, 1.0, 1.0, 0.0, math.inf, math.inf)
    sched = build_scheduler(spec)
    ab = sched.alphas_cumprod[t - 1]  # float32, diffusers' timestep t - 1
    alpha_bar = float(ab)
    snr = alpha_bar / (1.0 - alpha_bar) if alpha_bar < 1.0 else math.inf
    return ForwardNumbers(
        t=t,
        T=spec.T,
        schedule=spec.name,
        beta=float(sched.betas[t - 1]),
        alpha_bar=alpha_bar,
        # the same float32 expressions as DDPMScheduler.add_noise
        sqrt_alpha_bar=float(ab**0.5),
        sqrt_one_minus_alpha_bar=float((1 - ab) ** 0.5),
        snr=snr,
        log_snr=math.log(snr) if 0 < snr < math.inf else (math.inf if snr > 0 else -math.inf),
    )


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


@dataclass(frozen=True)
class PosteriorNumbers:
    """eq. 6-7 of Ho et al. 2020 at UI step t: mean = coef_x0 x_0 + coef_xt x_t, variance β̃_t."""

    t: int
    T: int
    schedule: str
    beta: float  # β_t = 1 - ᾱ_t / ᾱ_{t-1} (diffusers' current_beta_t)
    alpha_bar: float  # ᾱ_t
    alpha_bar_prev: float  # ᾱ_{t-1} (1 at t = 1)
    coef_x0: float  # sqrt(ᾱ_{t-1}) β_t / (1 - ᾱ_t)
    coef_xt: float  # sqrt(α_t) (1 - ᾱ_{t-1}) / (1 - ᾱ_t)
    variance: float  # β̃_t = (1 - ᾱ_{t-1}) / (1 - ᾱ_t) β_t, clamped at 1e-20 like diffusers

    def as_dict(self) -> dict[str, Any]:
        return _finite_dict(asdict(self))


def posterior_numbers(spec: ScheduleSpec, t: int) -> PosteriorNumbers:
    """The coefficients DDPMScheduler.step and ._get_variance compute, in their float32 order."""
    t = check_t(t, spec.T)
    if t < 1:
        raise ValueError(f"q(x_(t-1) | x_t, x_0) needs t in [1, {spec.T}]; got t = 0.")
    sched = build_scheduler(spec)
    k = t - 1  # diffusers' timestep
    alpha_prod_t = sched.alphas_cumprod[k]
    alpha_prod_t_prev = sched.alphas_cumprod[k - 1] if k - 1 >= 0 else sched.one
    beta_prod_t = 1 - alpha_prod_t
    beta_prod_t_prev = 1 - alpha_prod_t_prev
    current_alpha_t = alpha_prod_t / alpha_prod_t_prev
    current_beta_t = 1 - current_alpha_t
    # eq. 7 of Ho et al. 2020: mean coefficients and the posterior variance β̃_t
    coef_x0 = (alpha_prod_t_prev**0.5 * current_beta_t) / beta_prod_t
    coef_xt = current_alpha_t**0.5 * beta_prod_t_prev / beta_prod_t
    variance = torch.clamp(beta_prod_t_prev / beta_prod_t * current_beta_t, min=1e-20)
    return PosteriorNumbers(
        t=t,
        T=spec.T,
        schedule=spec.name,
        beta=float(current_beta_t),
        alpha_bar=float(alpha_prod_t),
        alpha_bar_prev=float(alpha_prod_t_prev),
        coef_x0=float(coef_x0),
        coef_xt=float(coef_xt),
        variance=float(variance),
    )


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


@dataclass(frozen=True)
class SamplerNumbers:
    """One reverse step written as x_prev = a x_t + b x̂_0 + c ε̂ + σ z (+ DPM-Solver++ 2M term).

    t and prev_t are diffusers timesteps (prev_t = -1 means the last step, to x_0).
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
    # DPM-Solver++ only (0 elsewhere): λ = log(sqrt(ᾱ) / sqrt(1 - ᾱ)) and the step h in λ
    lambda_t: float = 0.0
    lambda_prev: float = 0.0
    h: float = 0.0
    # DPM-Solver++(2M) only: the weight on D1 = (x̂_0(t) - x̂_0(last_t)) / r0, and r0
    coef_d1: float = 0.0
    r0: float = 0.0
    last_t: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return _finite_dict(asdict(self))


@functools.lru_cache(maxsize=16)
def _read_only_scheduler(sampler: str, config_json: str):
    """One scheduler per (sampler, config), only ever read (ᾱ): building one costs ~2 ms, and
    the reverse tab asks for the numbers of every frame it streams."""
    return scheduler_class(sampler).from_config(json.loads(config_json))


def sampler_numbers(
    sampler: str,
    scheduler_config: Any,
    t: int,
    prev_t: int,
    eta: float = 0.0,
    last_t: int | None = None,
) -> SamplerNumbers:
    """The coefficients of the `sampler`'s update from diffusers timestep t to prev_t.

    DDPM: eq. 7 posterior mean with x̂_0 plugged in (what DDPMScheduler.step computes) and
    σ² = β̃_t. DDIM: eq. 12 of Song et al. 2021 with σ = η sqrt(β̃_t). DPM-Solver++: eq. 8
    (first order) of Lu et al. 2022b; pass `last_t` (the step before, larger than t) for the
    second-order multistep correction with D1 (midpoint form, diffusers' default).
    """
    if sampler not in SAMPLER_NAMES:
        raise ValueError(f"Unknown sampler {sampler!r}: expected one of {', '.join(SAMPLER_NAMES)}.")
    sched = _read_only_scheduler(sampler, json.dumps(dict(scheduler_config), sort_keys=True, default=str))
    T = int(sched.config.num_train_timesteps)
    t = check_t(t, T - 1)
    prev_t = in_range(prev_t, "prev_t", -1, t - 1)
    eta = number(eta, "eta", 0.0, 1.0)
    ac = sched.alphas_cumprod
    alpha_prod_t = ac[t]
    if sampler == "ddim":
        alpha_prod_t_prev = ac[prev_t] if prev_t >= 0 else sched.final_alpha_cumprod
    else:
        # DDPMScheduler uses self.one after the last step; DPM-Solver++ ends at sigma = 0 (ᾱ = 1)
        alpha_prod_t_prev = ac[prev_t] if prev_t >= 0 else torch.tensor(1.0, dtype=ac.dtype)
    beta_prod_t = 1 - alpha_prod_t
    beta_prod_t_prev = 1 - alpha_prod_t_prev
    base = dict(
        sampler=sampler,
        t=t,
        prev_t=prev_t,
        eta=eta if sampler == "ddim" else 0.0,
        alpha_bar=float(alpha_prod_t),
        alpha_bar_prev=float(alpha_prod_t_prev),
    )
    if sampler == "ddpm":
        # DDPMScheduler.step: eq. 7 posterior mean with x̂_0, variance β̃_t (fixed_small)
        current_alpha_t = alpha_prod_t / alpha_prod_t_prev
        current_beta_t = 1 - current_alpha_t
        coef_x0 = (alpha_prod_t_prev**0.5 * current_beta_t) / beta_prod_t
        coef_xt = current_alpha_t**0.5 * beta_prod_t_prev / beta_prod_t
        variance = torch.clamp(beta_prod_t_prev / beta_prod_t * current_beta_t, min=1e-20)
        sigma = float(variance**0.5) if t > 0 else 0.0
        return SamplerNumbers(
            **base, coef_xt=float(coef_xt), coef_x0=float(coef_x0), coef_eps=0.0, sigma=sigma
        )
    if sampler == "ddim":
        # eq. 16 of Song et al. 2021: σ_t(η) = η sqrt((1-ᾱ_prev)/(1-ᾱ_t)) sqrt(1 - ᾱ_t/ᾱ_prev)
        variance = (beta_prod_t_prev / beta_prod_t) * (1 - alpha_prod_t / alpha_prod_t_prev)
        std_dev_t = eta * variance**0.5
        # eq. 12: sqrt(ᾱ_prev) x̂_0 + sqrt(1 - ᾱ_prev - σ²) ε̂ + σ z
        coef_eps = (1 - alpha_prod_t_prev - std_dev_t**2) ** 0.5
        return SamplerNumbers(
            **base,
            coef_xt=0.0,
            coef_x0=float(alpha_prod_t_prev**0.5),
            coef_eps=float(coef_eps),
            sigma=float(std_dev_t),
        )
    # DPM-Solver++ in log-SNR time: α = sqrt(ᾱ), σ = sqrt(1 - ᾱ), λ = log(α / σ)
    a_t, s_t = math.sqrt(float(alpha_prod_t)), math.sqrt(1.0 - float(alpha_prod_t))
    ab_prev = float(alpha_prod_t_prev)
    a_p, s_p = math.sqrt(ab_prev), math.sqrt(max(0.0, 1.0 - ab_prev))
    lam_t = math.log(a_t) - math.log(s_t)
    lam_p = math.log(a_p) - math.log(s_p) if s_p > 0 else math.inf
    h = lam_p - lam_t
    # first order (= DDIM with η = 0): x_prev = (σ_prev/σ_t) x_t - α_prev (e^{-h} - 1) x̂_0
    coef_x0 = -a_p * math.expm1(-h) if math.isfinite(h) else a_p
    coef_xt = s_p / s_t
    coef_d1, r0 = 0.0, 0.0
    if last_t is not None:
        last_t = in_range(last_t, "last_t", t + 1, T - 1)
        ab_last = float(ac[last_t])
        lam_last = 0.5 * (math.log(ab_last) - math.log(1.0 - ab_last))
        r0 = (lam_t - lam_last) / h if math.isfinite(h) else 0.0
        # midpoint 2M: - 0.5 α_prev (e^{-h} - 1) D1, D1 = (x̂_0(t) - x̂_0(last)) / r0
        coef_d1 = 0.5 * coef_x0 if r0 else 0.0
    return SamplerNumbers(
        **base,
        coef_xt=coef_xt,
        coef_x0=coef_x0,
        coef_eps=0.0,
        sigma=0.0,
        lambda_t=lam_t,
        lambda_prev=lam_p,
        h=h,
        coef_d1=coef_d1,
        r0=r0,
        last_t=last_t,
    )


def sampler_update_md(
    sampler: str,
    scheduler_config: Any,
    t: int,
    prev_t: int,
    eta: float = 0.0,
    last_t: int | None = None,
) -> Formula:
    """The current reverse step of DDPM / DDIM / DPM-Solver++ with its numbers substituted.

    t, prev_t (and last_t) are diffusers timesteps, as in ``StepRecord.t``; prev_t = -1 is the
    final step to x_0. Subscripts are shown in the UI convention (diffusers timestep k is x_{k+1}).
    """
    n = sampler_numbers(sampler, scheduler_config, t, prev_t, eta, last_t)
    a, b = n.t + 1, n.prev_t + 1  # UI subscripts
    x0hat = r"\hat x_0"
    x0hat_def = (
        rf"$\hat x_0 = (x_{{{a}}} - \sqrt{{1-\bar\alpha_{{{a}}}}}\,\hat\varepsilon)/\sqrt{{\bar\alpha_{{{a}}}}}$ "
        rf"is the network's current guess of the clean image ($\bar\alpha_{{{a}}} = {tex_number(n.alpha_bar)}$, "
        rf"$\bar\alpha_{{{b}}} = {tex_number(n.alpha_bar_prev)}$)."
    )
    where = f"diffusers timestep {n.t} → {n.prev_t if n.prev_t >= 0 else 'done'}"
    if n.prev_t != n.t - 1 and sampler != "dpmsolver":
        where += r"; with skipped steps $\alpha_t$ and $\beta_t$ are taken between the two visited steps"
    if sampler == "ddpm":
        general = (
            r"$$x_{t-1} = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1-\bar\alpha_t}\,\hat x_0"
            r" + \frac{\sqrt{\alpha_t}\,(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}\,x_t + \sigma_t z$$"
            "\n\n"
            r"$$\sigma_t^2 = \tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\,\beta_t$$"
        )
        live = rf"$$x_{{{b}}} = {tex_number(n.coef_x0)}\,{x0hat} + {tex_number(n.coef_xt)}\,x_{{{a}}}" + (
            rf" + {tex_number(n.sigma)}\,z$$" if n.sigma > 0 else "$$"
        )
        name = "**DDPM** (ancestral sampling, eq. 6–7 of Ho et al. 2020): the posterior mean with $\\hat x_0$ plugged in, plus fresh noise $z \\sim \\mathcal{N}(0, I)$."
    elif sampler == "ddim":
        general = (
            r"$$x_{t-1} = \sqrt{\bar\alpha_{t-1}}\,\hat x_0 + \sqrt{1-\bar\alpha_{t-1}-\sigma_t^2}\,\hat\varepsilon"
            r" + \sigma_t z,\quad \sigma_t = \eta\sqrt{\tilde\beta_t}$$"
        )
        live = (
            rf"$$x_{{{b}}} = {tex_number(n.coef_x0)}\,{x0hat} + {tex_number(n.coef_eps)}\,\hat\varepsilon"
            + (rf" + {tex_number(n.sigma)}\,z$$" if n.sigma > 0 else "$$")
        )
        name = rf"**DDIM** (eq. 12 of Song et al. 2021) with $\eta = {tex_number(n.eta, 3)}$: " + (
            "deterministic, the same $x_T$ always gives the same image."
            if n.sigma == 0
            else "part of the step is fresh noise $z$."
        )
    else:
        general = (
            r"$$x_{t-1} = \frac{\sigma_{t-1}}{\sigma_t}\,x_t + \alpha_{t-1}\big(1 - e^{-h}\big)\,\hat x_0$$"
            "\n\n"
            r"$$h = \lambda_{t-1} - \lambda_t,\ \lambda = \log\frac{\alpha}{\sigma},"
            r"\ \alpha = \sqrt{\bar\alpha},\ \sigma = \sqrt{1-\bar\alpha}$$"
        )
        if n.last_t is not None and n.coef_d1:
            c = n.last_t + 1
            live = (
                rf"$$x_{{{b}}} = {tex_number(n.coef_xt)}\,x_{{{a}}} + {tex_number(n.coef_x0)}\,{x0hat}"
                rf" + {tex_number(n.coef_d1)}\,D_1,\quad D_1 = \frac{{{x0hat}^{{({a})}} - {x0hat}^{{({c})}}}}"
                rf"{{r_0}},\ r_0 = {tex_number(n.r0, 3)}$$"
            )
            order = "second order: it also uses the previous step's $\\hat x_0$ (the multistep 2M correction)"
        else:
            live = rf"$$x_{{{b}}} = {tex_number(n.coef_xt)}\,x_{{{a}}} + {tex_number(n.coef_x0)}\,{x0hat}$$"
            order = "first order here (the same step as DDIM with $\\eta = 0$)"
        name = (
            rf"**DPM-Solver++** (Lu et al. 2022), {order}; step size in log-SNR "
            rf"$h = {tex_number(n.h, 3)}$."
        )
    if sampler in ("ddpm", "ddim") and _clips(scheduler_config):
        x0hat_def += r" diffusers clips it to $[-1, 1]$ before the update (`clip_sample`)."
    text = f"{name}\n\n{general}\n\nThis step ({where}):\n\n{live}\n\n{x0hat_def}"
    return Formula(text, n)


@dataclass(frozen=True)
class GuidanceNumbers:
    """The classifier-free guidance of one step (Ho & Salimans 2022, eq. 6)."""

    w: float  # the weight used at this step (1 outside the guidance interval)
    digit: str  # what the labels y are: "any", "0" … "9" or "each"
    direction_rms: float | None  # RMS of ε̂_y − ε̂_∅ over the batch (None: not computed, w ∈ {0, 1})


def guidance_md(w: float, digit: str, direction_rms: float | None = None) -> Formula:
    """The guided noise estimate of the current step with w and the guidance direction's size."""
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
    text = (
        "**Classifier-free guidance** (Ho & Salimans 2022), steering the chain towards the label y:"
        f"\n\n{general}\n\nThis step: {live}\n\n{what}"
    )
    return Formula(text, n)


def _clips(scheduler_config: Any) -> bool:
    get = (
        scheduler_config.get
        if hasattr(scheduler_config, "get")
        else lambda k, d=None: getattr(scheduler_config, k, d)
    )
    return bool(get("clip_sample", True))


# --------------------------------------------------------------------------------------


def _finite_dict(d: dict[str, Any]) -> dict[str, Any]:
    """JSON has no inf/NaN: report them as None."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


# --------------------------------------------------------------------------------------
# RePaint (the fill-in tab)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepaintNumbers:
    """One entry of RePaint's schedule: a step down (t -> prev_t) or a jump up (t -> prev_t > t)."""

    down: bool
    t: int  # diffusers timestep before the entry
    prev_t: int  # after it (-1: the final x_0)
    alpha_bar: float
    alpha_bar_prev: float
    eta: float


def repaint_md(scheduler_config: Any, t: int, prev_t: int, down: bool, eta: float = 1.0) -> Formula:
    """RePaint's update (Lugmayr et al. 2022, eq. 8-10 and Algorithm 1) with this entry's numbers.

    t and prev_t are diffusers timesteps (prev_t = -1: the last step, to x_0); a jump up has
    prev_t > t. Subscripts are shown in the UI convention (diffusers timestep k is x_{k+1})."""
    ac = _read_only_scheduler(
        "ddpm", json.dumps(dict(scheduler_config), sort_keys=True, default=str)
    ).alphas_cumprod
    ab = float(ac[t])
    ab_prev = float(ac[prev_t]) if prev_t >= 0 else 1.0
    n = RepaintNumbers(down, t, prev_t, ab, ab_prev, eta)
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
