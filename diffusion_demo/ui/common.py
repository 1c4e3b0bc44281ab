"""Shared UI plumbing: the error guard, the schedule panel and the context tabs receive."""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import math
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from ..config import GUIDANCE, SCHEDULE, SCHEDULE_NAMES
from ..models.unet import CheckpointError
from . import torch_thread

log = logging.getLogger("diffusion_demo")

# Every event that runs seconds of torch work (the UNet's chains, 2D training and animations,
# exports) shares one worker: torch already keeps both cores busy, so two such jobs at once
# would only slow each other down. Others wait in the queue, which shows their position.
# Blocks.run_heavy_on_torch_thread puts their handlers on the torch thread (ui.torch_thread).
HEAVY: dict[str, Any] = {"concurrency_id": "heavy", "concurrency_limit": 1}


def figure_image(
    label: str, elem_id: str, value: Any = None, *, format: str = "png", **kwargs: Any
) -> gr.Image:
    """A read-only rendered image (a chart, a strip, a digit) with download and fullscreen
    buttons; `kwargs` go to gr.Image (height, show_label)."""
    return gr.Image(
        value,
        label=label,
        type="pil",
        format=format,
        interactive=False,
        buttons=["download", "fullscreen"],
        elem_id=elem_id,
        **kwargs,
    )


def frame_image(label: str, elem_id: str, height: int) -> gr.Image:
    """An output image for streamed digit grids, sent at native size as PNG.

    A 4×4 grid of 28×28 digits is a ~0.3 KB PNG, encoded in well under a millisecond; the
    browser upscales it with crisp pixels (the `pixels` class in theme.CSS). Every streamed
    frame is handled by Gradio on the chain's time, so small frames leave more of it to the chain.
    """
    return gr.Image(
        label=label, format="png", interactive=False, elem_id=elem_id, elem_classes=["pixels"], height=height
    )


def guidance_controls(
    choices: Sequence[str], digit_label: str, w_label: str, digit_id: str, w_id: str, interactive: bool
) -> tuple[gr.Dropdown, gr.Slider]:
    """The Digit dropdown and the Guidance w slider (0 … GUIDANCE.max_w), disabled for an
    unconditional model: the reverse, round-trip and fill-in tabs each have a pair."""
    digit = gr.Dropdown(
        list(choices), value="any", label=digit_label, interactive=interactive, elem_id=digit_id
    )
    w = gr.Slider(
        0.0,
        GUIDANCE.max_w,
        value=GUIDANCE.default_w,
        step=0.25,
        label=w_label,
        interactive=interactive,
        elem_id=w_id,
    )
    return digit, w


