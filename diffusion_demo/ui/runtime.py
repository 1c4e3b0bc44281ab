"""Everything the app relies on below Gradio's public API, in one place.

Owns `Blocks` (clear refusals before a handler runs, heavy events moved to the torch thread,
the queue's polling), `current_request`, the layout walks (`owner_tab`, `child_tabs`),
`bounded_by_T` and `atomic_image_cache`. Each private API used is listed below the imports and
checked by tests/ui/test_runtime.py, which names the function here to revisit when a Gradio
upgrade changes it. (torch's libgomp is serving.torch_thread's.)

May import: gradio, config and serving.torch_thread (nothing of ui: common builds on it).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
from gradio import processing_utils

from ..config import QUEUE, SCHEDULE
from ..serving import torch_thread

# What this module relies on (checked by tests/ui/test_runtime.py):
# Gradio (the version pinned in requirements.txt):
# - `gradio.blocks.Blocks.validate_inputs(self, block_fn, inputs)`: overridden by
#   `Blocks.validate_inputs` to refuse a wrong argument count, a non-number for a slider or a
#   non-file for an image with a message naming the parameter (Gradio's own refusals reach API
#   callers only as "the upstream app has raised an exception"), and to fill in the defaults
#   of parameters added later (ADDED_LATER). Gradio calls it from `Blocks.preprocess_data`.
# - `gradio.blocks.Blocks.preprocess_data(self, block_fn, inputs, state, explicit_call)`
#   (async): overridden by `Blocks.preprocess_data` to make Gradio's range and choice checks
#   first (`check_ranges_and_choices`, on the session's copy of each component: `state[id]`
#   when `id in state`, as Gradio does) with messages naming the parameter and what it allows,
#   and to turn a component's parsing error (a file path Gradio never received) into such a
#   message. Gradio calls it from `process_api`.
# - `Blocks.fns` (dict of `BlockFunction`) and its `fn`, `concurrency_id`, `inputs`,
#   `api_name`, `input_parameter_names`: `Blocks.run_heavy_on_torch_thread` and
#   `Blocks.wrap_events` rewrite the `fn` of every HEAVY (or CHAINS) event after the page is built (Gradio reads `block_fn.fn` at call
#   time, in `Blocks.call_function`); `Blocks._names` reads the parameter names for messages.
# - `Blocks._queue` (a `gradio.queueing.Queue`) and its `sleep_when_free`,
#   `progress_update_sleep_when_free` poll intervals: `Blocks._poll` slows them while a heavy
#   job runs (their wake-ups take the GIL from torch; see config.QueueConfig).
# - `gradio.context.LocalContext.request` (a ContextVar Gradio sets around every handler
#   call): `current_request` reads it, so that the engine's wrapper (ui.sharing) knows whose
#   run it is without every handler taking a gr.Request parameter.
# - `preprocess_data`'s result, one processed value per input in order, and
#   `gr.Number.round_to_precision` (what `Slider.preprocess` returns): `bounded_by_T` sliders.
# - `Block.parent` and `BlockContext.children` (undocumented attributes): `owner_tab` and
#   `child_tabs` walk the layout tree for the deep links.
# - `gradio.processing_utils.save_pil_to_cache(img, cache_dir, name, format)`, with its
#   helpers `encode_pil_to_bytes` and `hash_bytes`: replaced by `atomic_image_cache` (every
#   output image is written through it; Gradio's own rewrites the file in place).


def current_request() -> gr.Request | None:
    """The gr.Request of the event being handled now (None outside a handler)."""
    from gradio.context import LocalContext  # deferred: Gradio's private module, read only here

    return LocalContext.request.get(None)


# --------------------------------------------------------------------------------------
# Gradio's layout tree (for the deep links)
# --------------------------------------------------------------------------------------


def owner_tab(component: gr.blocks.Block) -> str | None:
    """The id of the gr.Tab that contains a component (None outside every tab)."""
    block = getattr(component, "parent", None)
    while block is not None:
        if isinstance(block, gr.Tab):
            return None if block.id is None else str(block.id)
        block = getattr(block, "parent", None)
    return None


def child_tabs(tabs: gr.Tabs) -> list[gr.Tab]:
    """The gr.Tab children of a gr.Tabs that have an id, in order."""
    return [c for c in tabs.children if isinstance(c, gr.Tab) and c.id is not None]


# --------------------------------------------------------------------------------------
# Blocks: clear refusals before our handlers run; heavy handlers on the torch thread
# --------------------------------------------------------------------------------------


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


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _bounded_number(component: gr.components.Component) -> bool:
    """A slider or number whose bounds Gradio checks itself (and fails on a non-number);
    unbounded API numbers reach our handlers, whose messages are more precise."""
    if isinstance(component, gr.Slider):
        return True
    return isinstance(component, gr.Number) and (component.minimum, component.maximum) != (None, None)


def _allowed(component: gr.components.Component, ceiling: float | None = None) -> str:
    lo, hi = getattr(component, "minimum", None), ceiling or getattr(component, "maximum", None)
    if lo is not None and hi is not None:
        return f" in [{lo:g}, {hi:g}]"
    return f" ≥ {lo:g}" if lo is not None else ""


def bounded_by_T(slider: gr.Slider) -> gr.Slider:
    """Mark a t slider whose maximum is the schedule's T, itself an input of the same events.

    Gradio checks a slider's value against the session's copy of its maximum, which an event
    still in flight with an older T may have just set back: a deep link's T=2000&t=1500 then
    failed forward_view ("Value 1500 is greater than maximum value 1000") about one load in
    three. For a marked slider `Blocks.preprocess_data` checks t only up to the largest T any
    schedule may have (`t_ceiling`); the handlers check it against the T sent with it, in the
    same request (check_t)."""
    slider.t_ceiling = SCHEDULE.max_T  # on the page's own component (sessions hold copies)
    return slider


def _choices(component: gr.components.Component) -> list[Any] | None:
    """The values a radio, dropdown or checkbox group accepts; None when it takes any value."""
    if not isinstance(component, (gr.Radio, gr.Dropdown, gr.CheckboxGroup)):
        return None
    if getattr(component, "allow_custom_value", False):
        return None
    return [c[1] if isinstance(c, (tuple, list)) else c for c in component.choices or ()]


def _refusal(component: gr.components.Component, value: Any, ceiling: float | None = None) -> str | None:
    """What is wrong with `value` for `component` ("must be … ; got …"), as Gradio's
    preprocess would refuse it; None when it would pass."""
    if _bounded_number(component) and _is_real(value):
        lo, hi = component.minimum, ceiling or component.maximum
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            return f"must be a number{_allowed(component, ceiling)}; got {value:g}."
        return None
    allowed = _choices(component)
    if allowed is None:
        return None
    given = value if isinstance(value, list) else [value]
    wrong = [v for v in given if v not in allowed]
    if wrong:
        listed = ", ".join(str(a) for a in allowed)
        return f"must be one of {listed}; got {wrong[0]!r:.80}."
    return None


_FILES = (gr.File, gr.Image)


def _save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    """Gradio's save_pil_to_cache, but a picture already cached is left alone (its path is its
    bytes' hash) and a new one is renamed into place once whole."""
    data = processing_utils.encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / processing_utils.hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    path = (folder / f"{name}.{format}").resolve()
    try:
        if path.stat().st_size == len(data):
            os.utime(path)  # delete_cache ages files by ctime: a picture handed out again stays
            return str(path)
    except FileNotFoundError:
        pass
    fd, staging = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(staging, path)
    return str(path)


