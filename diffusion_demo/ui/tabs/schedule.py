"""Tab 2 · Schedule lab: how β_t, ᾱ_t and the signal-to-noise ratio depend on the schedule.

Everything is read from the diffusers scheduler (schedules.curves). The chart is drawn once
per schedule and only its "current t" marker is redrawn while t is dragged (plots.schedule_chart).

May import: config, diffusion, media, ui.common, ui.export_buttons and gradio.
"""

from __future__ import annotations

import math
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from ...config import FORWARD_TAB, SCHEDULE, SCHEDULE_NAMES, SCHEDULE_TAB
from ...diffusion.forward import check_t
from ...diffusion.schedules import ScheduleSpec, build_scheduler, validate_spec
from ...media import equations, plots
from .. import export_buttons
from ..common import SchedulePanel, UIContext, figure_image, guarded
from ..runtime import bounded_by_T
from .explain import explain

DEFAULT_T = FORWARD_TAB.t  # the same current t as the forward tab: the two sliders are linked
T_LIMIT_STEPS = SCHEDULE_TAB.t_limit_steps

INTRO = r"""
### The variance schedule $\beta_t$
$\beta_t$ is the variance of the noise added at step $t$; $\bar\alpha_t = \prod_{s \le t}(1-\beta_s)$
is how much of the image's *signal power* survives $t$ steps, so
$x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon$. The steps are kept small so
that each one is easy to undo, and there are many of them — the blog's "T is generally in the
order of 1000". Four schedules, built by diffusers:
**linear** ($\beta_t$ evenly spaced from $\beta_{start}$ to $\beta_{end}$, Ho et al. 2020),
**scaled_linear** (evenly spaced in $\sqrt{\beta}$, used by latent diffusion),
**cosine** (defined through $\bar\alpha_t$ itself, Nichol & Dhariwal 2021; it ignores
$\beta_{start}, \beta_{end}$) and **sigmoid** ($\beta_t$ follows an S-curve between the two).

What must hold for any schedule: at $t = T$ the image must be gone, $\bar\alpha_T \approx 0$, so
that $x_T \approx \mathcal{N}(0, I)$ — the reverse chain starts from pure noise, and it can only
undo what the forward chain really did. With $T \to \infty$ (and $\beta$ bounded away from 0),
$\bar\alpha_T \to 0$ and $x_T$ is exactly $\mathcal{N}(0, I)$.
"""


def alpha_bar_T_report(spec: ScheduleSpec) -> tuple[float, str | None]:
    """ᾱ_T and, when it is far from 0 (config.SCHEDULE.warn_alpha_bar_T), a warning to show."""
    alpha_bar_T = float(plots.cached_curves(spec).alpha_bar[-1])
    if alpha_bar_T <= SCHEDULE.warn_alpha_bar_T:
        return alpha_bar_T, None
    keep = math.sqrt(alpha_bar_T)
    warning = (
        f"ᾱ_T = {alpha_bar_T:.4g} is far from 0: x_T = {keep:.3f}·x₀ + {math.sqrt(1 - alpha_bar_T):.3f}·ε "
        f"still carries {100 * keep:.1f}% of the image's amplitude, so x_T is NOT close to N(0, I). "
        "A sampler that starts from pure noise would start from the wrong distribution. "
        "Use more steps T, a larger β_end, or the cosine schedule: as T → ∞, ᾱ_T → 0 and x_T → N(0, I)."
    )
    return alpha_bar_T, warning


def schedule_data(
    schedule: str = "linear",
    beta_start: float = SCHEDULE.default_beta_start,
    beta_end: float = SCHEDULE.default_beta_end,
    T: int = SCHEDULE.default_T,
    t: int | None = None,
) -> dict:
    """/schedule: the schedule's curves (index i is step t = i + 1), ᾱ_T and its warning.

    With t (0 … T) the coefficients of q(x_t | x_0) at that step are included as "at_t".
    """
    spec = validate_spec(schedule, beta_start, beta_end, T)
    c = plots.cached_curves(spec)
    alpha_bar_T, warning = alpha_bar_T_report(spec)
    out: dict[str, Any] = {
        "schedule": spec.name,
        "beta_start": spec.beta_start,
        "beta_end": spec.beta_end,
        "T": spec.T,
        "t": list(range(1, spec.T + 1)),
        "beta": _json_list(c.beta),
        "alpha_bar": _json_list(c.alpha_bar),
        "sqrt_alpha_bar": _json_list(c.sqrt_alpha_bar),
        "sqrt_one_minus_alpha_bar": _json_list(c.sqrt_one_minus_alpha_bar),
        "log_snr": _json_list(c.log_snr),
        "alpha_bar_T": alpha_bar_T,
        "warn_alpha_bar_T": SCHEDULE.warn_alpha_bar_T,
        "x_T_is_noise": warning is None,
        "warning": warning,
    }
    if t is not None:
        out["at_t"] = equations.forward_numbers(spec, check_t(t, spec.T)).as_dict()
    return out


