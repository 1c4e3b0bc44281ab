"""DPM-Solver++(2M): Lu et al. 2022b, multistep in log-SNR time (DPMSolverMultistepScheduler)."""

from __future__ import annotations

import math

from diffusers import DPMSolverMultistepScheduler

from .base import Sampler, SamplerNumbers, Step, alpha_bar_of, base_fields, sigmas, subscripts, tex_number


def dpm_numbers(sampler: str, scheduler, step: Step, second_order: bool) -> SamplerNumbers:
    """x_prev = (s_prev / s_t) x_t - α_prev (e^{-h} - 1) x̂_0 (eq. 8 of Lu et al. 2022b, first
    order), plus the 2M midpoint correction with D1 when `second_order`. α = 1 / sqrt(σ² + 1),
    s = σ α and λ = log(α / s) = -log σ, σ read from the scheduler (Karras spacing included)."""
    sig_t, sig_p = sigmas(scheduler, step)
    ab_t, ab_p = alpha_bar_of(sig_t), alpha_bar_of(sig_p)
    a_p, s_t, s_p = math.sqrt(ab_p), sig_t * math.sqrt(ab_t), sig_p * math.sqrt(ab_p)
    lam_t = -math.log(sig_t)
    lam_p = -math.log(sig_p) if sig_p > 0 else math.inf
    h = lam_p - lam_t
    coef_x0 = -a_p * math.expm1(-h) if math.isfinite(h) else a_p
    coef_d1, r0, last_t = 0.0, 0.0, None
    if second_order and math.isfinite(h):
        lam_last = -math.log(float(scheduler.sigmas[step.index - 1]))
        r0 = (lam_t - lam_last) / h
        coef_d1 = 0.5 * coef_x0  # midpoint 2M: - 0.5 α_prev (e^{-h} - 1) D1
        last_t = step.last_t
    return SamplerNumbers(
        **base_fields(sampler, step, ab_t, ab_p),
        coef_xt=s_p / s_t,
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


def uses_second_order(step: Step) -> bool:
    """diffusers' rule (DPMSolverMultistepScheduler.step): 2M once one earlier x̂_0 is kept, but
    the final step is first order (final_sigmas_type "zero", or lower_order_final under 15 steps)."""
    return step.history >= 1 and not step.final


def dpm_general() -> str:
    return (
        r"$$x_{t-1} = \frac{\sigma_{t-1}}{\sigma_t}\,x_t + \alpha_{t-1}\big(1 - e^{-h}\big)\,\hat x_0"
        r" \;\big[+\ \tfrac12\,\alpha_{t-1}\big(1 - e^{-h}\big) D_1\big]$$"
        "\n\n"
        r"$$h = \lambda_{t-1} - \lambda_t,\ \lambda = \log\frac{\alpha}{\sigma},"
        r"\ \alpha = \sqrt{\bar\alpha},\ \sigma = \sqrt{1-\bar\alpha}$$"
    )


def dpm_live(n: SamplerNumbers) -> tuple[str, str]:
    """The live update and which order it was."""
    a, b = subscripts(n)
    if n.last_t is not None and n.coef_d1:
        c = n.last_t + 1
        live = (
            rf"$$x_{{{b}}} = {tex_number(n.coef_xt)}\,x_{{{a}}} + {tex_number(n.coef_x0)}\,\hat x_0"
            rf" + {tex_number(n.coef_d1)}\,D_1,\quad D_1 = \frac{{\hat x_0^{{({a})}} - \hat x_0^{{({c})}}}}"
            rf"{{r_0}},\ r_0 = {tex_number(n.r0, 3)}$$"
        )
        return (
            live,
            "second order: it also uses the previous step's $\\hat x_0$ (the multistep 2M correction)",
        )
    live = rf"$$x_{{{b}}} = {tex_number(n.coef_xt)}\,x_{{{a}}} + {tex_number(n.coef_x0)}\,\hat x_0$$"
    return live, "first order here (the same step as DDIM with $\\eta = 0$)"


def numbers(scheduler, step: Step) -> SamplerNumbers:
    return dpm_numbers(SAMPLER.id, scheduler, step, uses_second_order(step))


def equation(n: SamplerNumbers) -> tuple[str, str, str]:
    live, order = dpm_live(n)
    name = rf"**DPM-Solver++** (Lu et al. 2022), {order}; step size in log-SNR $h = {tex_number(n.h, 3)}$."
    return name, dpm_general(), live


SAMPLER = Sampler(
    id="dpmsolver",
    label="DPM-Solver++ 2M",
    sd_name="DPM++ 2M",
    scheduler=DPMSolverMultistepScheduler,
    settings={"algorithm_type": "dpmsolver++", "solver_order": 2},
    stochastic=False,
    order=2,
    evals_per_step=1,
    uses_eta=False,
    sigma_space=False,
    default_steps=20,
    colour="#55A868",
    explain=(
        "Solves the chain's ODE in log-SNR time, where its linear part is exact, and re-uses the "
        "previous step's guess of x_0 for a second-order correction (multistep, one network call "
        "a step). Twenty steps get close to what DDIM needs fifty for."
    ),
    numbers=numbers,
    equation=equation,
)
