"""Shared UI plumbing: the error guard, the schedule panel and the context tabs receive."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from ..config import SCHEDULE, SCHEDULE_NAMES
from ..model import CheckpointError

log = logging.getLogger("diffusion_demo")

# Every event that runs seconds of torch work (the UNet's chains, 2D training and animations,
# exports) shares one worker: torch already keeps both cores busy, so two such jobs at once
# would only slow each other down. Others wait in the queue, which shows their position.
HEAVY: dict[str, Any] = {"concurrency_id": "heavy", "concurrency_limit": 1}


def guarded(fn: Callable) -> Callable:
    """Turn user-input errors into gr.Error (a clear message in the UI, a clean API error).

    ValueError and CheckpointError carry messages written for the user. Anything else is
    logged server-side and reported without a traceback or internal path.
    """

    def convert(exc: Exception) -> gr.Error:
        if isinstance(exc, gr.Error):
            return exc
        if isinstance(exc, (ValueError, CheckpointError)):
            return gr.Error(str(exc), print_exception=False)
        log.exception("unexpected error in %s", fn.__name__)
        return gr.Error(
            f"Something went wrong in {fn.__name__} ({type(exc).__name__}); please try again.",
            print_exception=False,
        )

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any):
            try:
                yield from fn(*args, **kwargs)
            except GeneratorExit:
                raise
            except Exception as exc:
                raise convert(exc) from None

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise convert(exc) from None

    return wrapper


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