def around(fn: Callable, context: Callable[[], contextlib.AbstractContextManager]) -> Callable:
    """fn run inside a fresh `context()`: around the call, or around a generator handler's
    whole iteration (closing the generator, as Stop does, exits the context too)."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any):
            with context():
                yield from fn(*args, **kwargs)

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        with context():
            return fn(*args, **kwargs)

    return wrapper


def bind(fn: Callable, *args: Any) -> Callable:
    """fn with its first arguments fixed (a tab's context), keeping its name and docstring for
    Gradio's API page; its signature is what remains (Gradio reads the parameter names)."""
    bound = functools.partial(fn, *args)
    bound.__name__, bound.__doc__ = fn.__name__, fn.__doc__  # type: ignore[attr-defined]
    # resolved now: Gradio finds a gr.Request parameter by its type hint, and a partial has no
    # module globals to resolve string annotations in later
    bound.__annotations__ = typing.get_type_hints(fn)  # type: ignore[attr-defined]
    return bound


def guarded(fn: Callable) -> Callable:
    """Turn user-input errors into gr.Error (a clear message in the UI, a clean API error).

    ValueError and CheckpointError carry messages written for the user. Anything else is
    logged server-side and reported without a traceback or internal path.
    """

    @contextlib.contextmanager
    def user_errors():
        torch_thread.single_threaded()  # a no-op on the torch thread (heavy handlers)
        try:
            yield
        except gr.Error:
            raise
        except (ValueError, CheckpointError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception as exc:  # not GeneratorExit (a BaseException): Stop closes generators
            log.exception("unexpected error in %s", fn.__name__)
            raise gr.Error(
                f"Something went wrong in {fn.__name__} ({type(exc).__name__}); please try again.",
                print_exception=False,
            ) from None

    return around(fn, user_errors)


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _bounded_number(component: gr.components.Component) -> bool:
    """A slider or number whose bounds Gradio checks itself (and fails on a non-number);
    unbounded API numbers reach our handlers, whose messages are more precise."""
    if isinstance(component, gr.Slider):
        return True
    return isinstance(component, gr.Number) and (component.minimum, component.maximum) != (None, None)


def _allowed(component: gr.components.Component) -> str:
    lo, hi = getattr(component, "minimum", None), getattr(component, "maximum", None)
    if lo is not None and hi is not None:
        return f" in [{lo:g}, {hi:g}]"
    return f" ≥ {lo:g}" if lo is not None else ""


_FILES = (gr.File, gr.Image)
# Parameters added to an endpoint after scripts were written against it (trailing, with
# defaults): a raw HTTP call that sends the old, shorter list gets the defaults for them, as
# gradio_client callers do. {api_name: how many trailing inputs may be left out}.
ADDED_LATER: dict[str, int] = {"reverse": 2, "compare": 2}
_SEND_FILES = "upload it with gradio_client.handle_file(path)"


class Blocks(gr.Blocks):
    """gr.Blocks whose refusals *before* our handlers run are clear messages too.

    Gradio checks the argument count and lets each component preprocess its value before
    a handler sees it; its own errors there reach API callers only as "the upstream app
    has raised an exception" (show_error stays off so nothing internal leaks). This names
    the parameter and what it expects instead.
    """

    # Gradio's queue looks for new jobs every 1 ms and for progress to send every 10 ms
    # (queueing.Queue.sleep_when_free, .progress_update_sleep_when_free). Each wake-up takes
    # the GIL and a core away from torch's two threads: with a launched app, DDIM-50 took
    # 1.70 s instead of 1.37 s here. While a heavy job runs the queue polls every 5 ms and
    # 50 ms instead (a job still starts within 5 ms; a gr.Progress bar moves 20 times a
    # second); idle, it keeps Gradio's 1 ms, which /forward's latency needs.
    QUEUE_POLL_S = 0.001, 0.005  # idle, busy
    PROGRESS_POLL_S = 0.01, 0.05

    def _poll(self, busy: bool) -> None:
        queue = getattr(self, "_queue", None)
        if queue is not None:
            queue.sleep_when_free = self.QUEUE_POLL_S[busy]
            queue.progress_update_sleep_when_free = self.PROGRESS_POLL_S[busy]

    @contextlib.contextmanager
    def _polling_slowly(self):
        """Gradio's queue polls slowly while this context is open (one heavy job at a time)."""
        self._poll(busy=True)
        try:
            yield
        finally:
            self._poll(busy=False)

    def run_heavy_on_torch_thread(self) -> None:
        """Move every HEAVY event's handler to the torch thread (call once, after building)."""
        for block_fn in self.fns.values():
            if block_fn.fn is not None and block_fn.concurrency_id == HEAVY["concurrency_id"]:
                block_fn.fn = torch_thread.heavy(around(block_fn.fn, self._polling_slowly))

    @staticmethod
    def _names(block_fn) -> tuple[str, list[str]]:
        """The endpoint and its parameter names, for messages (built only when one is needed)."""
        labels = block_fn.input_parameter_names or [c.label for c in block_fn.inputs]
        endpoint = f"/{block_fn.api_name}" if block_fn.api_name else "this action"
        return endpoint, [name or f"param_{i}" for i, name in enumerate(labels)]

    def validate_inputs(self, block_fn, inputs: list[Any]) -> None:
        # runs before every event, slider drags included: the checks are cheap isinstance
        # tests, and names are looked up only for the message of a refusal
        missing = len(block_fn.inputs) - len(inputs)
        if 0 < missing <= ADDED_LATER.get(block_fn.api_name or "", 0):  # an old call: the defaults
            inputs.extend(c.value for c in block_fn.inputs[len(inputs) :])
        if len(inputs) < len(block_fn.inputs):
            endpoint, names = self._names(block_fn)
            raise gr.Error(
                f"{endpoint} expects {len(block_fn.inputs)} values ({', '.join(names)}); got {len(inputs)}.",
                print_exception=False,
            )
        for i, (component, value) in enumerate(zip(block_fn.inputs, inputs, strict=False)):
            if value is None:
                continue
            if _bounded_number(component) and not _is_real(value):
                name = self._names(block_fn)[1][i]
                raise gr.Error(
                    f"{name} must be a number{_allowed(component)}; got {value!r:.80}.", print_exception=False
                )
            if isinstance(component, _FILES) and not isinstance(value, dict):
                name = self._names(block_fn)[1][i]
                raise gr.Error(
                    f"{name} must be a file: {_SEND_FILES}; got {value!r:.80}.", print_exception=False
                )
        super().validate_inputs(block_fn, inputs)

    async def preprocess_data(self, block_fn, inputs: list[Any], state, explicit_call: bool = False):
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except gr.Error:
            raise
        except ValueError:  # Gradio's file checks (a path it never received) and component parsing
            endpoint, names = self._names(block_fn)
            files = [n for c, n in zip(block_fn.inputs, names, strict=False) if isinstance(c, _FILES)]
            what = " or ".join(files) if files else "an argument"
            raise gr.Error(
                f"{endpoint}: {what} could not be read; {_SEND_FILES}, other values as documented.",
                print_exception=False,
            ) from None


@dataclass
class SchedulePanel:
    """The variance-schedule controls shared by every tab that uses a schedule."""

    schedule: gr.Dropdown
    beta_start: gr.Number
    beta_end: gr.Number
    T: gr.Number

    @property
    def inputs(self) -> list[gr.components.Component]:
        return [self.schedule, self.beta_start, self.beta_end, self.T]


def schedule_panel() -> SchedulePanel:
    """Build the schedule controls (call inside a Blocks context)."""
    with gr.Row():
        schedule = gr.Dropdown(
            list(SCHEDULE_NAMES), value="linear", label="Schedule β_t", elem_id="schedule", scale=2
        )
        beta_start = gr.Number(
            SCHEDULE.default_beta_start, label="β_start", elem_id="beta_start", minimum=0, step=1e-5
        )
        beta_end = gr.Number(
            SCHEDULE.default_beta_end, label="β_end", elem_id="beta_end", minimum=0, step=1e-3
        )
        T = gr.Number(
            SCHEDULE.default_T,
            label="T (steps)",
            elem_id="T_steps",
            minimum=1,
            maximum=SCHEDULE.max_T,
            precision=0,
        )
    return SchedulePanel(schedule, beta_start, beta_end, T)


@dataclass
class UIContext:
    """What every tab's build() receives."""

    schedule: SchedulePanel
    # The loaded model (a Denoiser) or the CheckpointError message explaining why not.
    denoiser: Any
    checkpoint_error: str | None
    # Deep-link query parameters -> the component they set (filled by the tabs).
    links: dict[str, gr.components.Component] = field(default_factory=dict)
