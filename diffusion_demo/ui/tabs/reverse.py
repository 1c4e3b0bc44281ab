"""Tab 3: the learned reverse chain, streamed live from x_T ~ N(0, I) to digits.

Owns the tab's named handlers (run, stop, replay, compare, chart) and their wiring; the
widgets are reverse_layout, the texts texts.py, the chain itself diffusion.sampling.
May import config, diffusion, media, models and the ui helpers.
"""

from __future__ import annotations

import json
import threading
import time

import gradio as gr

from ...config import GUIDANCE
from ...diffusion import samplers
from ...diffusion.sampling import (
    ReverseRequest,
    StepRecord,
    is_conditional,
    reverse_chain,
    validate_request,
)
from ...media import plots_quality, plots_sigma
from ...media.chains import show, tensor_frame
from ...media.equations import samplers_md
from ...models import unet
from .. import export_buttons as downloads
from ..common import CHAINS, UIContext, bind, follow, guarded, quiet
from ..frames import Replay, Throttle, sharers, stream
from ..sharing import wait_turn
from .decision import reverse_decision
from .explain import explain
from .reverse_layout import IDLE, Controls, Outputs, controls, noise_frame, outputs
from .texts import REVERSE_EXPLAIN as EXPLAIN
from .texts import REVERSE_MODEL_NOTE as MODEL_NOTE
from .texts import UNCONDITIONAL_NOTE


def status_line(record: StepRecord, request: ReverseRequest, elapsed: float) -> str:
    """The sampler, the step, the timestep the network saw, a progress bar and the time."""
    done = record.index + 1
    bar = "█" * round(20 * done / record.num_steps) + "░" * (20 - round(20 * done / record.num_steps))
    sampler = samplers.get(request.sampler)
    counted = f"step {done}/{record.num_steps}"
    if sampler.evals_per_step > 1:  # Heun: a record per network call, two a step
        which = "corrector" if record.stage == 2 else "predictor" if done < record.num_steps else "last step"
        counted = f"network call {done}/{record.num_steps} ({which})"
    return (
        f"**{sampler.label}** · {counted} · "
        f"network evaluated at t = {record.t + 1} · `{bar}` {100 * done / record.num_steps:.0f}% · "
        f"{elapsed:.2f} s"
    )


# How a run's status line ends once it is over (after_stop reads them back).
DONE, STOPPED = "done:", "stopped:"
# The status from the click until its first frame (IDLE, reverse_layout, is the one before):
# written in the browser at once, since a run may wait in the queue behind another's (one
# heavy job at a time).
WAITING = "Waiting for the model… (everyone's runs share it; yours starts within a step, or says how many are ahead)"

# The running chain of each browser session. Stop sets its flag, which the chain checks after
# every step; Gradio's own cancel takes effect only at the generator's next yield (the next
# frame, which the throttle may space by a few tenths of a second).
_running: dict[object, threading.Event] = {}


def replay_slider(last: int) -> gr.Slider:
    """The scrubber over stored steps 0 … last."""
    # max(last, 1): a 1-step run would make Slider(0, 0), which Gradio refuses
    return gr.Slider(
        0, max(last, 1), value=last, step=1, interactive=last > 0, label=f"Replay a step ({last + 1} stored)"
    )


def run(
    ctx: UIContext,
    sampler: str,
    steps: float,
    num_samples: float,
    seed: float,
    eta: float,
    digit: str = "any",
    guidance: float = GUIDANCE.default_w,
    session: gr.Request = None,
):
    """Run the reverse chain and stream x_t, x̂_0, ε̂ and the guidance direction (~20 frames/s)."""
    request = validate_request(sampler, steps, num_samples, seed, eta, digit=digit, guidance=guidance)
    denoiser = ctx.require_model()
    store = Replay(request.steps)
    key = getattr(session, "session_hash", None) or object()  # an API call may have none
    stopped = _running[key] = threading.Event()
    try:
        for note in wait_turn(denoiser, grid_rows(denoiser, request)):  # a full machine: its place in line
            yield (gr.skip(),) * 3 + (note,) + (gr.skip(),) * 4
        yield from _frames(request, denoiser, store, stopped)
    finally:
        _running.pop(key, None)


