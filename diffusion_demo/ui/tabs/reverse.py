"""Tab 3: the learned reverse chain, streamed live from x_T ~ N(0, I) to digits."""

from __future__ import annotations

import json
import threading
import time

import gradio as gr

from ...config import DIGIT_CHOICES, GUIDANCE, REVERSE, SAMPLER_NAMES
from ...diffusion.sampling import (
    SAMPLER_LABELS,
    ReverseRequest,
    StepRecord,
    is_conditional,
    reverse_chain,
    validate_request,
)
from ...media import plots_quality
from ...media.equations import LATEX_DELIMITERS
from ...models import unet
from .. import downloads
from ..common import HEAVY, UIContext, bind, figure_image, frame_image, guarded, guidance_controls
from ..frames import Replay, Throttle, show, stream, tensor_frame

EXPLAIN = """
### The reverse chain: order from chaos
Start from pure noise **x_T ~ N(0, I)** and apply a learned step again and again. At each
step the network looks at x_t and predicts the noise ε̂ in it; from ε̂ follows a guess of
the clean image **x̂_0**, and the sampler takes one small step towards it, giving x_{t-1}.
Like the forward chain, this is a Markov chain: each step sees only the current sample.

Only this direction is learned — the forward chain is fixed. Samplers differ in the step
they take: **DDPM** adds fresh noise at every step (ancestral), **DDIM** with η = 0 is
deterministic and needs far fewer steps, **DPM-Solver++** is a 2nd-order ODE solver.

**Steering the chain.** The network also takes a label y — the digit to draw, the way a
text-to-image model takes a prompt — or the null label ∅ for "anything". **Guidance w**
mixes the two predictions, ε̂ = ε̂_∅ + w (ε̂_y − ε̂_∅) (classifier-free guidance, Ho &
Salimans 2022): w = 0 is the unconditional model, w = 1 the conditional one, and w > 1
pushes further along ε̂_y − ε̂_∅. Large image models need w of 3–8; this small one is
best at w = 1 and overshoots quickly above it (try **Same seed, several w**).
"""

MODEL_NOTE = (
    "The network is a small UNet trained here on 4,500 MNIST digits (28×28) and their labels, "
    "with the linear schedule β: 1e-4 → 0.02, T = 1000 (Ho et al. 2020). The schedule panel "
    "above does not change this tab: the model only knows the schedule it was trained with."
)
# Where the checkpoint has no class embeddings (an older one through DIFFUSION_DEMO_CHECKPOINT).
UNCONDITIONAL_NOTE = (
    "This checkpoint is unconditional (trained without labels), so **Digit** and **Guidance** "
    "are disabled: every run samples the unconditional model."
)


def status_line(record: StepRecord, request: ReverseRequest, elapsed: float) -> str:
    done = record.index + 1
    bar = "█" * round(20 * done / record.num_steps) + "░" * (20 - round(20 * done / record.num_steps))
    return (
        f"**{SAMPLER_LABELS[request.sampler]}** · step {done}/{record.num_steps} · "
        f"network evaluated at t = {record.t + 1} · `{bar}` {100 * done / record.num_steps:.0f}% · "
        f"{elapsed:.2f} s"
    )


# How a run's status line ends once it is over (after_stop reads them back).
DONE, STOPPED = "done:", "stopped:"
# The status before a run, and from the click until its first frame: written in the browser
# at once, since a run may wait in the queue behind another's (one heavy job at a time).
IDLE = "Press **Generate**."
WAITING = "Waiting for the model… (another run may be ahead of yours; it starts as soon as that one ends)"

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


def require_model(ctx: UIContext) -> unet.Denoiser:
    """The loaded model, or the checkpoint's error for the user."""
    if ctx.denoiser is None:
        raise unet.CheckpointError(ctx.checkpoint_error or "No model loaded.")
    return ctx.denoiser


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
    denoiser = require_model(ctx)
    store = Replay(request.steps)
    key = getattr(session, "session_hash", None) or object()  # an API call may have none
    stopped = _running[key] = threading.Event()
    try:
        yield from _frames(request, denoiser, store, stopped)
    finally:
        _running.pop(key, None)


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
        f"Replaying step {f['index'] + 1}, t = {f['t'] + 1}",
        show(f["dir"]) if "dir" in f else None,
    )


def compare_runs(denoiser, requests: list[ReverseRequest], names: list[str]):
    """The same x_T through each request in turn: one grid each, streamed as they finish."""
    outs: list = [gr.skip()] * len(requests)
    unchanged = [gr.skip()] * len(requests)
    lines = []
    for k, (request, name) in enumerate(zip(requests, names, strict=True)):
        start, throttle = time.perf_counter(), Throttle(fps=4)
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
    requests = [
        validate_request(name, steps, num_samples, seed, eta, digit=digit, guidance=guidance)
        for name in SAMPLER_NAMES
    ]
    yield from compare_runs(require_model(ctx), requests, list(SAMPLER_NAMES))


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
    denoiser = require_model(ctx)
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