def atomic_image_cache() -> None:
    """Write output images whole. Gradio's save_pil_to_cache truncates and rewrites the file
    named by the picture's hash each time it is output; a browser fetching the same picture
    meanwhile (an identical earlier output: a deep link's load event and the preview it sets
    off) was served a file growing under it, and uvicorn dropped the response with h11's
    "Too much data for declared Content-Length" (about one deep-link load in 20)."""
    processing_utils.save_pil_to_cache = _save_pil_to_cache


# Parameters added to an endpoint after scripts were written against it (trailing, with
# defaults): a raw HTTP call that sends the old, shorter list gets the defaults for them, as
# gradio_client callers do. {api_name: how many trailing inputs may be left out}.
ADDED_LATER: dict[str, int] = dict(QUEUE.added_later)
_SEND_FILES = "upload it with gradio_client.handle_file(path)"


class Blocks(gr.Blocks):
    """gr.Blocks whose refusals *before* our handlers run are clear messages too.

    Gradio checks the argument count and lets each component preprocess its value before
    a handler sees it; its own errors there reach API callers only as "the upstream app
    has raised an exception" (show_error stays off so nothing internal leaks). This names
    the parameter and what it expects instead.
    """

    # Gradio's queue poll intervals (idle, busy): see config.QueueConfig.
    QUEUE_POLL_S = QUEUE.queue_poll_s
    PROGRESS_POLL_S = QUEUE.progress_poll_s

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
            if block_fn.fn is not None and block_fn.concurrency_id == QUEUE.heavy_id:
                block_fn.fn = torch_thread.heavy(around(block_fn.fn, self._polling_slowly))

    def wrap_events(
        self, concurrency_id: str, context: Callable[[], contextlib.AbstractContextManager]
    ) -> None:
        """Run every handler of the events in `concurrency_id` inside a fresh `context()`."""
        for block_fn in self.fns.values():
            if block_fn.fn is not None and block_fn.concurrency_id == concurrency_id:
                block_fn.fn = around(block_fn.fn, context)

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

    def check_ranges_and_choices(self, block_fn, inputs: list[Any], state) -> None:
        """Gradio's own range and choice checks (`preprocess` of sliders, numbers, radios and
        dropdowns), made first with the same component (the session's copy, whose maximum a
        handler may have changed) so that the message names the parameter and what it allows."""
        for i, (block, value) in enumerate(zip(block_fn.inputs, inputs, strict=False)):
            if value is None or getattr(block, "stateful", False):
                continue
            component = state[block._id] if state is not None and block._id in state else block
            problem = _refusal(component, value, getattr(block, "t_ceiling", None))
            if problem:
                name = self._names(block_fn)[1][i]
                raise gr.Error(f"{name} {problem}", print_exception=False)

    @staticmethod
    def _over_the_sessions_maximum(block_fn, inputs: list[Any], state) -> dict[int, float]:
        """t values of sliders marked `bounded_by_T` above their session copy's maximum (within
        their ceiling): handed to Gradio as that maximum, put back after its preprocess."""
        out = {}
        for i, (block, value) in enumerate(zip(block_fn.inputs, inputs, strict=False)):
            if getattr(block, "t_ceiling", None) is None or not _is_real(value):
                continue
            maximum = (state[block._id] if state is not None and block._id in state else block).maximum
            if maximum is not None and value > maximum:
                out[i], inputs[i] = value, maximum
        return out

    async def preprocess_data(self, block_fn, inputs: list[Any], state, explicit_call: bool = False):
        self.check_ranges_and_choices(block_fn, inputs, state)
        held = self._over_the_sessions_maximum(block_fn, inputs, state)
        try:
            processed = await super().preprocess_data(block_fn, inputs, state, explicit_call)
            for i, value in held.items():
                processed[i] = gr.Number.round_to_precision(value, block_fn.inputs[i].precision)
            return processed
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