def noise_preview(ctx: UIContext, num_samples: float, seed: float, frames: list[dict] | None):
    """x_t shows x_T of the seed (noise_frame) until the session's first run, then that run's."""
    if frames:
        return gr.skip()
    request = validate_request(samplers.DEFAULT_SAMPLER, 1, num_samples, seed)
    return noise_frame(ctx, request.num_samples, request.seed)


def grid_rows(denoiser, request: ReverseRequest) -> int:
    """Rows per network call: the grid, twice when guidance needs ε̂_y and ε̂_∅ ([x, x])."""
    two = is_conditional(denoiser) and request.guidance not in (0.0, 1.0)
    return request.num_samples * (2 if two else 1)


def _frames(request: ReverseRequest, denoiser, store: Replay, stopped: threading.Event):
    for n, frame in enumerate(stream(denoiser, request, store, stop=stopped.is_set)):
        record = frame.record
        yield (
            frame.x_t,
            frame.x0,
            frame.eps,
            status_line(record, request, frame.elapsed),
            frame.formula,
            gr.skip(),
            # the replay list is handed over with the first frame and filled as the run
            # goes, so that a stopped run can be replayed too (see after_stop)
            store.frames if n == 0 else gr.skip(),
            frame.direction,
        )
    if stopped.is_set():  # Stop: after_stop writes the status and enables the replay
        return
    last = len(store.frames) - 1
    final = store.frames[-1]  # the last step is always stored: the API's final result has the images
    yield (
        show(final["x_t"]),
        show(final["x0"]),
        show(final["eps"]),
        status_line(record, request, frame.elapsed)
        + f" · {DONE} drag the replay slider to revisit any step.",
        gr.skip(),
        replay_slider(last),
        store.frames,
        show(final["dir"]) if "dir" in final else None,
    )


def stop_run(session: gr.Request) -> None:
    """Stop: the session's chain ends after its current step."""
    if (stopped := _running.get(getattr(session, "session_hash", None))) is not None:
        stopped.set()


def after_stop(frames: list[dict] | None, status_text: str | None):
    """After Stop: the steps stored so far become replayable, and the status says so."""
    text = status_text or ""
    if text == WAITING:  # stopped while still in the queue: nothing ran
        return gr.skip(), IDLE
    if not frames or DONE in text or STOPPED in text:  # finished, or Stop pressed twice
        return gr.skip(), gr.skip()
    last = len(frames) - 1
    return replay_slider(
        last
    ), f"{text} · {STOPPED} drag the replay slider to revisit the {last + 1} stored steps."


def replay_step(index: float, frames: list[dict] | None):
    """Show a stored step of the last run again, without recomputing."""
    if not frames:
        raise ValueError("Nothing to replay yet: press Generate first.")
    i = int(min(max(0, int(index)), len(frames) - 1))
    f = frames[i]
    return (
        show(f["x_t"]),
        show(f["x0"]),
        show(f["eps"]),
        f"Replaying step {f['index'] + 1}, t = {f['t'] + 1}"
        + (" (Heun's corrector)" if f.get("stage") == 2 else ""),
        show(f["dir"]) if "dir" in f else None,
    )


def compare_runs(denoiser, requests: list[ReverseRequest], names: list[str]):
    """The same x_T through each request in turn: one grid each, streamed as they finish."""
    outs: list = [gr.skip()] * len(requests)
    unchanged = [gr.skip()] * len(requests)
    lines = []
    for k, (request, name) in enumerate(zip(requests, names, strict=True)):
        start, throttle = time.perf_counter(), Throttle(fps=4, sharing=sharers(denoiser))
        for record in reverse_chain(denoiser, request):
            if throttle(record):  # a yield per few steps lets Stop end the run promptly
                begun = time.perf_counter()
                yield (*unchanged, f"{name}: step {record.index + 1}/{record.num_steps}")
                throttle.spent(time.perf_counter() - begun)
        outs[k] = tensor_frame(record.prev_sample.clamp(-1, 1))
        lines.append(f"{name}: {time.perf_counter() - start:.2f} s")
        yield (*outs, "Same x_T, " + f"{request.steps} steps · " + " · ".join(lines))