def build(ctx: UIContext) -> None:
    gr.Markdown(EXPLAIN)
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            sampler = gr.Radio(list(SAMPLER_NAMES), value="ddim", label="Sampler", elem_id="reverse-sampler")
            steps = gr.Slider(
                1,
                REVERSE.max_steps,
                value=REVERSE.default_steps,
                step=1,
                label="Steps",
                elem_id="reverse-steps",
            )
            num_samples = gr.Slider(
                1,
                REVERSE.max_samples,
                value=REVERSE.default_samples,
                step=1,
                label="Samples",
                elem_id="reverse-samples",
            )
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, elem_id="reverse-seed")
            eta = gr.Slider(
                0.0, 1.0, value=0.0, step=0.05, label="DDIM η (0 = deterministic)", elem_id="reverse-eta"
            )
            conditional = ctx.denoiser is not None and is_conditional(ctx.denoiser)
            digit, guidance = guidance_controls(
                DIGIT_CHOICES,
                "Digit (any: a label per sample from the seed; each: 0 … 9)",
                "Guidance w (0 = unconditional, 1 = conditional)",
                "reverse-digit",
                "reverse-guidance",
                conditional,
            )
            if ctx.denoiser is not None and not conditional:
                gr.Markdown(UNCONDITIONAL_NOTE, elem_id="reverse-unconditional-note")
            with gr.Row():
                generate = gr.Button("Generate", variant="primary", elem_id="reverse-generate")
                stop = gr.Button("Stop", variant="stop", elem_id="reverse-stop")
            compare = gr.Button("Same seed, every sampler", elem_id="reverse-compare")
            compare_w = gr.Button("Same seed, several w", elem_id="reverse-compare-w")
        with gr.Column(scale=3):
            status = gr.Markdown(ctx.checkpoint_error or IDLE, elem_id="reverse-status")
            with gr.Row():
                x_t = frame_image("x_t (the chain)", "reverse-xt", 300)
                x0 = frame_image("x̂_0 (the network's guess)", "reverse-x0", 300)
                eps = frame_image("ε̂ (predicted noise)", "reverse-eps", 300)
                direction = frame_image("ε̂_y − ε̂_∅ (guidance direction)", "reverse-direction", 300)
            formula = gr.Markdown(latex_delimiters=LATEX_DELIMITERS, elem_id="reverse-formula")
            scrub = gr.Slider(
                0,
                1,
                value=0,
                step=1,
                label="Replay a step (after a run)",
                interactive=False,
                elem_id="reverse-scrub",
            )
            download_row = downloads.reverse_row()
            with gr.Row(visible=True):
                cmp_imgs = [frame_image(SAMPLER_LABELS[s], f"compare-{s}", 240) for s in SAMPLER_NAMES]
            with gr.Row():
                w_imgs = [
                    frame_image(f"w = {w:g}", f"compare-w{i}", 200) for i, w in enumerate(GUIDANCE.compare_ws)
                ]
            chart = figure_image(
                "Steps vs quality (shipped model; the star marks this run's settings)",
                "reverse-quality",
                plots_quality.quality_chart(
                    plots_quality.load_quality(), "ddim", REVERSE.default_steps, GUIDANCE.default_w
                ),
            )
    gr.Markdown(MODEL_NOTE)
    replay = gr.State(None, time_to_live=900)
    downloads.wire_reverse(download_row, replay)
    ctx.links.update(
        {
            "sampler": sampler,
            "steps": steps,
            "reverse_seed": seed,
            "samples": num_samples,
            "eta": eta,
            "digit": digit,
            "guidance": guidance,
        }
    )

    run_handler = unet.gpu(guarded(bind(run, ctx)))
    if ctx.denoiser is not None:  # (else the status explains the broken checkpoint: keep it)
        # The browser runs one click's listeners in turn, each to its end: this one must come
        # before the run's, or the note would appear only once the run is over.
        generate.click(
            None, None, status, js=f"() => {json.dumps(WAITING)}", api_visibility="private", queue=False
        )
    gen_event = generate.click(
        run_handler,
        [sampler, steps, num_samples, seed, eta, digit, guidance],
        [x_t, x0, eps, status, formula, scrub, replay, direction],
        api_name="reverse",
        **HEAVY,
        # our status line shows the progress; Gradio's overlay would flash "Error" on Stop
        show_progress="hidden",
    )
    if ctx.denoiser is not None:
        # a run refused (a bad value through the UI) never writes its status: undo the wait
        gen_event.failure(
            lambda text: IDLE if text == WAITING else gr.skip(),
            status,
            status,
            api_visibility="private",
            show_progress="hidden",
        )
    cmp_event = compare.click(
        unet.gpu(guarded(bind(compare_samplers, ctx))),
        [steps, num_samples, seed, eta, digit, guidance],
        [*cmp_imgs, status],
        api_name="compare",
        **HEAVY,
        show_progress="minimal",
    )
    cmp_w_event = compare_w.click(
        unet.gpu(guarded(bind(compare_guidance, ctx))),
        [sampler, steps, num_samples, seed, eta, digit],
        [*w_imgs, status],
        api_name="compare_guidance",
        **HEAVY,
        show_progress="minimal",
    )
    sampler.change(
        guarded(quality_chart),
        [sampler, steps, guidance],
        chart,
        api_name="quality_chart",
        show_progress="hidden",
    )
    for control in (steps, guidance):  # on release: a drag would redraw the chart at every notch
        control.release(
            guarded(quality_chart),
            [sampler, steps, guidance],
            chart,
            api_visibility="private",
            trigger_mode="always_last",
            show_progress="hidden",
        )
    stop.click(
        stop_run, None, None, cancels=[gen_event, cmp_event, cmp_w_event], api_visibility="private"
    ).then(after_stop, [replay, status], [scrub, status], api_visibility="private", show_progress="hidden")
    scrub.release(
        guarded(replay_step),
        [scrub, replay],
        [x_t, x0, eps, status, direction],
        api_name="replay",
        trigger_mode="always_last",
        show_progress="hidden",
    )
    scrub.input(
        guarded(replay_step),
        [scrub, replay],
        [x_t, x0, eps, status, direction],
        api_visibility="private",
        trigger_mode="always_last",
        show_progress="hidden",
    )
