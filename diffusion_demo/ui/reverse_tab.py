"""Tab 3: the learned reverse chain, streamed live from x_T ~ N(0, I) to digits."""

from __future__ import annotations

import json
import threading
import time

import gradio as gr

from .. import model
from ..config import REVERSE, SAMPLER_NAMES
from ..equations import LATEX_DELIMITERS
from ..sampling import SAMPLER_LABELS, ReverseRequest, StepRecord, reverse_chain, validate_request
from . import downloads
from .common import HEAVY, UIContext, frame_image, guarded
from .frames import Replay, Throttle, show, stream, tensor_frame

EXPLAIN = """
### The reverse chain: order from chaos
Start from pure noise **x_T ~ N(0, I)** and apply a learned step again and again. At each
step the network looks at x_t and predicts the noise ε̂ in it; from ε̂ follows a guess of
the clean image **x̂_0**, and the sampler takes one small step towards it, giving x_{t-1}.
Like the forward chain, this is a Markov chain: each step sees only the current sample.

Only this direction is learned — the forward chain is fixed. Samplers differ in the step
they take: **DDPM** adds fresh noise at every step (ancestral), **DDIM** with η = 0 is
deterministic and needs far fewer steps, **DPM-Solver++** is a 2nd-order ODE solver.
"""

MODEL_NOTE = (
    "The network is a small UNet trained here on 4,500 MNIST digits (28×28) with the linear "
    "schedule β: 1e-4 → 0.02, T = 1000 (Ho et al. 2020). The schedule panel above does not "
    "change this tab: the model only knows the schedule it was trained with."
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
            with gr.Row():
                generate = gr.Button("Generate", variant="primary", elem_id="reverse-generate")
                stop = gr.Button("Stop", variant="stop", elem_id="reverse-stop")
            compare = gr.Button("Same seed, every sampler", elem_id="reverse-compare")
        with gr.Column(scale=3):
            status = gr.Markdown(ctx.checkpoint_error or IDLE, elem_id="reverse-status")
            with gr.Row():
                x_t = frame_image("x_t (the chain)", "reverse-xt", 300)
                x0 = frame_image("x̂_0 (the network's guess)", "reverse-x0", 300)
                eps = frame_image("ε̂ (predicted noise)", "reverse-eps", 300)
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
    gr.Markdown(MODEL_NOTE)
    replay = gr.State(None, time_to_live=900)
    downloads.wire_reverse(download_row, replay)
    ctx.links.update(
        {"sampler": sampler, "steps": steps, "reverse_seed": seed, "samples": num_samples, "eta": eta}
    )

    def require_model():
        if ctx.denoiser is None:
            raise model.CheckpointError(ctx.checkpoint_error or "No model loaded.")
        return ctx.denoiser

    @guarded
    def run(sampler, steps, num_samples, seed, eta, session: gr.Request):
        """Run the reverse chain and stream x_t, x̂_0 and ε̂ (throttled to ~20 frames/s)."""
        request = validate_request(sampler, steps, num_samples, seed, eta)
        denoiser = require_model()
        store = Replay(request.steps)
        key = getattr(session, "session_hash", None) or object()  # an API call may have none
        stopped = _running[key] = threading.Event()
        try:
            yield from _frames(request, denoiser, store, stopped)
        finally:
            _running.pop(key, None)

    def _frames(request, denoiser, store, stopped):
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
        )

    def stop_run(session: gr.Request) -> None:
        """Stop: the session's chain ends after its current step."""
        if (stopped := _running.get(getattr(session, "session_hash", None))) is not None:
            stopped.set()

    def after_stop(frames, status_text):
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

    @guarded
    def replay_step(index, frames):
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
        )

    @guarded
    def compare_samplers(steps, num_samples, seed, eta):
        """The same x_T through every sampler: one grid each, in turn."""
        denoiser = require_model()
        outs: list = [gr.skip()] * len(SAMPLER_NAMES)
        unchanged = [gr.skip()] * len(SAMPLER_NAMES)
        lines = []
        for k, name in enumerate(SAMPLER_NAMES):
            request = validate_request(name, steps, num_samples, seed, eta)
            start, throttle = time.perf_counter(), Throttle(fps=4)
            for record in reverse_chain(denoiser, request):
                if throttle(record):  # a yield per few steps lets Stop end the run promptly
                    begun = time.perf_counter()
                    yield (*unchanged, f"{name}: step {record.index + 1}/{record.num_steps}")
                    throttle.spent(time.perf_counter() - begun)
            outs[k] = tensor_frame(record.prev_sample.clamp(-1, 1))
            lines.append(f"{name}: {time.perf_counter() - start:.2f} s")
            yield (*outs, "Same x_T, " + f"{request.steps} steps · " + " · ".join(lines))

    run_handler = model.gpu(run)
    if ctx.denoiser is not None:  # (else the status explains the broken checkpoint: keep it)
        # The browser runs one click's listeners in turn, each to its end: this one must come
        # before the run's, or the note would appear only once the run is over.
        generate.click(
            None, None, status, js=f"() => {json.dumps(WAITING)}", api_visibility="private", queue=False
        )
    gen_event = generate.click(
        run_handler,
        [sampler, steps, num_samples, seed, eta],
        [x_t, x0, eps, status, formula, scrub, replay],
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
        model.gpu(compare_samplers),
        [steps, num_samples, seed, eta],
        [*cmp_imgs, status],
        api_name="compare",
        **HEAVY,
        show_progress="minimal",
    )
    stop.click(stop_run, None, None, cancels=[gen_event, cmp_event], api_visibility="private").then(
        after_stop, [replay, status], [scrub, status], api_visibility="private", show_progress="hidden"
    )
    scrub.release(
        replay_step,
        [scrub, replay],
        [x_t, x0, eps, status],
        api_name="replay",
        trigger_mode="always_last",
        show_progress="hidden",
    )
    scrub.input(
        replay_step,
        [scrub, replay],
        [x_t, x0, eps, status],
        api_visibility="private",
        trigger_mode="always_last",
        show_progress="hidden",
    )