def compare_samplers(
    ctx: UIContext,
    steps: float,
    num_samples: float,
    seed: float,
    eta: float,
    digit: str = "any",
    guidance: float = GUIDANCE.default_w,
):
    """The same x_T through every sampler: one grid each, in turn."""
    chosen = list(samplers.SAMPLERS.values())
    requests = [  # η is DDIM's: the others run at η = 0 rather than refuse
        validate_request(
            s.id, steps, num_samples, seed, eta if s.uses_eta else 0.0, digit=digit, guidance=guidance
        )
        for s in chosen
    ]
    yield from compare_runs(ctx.require_model(), requests, [s.label for s in chosen])


def compare_guidance(
    ctx: UIContext,
    sampler: str,
    steps: float,
    num_samples: float,
    seed: float,
    eta: float,
    digit: str = "any",
):
    """The same x_T (and labels) at several guidance weights: fidelity traded for diversity."""
    denoiser = ctx.require_model()
    if not is_conditional(denoiser):
        raise ValueError(UNCONDITIONAL_NOTE.replace("**", ""))
    requests = [
        validate_request(sampler, steps, num_samples, seed, eta, digit=digit, guidance=w)
        for w in GUIDANCE.compare_ws
    ]
    yield from compare_runs(denoiser, requests, [f"w = {w:g}" for w in GUIDANCE.compare_ws])


def quality_chart(sampler: str, steps: float, guidance: float):
    """The steps-vs-quality chart with this run's settings marked."""
    return plots_quality.quality_chart(plots_quality.load_quality(), sampler, int(steps), float(guidance))


def undo_wait(status_text: str | None):
    """A run refused (a bad value through the UI) never writes its status: undo the wait."""
    return IDLE if status_text == WAITING else gr.skip()


def _wire_runs(ctx: UIContext, c: Controls, o: Outputs, replay: gr.State) -> list:
    """Generate and the two comparisons; returns their events (for Stop to cancel)."""
    if ctx.denoiser is not None:  # (else the status explains the broken checkpoint: keep it)
        # The browser runs one click's listeners in turn, each to its end: this one must come
        # before the run's, or the note would appear only once the run is over.
        c.generate.click(
            None, None, o.status, js=f"() => {json.dumps(WAITING)}", api_visibility="private", queue=False
        )
    gen_event = c.generate.click(
        unet.gpu(guarded(bind(run, ctx))),
        [c.sampler, c.steps, c.num_samples, c.seed, c.eta, c.digit, c.guidance],
        [o.x_t, o.x0, o.eps, o.status, o.formula, o.scrub, replay, o.direction],
        api_name="reverse",
        **CHAINS,
        # our status line shows the progress; Gradio's overlay would flash "Error" on Stop
        show_progress="hidden",
    )
    if ctx.denoiser is not None:
        gen_event.failure(undo_wait, o.status, o.status, api_visibility="private", show_progress="hidden")
    gen_event.success(
        guarded(reverse_decision),
        [replay, o.decision_sample, o.scrub],
        list(o.decision),
        api_name="reverse_decision",
        show_progress="hidden",
    )
    cmp_event = c.compare.click(
        unet.gpu(guarded(bind(compare_samplers, ctx))),
        [c.steps, c.num_samples, c.seed, c.eta, c.digit, c.guidance],
        [*o.cmp_imgs, o.status],
        api_name="compare",
        **CHAINS,
        show_progress="minimal",
    )
    cmp_w_event = c.compare_w.click(
        unet.gpu(guarded(bind(compare_guidance, ctx))),
        [c.sampler, c.steps, c.num_samples, c.seed, c.eta, c.digit],
        [*o.w_imgs, o.status],
        api_name="compare_guidance",
        **CHAINS,
        show_progress="minimal",
    )
    return [gen_event, cmp_event, cmp_w_event]