def _json_list(a: np.ndarray) -> list[float | None]:
    """JSON has no inf/NaN (log-SNR can reach them): report those as null."""
    return [float(v) if math.isfinite(v) else None for v in a.tolist()]


def status_md(spec: ScheduleSpec) -> str:
    alpha_bar_T, warning = alpha_bar_T_report(spec)
    if warning:
        return f"⚠ **x_T is not pure noise.** {warning}"
    return (
        f"✓ ᾱ_T = {alpha_bar_T:.3g}: only {100 * math.sqrt(alpha_bar_T):.2g}% of the image's amplitude is "
        f"left at t = T = {spec.T}, so x_T is practically N(0, I) — the reverse chain can start from noise."
    )


def t_limit_md(spec: ScheduleSpec) -> str:
    """ᾱ_T for growing T with the same β range: the blog's T → ∞ limit, in numbers."""
    steps = sorted({*T_LIMIT_STEPS, spec.T})
    rows = []
    for T in steps:
        ab = float(
            build_scheduler(ScheduleSpec(spec.name, spec.beta_start, spec.beta_end, T)).alphas_cumprod[-1]
        )
        mark = " ← current" if T == spec.T else ""
        rows.append(f"| {T}{mark} | {ab:.3g} | {100 * math.sqrt(ab):.3g}% |")
    extra = (
        " The cosine schedule is defined through ᾱ_t and always ends near 0, whatever T."
        if spec.name == "cosine"
        else " With the same β range, more steps multiply more factors (1 − β_t) < 1 together, so ᾱ_T → 0."
    )
    return (
        f"#### T → ∞ gives N(0, I)\nThe same **{spec.name}** schedule and β range with more or fewer steps.{extra}\n\n"
        "| T | ᾱ_T | image amplitude left in x_T (√ᾱ_T) |\n|---|---|---|\n" + "\n".join(rows)
    )


def readout(spec: ScheduleSpec, t: int) -> tuple[str, str]:
    """The forward formula at t and the posterior q(x_{t-1} | x_t, x_0) (t ≥ 1)."""
    fwd = str(equations.forward_md(spec, t))
    if t == 0:
        post = "At $t = 0$ there is no step to undo: move $t$ to see $q(x_{t-1} \\mid x_t, x_0)$."
    else:
        post = str(equations.posterior_md(spec, t))
    return fwd, post


def view_all(
    schedule: str, beta_start: float, beta_end: float, T: float, compare: list[str] | None, t: float
) -> tuple:
    """Everything that depends on the schedule; bad input is shown in the status box."""
    try:
        spec = validate_spec(schedule, beta_start, beta_end, T)
    except ValueError as exc:
        return (gr.skip(), f"✕ {exc}", gr.skip(), gr.skip(), gr.skip(), gr.skip())
    t_now = _clamp_t(t, spec.T)
    slider = gr.update(maximum=spec.T, value=t_now) if t_now != t else gr.update(maximum=spec.T)
    fwd, post = readout(spec, t_now)
    chart = plots.schedule_chart(spec, compare or [], t_now)
    return chart, status_md(spec), fwd, post, t_limit_md(spec), slider


def view_t(
    schedule: str, beta_start: float, beta_end: float, T: float, compare: list[str] | None, t: float
) -> tuple[Image.Image, str, str]:
    """While t is dragged: only the marker and the formulas."""
    spec = validate_spec(schedule, beta_start, beta_end, T)
    t = check_t(t, spec.T)
    fwd, post = readout(spec, t)
    return plots.schedule_chart(spec, compare or [], t), fwd, post


def _clamp_t(t: Any, T: int) -> int:
    try:
        value = int(round(float(t)))
    except (TypeError, ValueError):
        return min(DEFAULT_T, T)
    return min(max(value, 0), T)


