"""Shared UI plumbing: the error guard, the schedule panel and the context tabs receive.

Public Gradio only; what relies on Gradio's internals lives in ui.runtime (`Blocks`,
`around`, `bounded_by_T`, `ADDED_LATER`), libgomp in serving.torch_thread.

May import: gradio, torch (its CUDA out-of-memory error), config, models (CheckpointError), serving, ui.runtime and ui.sharing.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
import numpy as np
import torch

from ..config import GUIDANCE, QUEUE, SCHEDULE, SCHEDULE_NAMES, SKETCH
from ..diffusion.samplers import DEFAULT_SAMPLER, SAMPLERS
from ..models.unet import CheckpointError
from ..serving.engine import Replaced
from ..serving.torch_thread import single_threaded
from .runtime import around
from .sharing import current_chain

__all__ = [
    "CHAINS",
    "HEAVY",
    "SchedulePanel",
    "UIContext",
    "bind",
    "figure_image",
    "follow",
    "frame_image",
    "guarded",
    "guidance_controls",
    "schedule_panel",
]

log = logging.getLogger("diffusion_demo")

# Every event that runs seconds of torch work (the UNet's chains, 2D training and animations,
# exports) shares one worker: torch already keeps both cores busy, so two such jobs at once
# would only slow each other down. Others wait in the queue, which shows their position.
# Blocks.run_heavy_on_torch_thread puts their handlers on the torch thread (ui.runtime).
HEAVY: dict[str, Any] = {"concurrency_id": QUEUE.heavy_id, "concurrency_limit": QUEUE.heavy_limit}
# The UNet's chains instead run side by side and share each network call through the batching
# engine (ui.sharing, serving/engine.py): a class of thirty starts at once.
CHAINS: dict[str, Any] = {"concurrency_id": QUEUE.chains_id, "concurrency_limit": QUEUE.chains_limit}


def figure_image(
    label: str, elem_id: str, value: Any = None, *, format: str = "png", **kwargs: Any
) -> gr.Image:
    """A read-only rendered image (a chart, a strip, a digit) with download and fullscreen
    buttons (shown under the pointer: the `figure` class in theme.CSS); `kwargs` go to gr.Image
    (height, show_label)."""
    return gr.Image(
        value,
        label=label,
        type="pil",
        format=format,
        interactive=False,
        buttons=["download", "fullscreen"],
        elem_id=elem_id,
        elem_classes=["figure"],
        **kwargs,
    )


def frame_image(label: str, elem_id: str, height: int, value: Any = None) -> gr.Image:
    """An output image for streamed digit grids, sent at native size as PNG; `value` is what
    it shows before the first run (None: empty).

    A 4×4 grid of 28×28 digits is a ~0.3 KB PNG, encoded in well under a millisecond; the
    browser upscales it with crisp pixels (the `pixels` class in theme.CSS). Every streamed
    frame is handled by Gradio on the chain's time, so small frames leave more of it to the chain.
    """
    return gr.Image(
        value,
        label=label,
        format="png",
        interactive=False,
        elem_id=elem_id,
        elem_classes=["pixels"],
        height=height,
    )


# Gradio applies a load event's updates (a deep link's values) one after another, and a change
# event fired by the first one reads the others' old values: a link's t=300&example=digit-7 once
# previewed digit-3. A light event that follows settings waits for them to land (follow()).
SETTLE_JS = "() => new Promise((done) => setTimeout(done, 150))"


def follow(triggers: list, fn: Callable, inputs: list, outputs: list, **then: Any) -> Any:
    """A private event: `fn(*inputs)` -> `outputs` whenever a trigger fires, run once the
    settings have settled (SETTLE_JS) and always with their latest values. `then` adds to or
    overrides the server event's settings; the server event is returned, for chaining."""
    settings: dict[str, Any] = dict(
        api_visibility="private", show_progress="hidden", trigger_mode="always_last"
    )
    return gr.on(
        triggers,
        None,
        None,
        None,
        js=SETTLE_JS,
        queue=False,
        api_visibility="private",
        trigger_mode="always_last",
    ).then(fn, inputs, outputs, **{**settings, **then})


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