def steps_chart(ctx: UIContext, sampler: str, steps: float):
    """Where the run's network calls fall on both axes, t and σ, and the spacing beside uniform
    and Karras: the bridge between DDPM's t and the σ of Karras-style samplers."""
    request = validate_request(sampler, steps, 1, 0)
    return plots_sigma.steps_chart(ctx.require_model().scheduler_config, request.sampler, request.steps)


def eta_for(sampler: str) -> gr.Slider:
    """η is DDIM's: the slider is live for a sampler that uses it, and at 0 and greyed otherwise
    (an API call with η > 0 for another sampler is refused with a message instead)."""
    if samplers.get(sampler).uses_eta:
        return gr.Slider(interactive=True)
    return gr.Slider(value=0.0, interactive=False)


def _wire_chart(ctx: UIContext, c: Controls, o: Outputs) -> None:
    """The quality and σ charts follow the sampler at once, steps and w on release."""
    inputs = [c.sampler, c.steps, c.guidance]
    c.sampler.change(guarded(eta_for), c.sampler, c.eta, api_visibility="private", show_progress="hidden")
    c.sampler.change(
        guarded(quality_chart), inputs, o.chart, api_name="quality_chart", show_progress="hidden"
    )
    if ctx.denoiser is not None:  # the σ chart reads the model's schedule
        chart = guarded(bind(steps_chart, ctx))
        c.sampler.change(
            chart, [c.sampler, c.steps], o.sigma_chart, api_name="steps_chart", show_progress="hidden"
        )
        c.steps.release(
            chart, [c.sampler, c.steps], o.sigma_chart, api_visibility="private", trigger_mode="always_last",
            show_progress="hidden",
        )  # fmt: skip
    for control in (c.steps, c.guidance):  # on release: a drag would redraw the chart at every notch
        control.release(
            guarded(quality_chart),
            inputs,
            o.chart,
            api_visibility="private",
            trigger_mode="always_last",
            show_progress="hidden",
        )


def _wire_replay(c: Controls, o: Outputs, replay: gr.State, events: list) -> None:
    """Stop (then the stored steps become replayable), the replay scrubber and the strip's
    sample (the strip follows both, quietly: a sample past the grid leaves it as it is)."""
    strip = {
        "fn": quiet(reverse_decision, 2),
        "inputs": [replay, o.decision_sample, o.scrub],
        "outputs": list(o.decision),
        "api_visibility": "private",
        "show_progress": "hidden",
    }
    c.stop.click(stop_run, None, None, cancels=events, api_visibility="private").then(
        after_stop, [replay, o.status], [o.scrub, o.status], api_visibility="private", show_progress="hidden"
    ).then(**strip)
    shown = [o.x_t, o.x0, o.eps, o.status, o.direction]
    o.scrub.release(
        guarded(replay_step),
        [o.scrub, replay],
        shown,
        api_name="replay",
        trigger_mode="always_last",
        show_progress="hidden",
    ).then(**strip)
    o.decision_sample.change(trigger_mode="always_last", **strip)
    o.scrub.input(
        guarded(replay_step),
        [o.scrub, replay],
        shown,
        api_visibility="private",
        trigger_mode="always_last",
        show_progress="hidden",
    )


def build(ctx: UIContext) -> None:
    """Lay out the tab, register its deep links and wire its handlers."""
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            c = controls(ctx)
        with gr.Column(scale=3):
            o = outputs(ctx)
    with explain("reverse"):
        gr.Markdown(EXPLAIN.replace("{samplers}", samplers_md()))
        gr.Markdown(MODEL_NOTE)
    replay = gr.State(None, time_to_live=900)
    downloads.wire_reverse(o.download_row, replay)
    inputs = [c.num_samples, c.seed]
    follow([c.change for c in inputs], bind(noise_preview, ctx), [*inputs, replay], [o.x_t])  # no network
    ctx.links.update(
        {
            "sampler": c.sampler,
            "steps": c.steps,
            "reverse_seed": c.seed,
            "samples": c.num_samples,
            "eta": c.eta,
            "digit": c.digit,
            "guidance": c.guidance,
        }
    )
    events = _wire_runs(ctx, c, o, replay)
    _wire_chart(ctx, c, o)
    _wire_replay(c, o, replay, events)