def build(ctx: UIContext) -> None:
    """The schedule lab (called inside its gr.Tab)."""
    compare, t, views = _layout(ctx.schedule)
    with explain("schedule"):
        gr.Markdown(INTRO, latex_delimiters=equations.LATEX_DELIMITERS, elem_id="schedule-intro")
        gr.Markdown(
            "Change the schedule, β_start, β_end and T in the **Variance schedule** panel at the top "
            "(shared by every tab).",
            elem_id="schedule-hint",
        )
    _wire(ctx, compare, t, views)
    gr.api(
        guarded(schedule_data),
        api_name="schedule",
        api_description=(
            f"The variance schedule as JSON. schedule: one of {', '.join(SCHEDULE_NAMES)}; "
            "0 < beta_start < beta_end < 0.999; 1 <= T <= 4000. Arrays beta, alpha_bar, sqrt_alpha_bar, "
            "sqrt_one_minus_alpha_bar, log_snr are indexed by step t = 1 … T; alpha_bar_T and a warning "
            "when x_T is not close to N(0, I). Optional t (0 … T) adds the coefficients at that step."
        ),
    )


def _layout(panel: SchedulePanel) -> tuple[gr.Dropdown, gr.Slider, list[gr.components.Component]]:
    """Compare and t, then the chart, its downloads, the formulas and the T → ∞ table.

    Returns compare, t and the views [chart, status, forward formula, posterior, T-limit table].
    """
    spec0 = ScheduleSpec()
    with gr.Row():
        compare = gr.Dropdown(
            list(SCHEDULE_NAMES),
            value=[],
            multiselect=True,
            label="Compare schedules (drawn thinner, same β range and T)",
            elem_id="schedule-compare",
            scale=2,
        )
        t = gr.Slider(
            0,
            SCHEDULE.default_T,
            value=DEFAULT_T,
            step=1,
            label="Current t (the same t as in the forward tab)",
            elem_id="schedule-t",
            scale=3,
        )
    bounded_by_T(t)  # its maximum is the panel's T: checked by the handlers
    chart = figure_image(
        "β_t, ᾱ_t and log-SNR against t",
        "schedule-chart",
        plots.schedule_chart(spec0, [], DEFAULT_T),
        show_label=False,
        height=340,
    )
    status = gr.Markdown(status_md(spec0), elem_id="schedule-status")
    export_buttons.schedule_row([*panel.inputs, compare, t])
    fwd0, post0 = readout(spec0, DEFAULT_T)
    with gr.Row(equal_height=False):
        fwd = gr.Markdown(
            fwd0,
            latex_delimiters=equations.LATEX_DELIMITERS,
            elem_id="schedule-forward",
            elem_classes=["formula"],
        )
        post = gr.Markdown(
            post0,
            latex_delimiters=equations.LATEX_DELIMITERS,
            elem_id="schedule-posterior",
            elem_classes=["formula"],
        )
    limit = gr.Markdown(t_limit_md(spec0), elem_id="schedule-T-limit")
    return compare, t, [chart, status, fwd, post, limit]


def _wire(ctx: UIContext, compare: gr.Dropdown, t: gr.Slider, views: list[gr.components.Component]) -> None:
    """Schedule or compare changed: every view; t dragged: the marker and the formulas."""
    panel = ctx.schedule
    chart, _, fwd, post, _ = views
    inputs = [*panel.inputs, compare, t]
    gr.on(
        [*(c.change for c in panel.inputs), compare.change],
        guarded(view_all),
        inputs,
        [*views, t],
        api_name="schedule_view",
        api_visibility="private",
        trigger_mode="always_last",
        show_progress="hidden",
    )
    t.change(
        guarded(_quiet_view_t),
        inputs,
        [chart, fwd, post],
        api_name="schedule_marker",
        api_visibility="private",
        trigger_mode="always_last",
        show_progress="hidden",
        queue=False,  # a blit of a few ms: skip the queue's round trips while dragging
    )
    # One "current t" for both tabs: synced in the browser, no server round trip.
    forward_t = ctx.links.get("t")
    ctx.t_followers.append(t)  # a deep link's T raises its maximum before forward_t's value arrives
    if forward_t is not None:
        forward_t.change(None, forward_t, t, js="(v) => v", api_visibility="private", queue=False)
        t.input(None, t, forward_t, js="(v) => v", api_visibility="private", queue=False)


def _quiet_view_t(*args: Any) -> tuple:
    try:
        return view_t(*args)
    except ValueError:  # the status box (view_all) already says what is wrong
        return gr.skip(), gr.skip(), gr.skip()