def bind(fn: Callable, *args: Any) -> Callable:
    """fn with its first arguments fixed (a tab's context), keeping its name and docstring for
    Gradio's API page; its signature is what remains (Gradio reads the parameter names)."""
    bound = functools.partial(fn, *args)
    bound.__name__, bound.__doc__ = fn.__name__, fn.__doc__  # type: ignore[attr-defined]
    # resolved now: Gradio finds a gr.Request parameter by its type hint, and a partial has no
    # module globals to resolve string annotations in later
    bound.__annotations__ = typing.get_type_hints(fn)  # type: ignore[attr-defined]
    return bound


OUT_OF_MEMORY = "The GPU ran out of memory for this run: try fewer samples, then run it again."


def guarded(fn: Callable) -> Callable:
    """Turn user-input errors into gr.Error (a clear message in the UI, a clean API error).

    ValueError and CheckpointError carry messages written for the user. Anything else is
    logged server-side and reported without a traceback or internal path.
    """

    @contextlib.contextmanager
    def user_errors():
        single_threaded()  # a no-op on the torch thread (heavy handlers)
        try:
            yield
        except gr.Error:
            raise
        except Replaced as exc:  # the user's own newer run took its place: no red toast for that
            raise gr.Error(str(exc), visible=False, print_exception=False) from None
        except (ValueError, CheckpointError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except torch.OutOfMemoryError:  # CUDA's: free what it cached, so that the next run can start
            torch.cuda.empty_cache()
            raise gr.Error(OUT_OF_MEMORY, print_exception=False) from None
        except Exception as exc:  # not GeneratorExit (a BaseException): Stop closes generators
            log.exception("unexpected error in %s", fn.__name__)
            raise gr.Error(
                f"Something went wrong in {fn.__name__} ({type(exc).__name__}); please try again.",
                print_exception=False,
            ) from None

    return around(fn, user_errors)


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
    # The batching engine that owns the denoiser (None: chains call the denoiser directly).
    engine: Any = None
    # t sliders bounded by the panel's T that no URL name sets (the schedule lab's t follows the
    # forward tab's in the browser): a deep link's T raises their maximum too (ui.deeplinks).
    t_followers: list[gr.components.Component] = field(default_factory=list)

    def require_model(self) -> Any:
        """The model for this handler: its engine Chain inside a CHAINS event (ui.sharing),
        else the loaded Denoiser; or the checkpoint's error for the user."""
        if self.denoiser is None:
            raise CheckpointError(self.checkpoint_error or "No model loaded.")
        return current_chain() or self.denoiser


def quiet(fn: Callable, n_outputs: int) -> Callable:
    """For events that follow another one (or the schedule panel's every keystroke): on bad
    input leave the outputs as they are; the main event (or the panel) shows the message,
    so one mistake gives one message, not three."""

    @functools.wraps(fn)  # fn's signature: Gradio names the parameters in its messages
    def wrapper(*args: Any) -> Any:
        try:
            return fn(*args)
        except ValueError:
            return gr.skip() if n_outputs == 1 else tuple(gr.skip() for _ in range(n_outputs))

    return wrapper


def white_brush(radius: int = SKETCH.brush_radius) -> gr.Brush:
    """The sketchpads' one brush: white on the black canvas, like MNIST's strokes (`default_size`
    is the brush's radius in canvas pixels)."""
    return gr.Brush(colors=["#ffffff"], default_color="#ffffff", color_mode="fixed", default_size=radius)


def black_canvas() -> np.ndarray:
    """An empty sketchpad: black, like MNIST's background."""
    return np.zeros((SKETCH.canvas, SKETCH.canvas, 3), np.uint8)


def digit_sketchpad(label: str, elem_id: str) -> gr.Sketchpad:
    """A black SKETCH.canvas-pixel pad to draw a digit on with the white brush (the round-trip
    and fill-in tabs); class `sketch` for theme.CSS."""
    return gr.Sketchpad(
        value=black_canvas(),
        label=label,
        canvas_size=(SKETCH.canvas, SKETCH.canvas),
        fixed_canvas=True,
        brush=white_brush(),
        format="png",
        elem_id=elem_id,
        elem_classes=["sketch"],
    )


def sampler_menu(elem_id: str) -> gr.Dropdown:
    """A Sampler menu, as Stable Diffusion UIs have one: the registry's labels, its ids as the
    values (the API's, deep links' and the CLI's names), one line high whatever their number."""
    return gr.Dropdown(
        [(s.label, s.id) for s in SAMPLERS.values()],
        value=DEFAULT_SAMPLER,
        label="Sampler",
        filterable=False,
        elem_id=elem_id,
    )
