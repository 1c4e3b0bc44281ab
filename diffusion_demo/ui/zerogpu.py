"""ZeroGPU (Hugging Face's free GPU Spaces): each model handler borrows a GPU for its call.

With SPACES_ZERO_GPU=true, `wrap(demo)` wraps the handlers `models.unet.gpu` marked with
`spaces.GPU` as the page is built (ZeroGPU needs one at start-up), each call asking for the
time its request needs (`gpu_seconds`), and `borrow` turns ZeroGPU's refusals and cut-off
runs into messages saying what to try. Unset: both return the handler itself, `spaces` is
never imported. What `spaces` does (generators, torch, child processes): docs/deploy.md.

May import: gradio, config, models, ui.runtime; ui.tabs.roundtrip only deferred (it imports this).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from ..config import GUIDANCE, REVERSE, ZEROGPU
from ..diffusion.samplers import SAMPLERS
from ..models import unet
from .runtime import Blocks

T_MAX = REVERSE.max_steps  # the training chain's length: a round trip from t runs t / T of its steps


def _number(args: dict[str, Any], name: str, default: float) -> float:
    """A numeric argument as the handler would read it; anything else counts as `default` (the
    handler refuses it itself, with its message: an estimate must never fail)."""
    value = args.get(name, default)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


def _curve_fraction() -> float:
    """The round-trip curve runs a chain back from each t of CURVE_TS: sum(t) / T of a full one."""
    from .tabs.roundtrip import (
        CURVE_TS,  # deferred: tabs.roundtrip imports ui.export_buttons, which imports this
    )

    return sum(CURVE_TS) / T_MAX


# Each model handler (by name): (UNet calls, rows per call) of its run, from its arguments
# as read by `_calls` (steps, the round trip's share `back`, samples, `a` for the rest).
ESTIMATES: dict[str, Callable[..., tuple[float, float]]] = {
    "run": lambda steps, back, rows, a: (steps * _evals(a), rows),
    "compare_samplers": lambda steps, back, rows, a: (
        steps * sum(s.evals_per_step for s in SAMPLERS.values()),
        rows,
    ),
    "compare_guidance": lambda steps, back, rows, a: (steps * _evals(a) * len(GUIDANCE.compare_ws), rows),
    "roundtrip": lambda steps, back, rows, a: (steps * _evals(a) * back, 1.0),
    "roundtrip_sketch": lambda steps, back, rows, a: (steps * _evals(a) * back, 2.0),
    "roundtrip_export": lambda steps, back, rows, a: (steps * _evals(a) * back, 1.0),
    "measure": lambda steps, back, rows, a: (steps * _curve_fraction(), 4.0),
    "fill_in": lambda steps, back, rows, a: (steps * max(1.0, _number(a, "jumps", 10)), rows),
}


def _evals(a: dict[str, Any]) -> int:
    """Network calls a step of the run's sampler makes (Heun: 2); 1 when none is named."""
    chosen = SAMPLERS.get(a.get("sampler")) if isinstance(a.get("sampler"), str) else None
    return chosen.evals_per_step if chosen else 1


def _calls(name: str, a: dict[str, Any]) -> tuple[float, float]:
    steps = max(1.0, _number(a, "steps", T_MAX))
    back = max(1.0, _number(a, "t", T_MAX)) / T_MAX  # a round trip walks back from t only
    # [x, x] with [y, ∅] when the guidance weight is not 0 or 1 (assumed: the worst case)
    rows = 2.0 * max(1.0, _number(a, "num_samples", REVERSE.max_samples))
    # a handler marked later and not listed: one chain of `steps`
    estimate = ESTIMATES.get(name, ESTIMATES["run"])
    return estimate(steps, back, rows, a)


def gpu_seconds(fn: Callable, *args: Any, **kwargs: Any) -> int:
    """The GPU time one call of handler `fn` asks ZeroGPU for, in whole seconds (see
    config.ZeroGPUSettings): start_s + per_call_s × UNet calls (× ceil(rows / rows_per_call))."""
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs).arguments
    except TypeError:  # arguments the handler will refuse itself
        bound = {}
    calls, rows = _calls(fn.__name__, bound)
    seconds = ZEROGPU.start_s + ZEROGPU.per_call_s * calls * math.ceil(rows / ZEROGPU.rows_per_call)
    return int(min(ZEROGPU.max_s, max(ZEROGPU.min_s, math.ceil(seconds))))


STOPPED = (
    "ZeroGPU stopped this run before it finished: it went past the {seconds} s of GPU time it "
    "asked for, or the GPU was taken back. Try fewer steps or fewer samples (DDIM with 50 steps "
    "needs far less than DDPM with 1000), or try again in a minute."
)
QUOTA_HINT = (
    " Runs with fewer steps or samples ask for less GPU time. Logged-in visitors have a daily "
    "quota of their own; visitors who are not logged in may share one per network address."
)


@contextlib.contextmanager
def _clear_messages(seconds: int) -> Iterator[None]:
    """ZeroGPU's own errors (titled "ZeroGPU …") as messages that say what happened and what to
    try; everything else (the handler's own messages) passes unchanged."""
    try:
        yield
    except gr.Error as exc:
        title = str(getattr(exc, "title", "") or "")
        if not title.startswith("ZeroGPU"):
            raise
        text = str(getattr(exc, "message", exc))
        if "aborted" in text.lower():
            text = STOPPED.format(seconds=seconds)
        elif "quota" in title.lower() or "duration" in title.lower() or "queue" in title.lower():
            text += QUOTA_HINT
        else:
            text = f"The GPU could not run this ({title}: {text}); please try again."
        raise gr.Error(text, title=title, print_exception=False) from None


def borrow(fn: Callable) -> Callable:
    """`fn` wrapped with `spaces.GPU` (asking for `gpu_seconds` per call) and clear messages, on
    ZeroGPU; elsewhere `fn` itself. A generator handler stays one: it streams from inside the call."""
    if not unet.on_zero_gpu():
        return fn
    import spaces  # type: ignore[import-not-found]  # optional: pinned in requirements.txt, used only on ZeroGPU

    estimate = functools.partial(gpu_seconds, fn)
    on_gpu = spaces.GPU(fn, duration=estimate)
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def streaming(*args: Any, **kwargs: Any):
            with _clear_messages(estimate(*args, **kwargs)):
                yield from on_gpu(*args, **kwargs)

        return streaming

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any):
        with _clear_messages(estimate(*args, **kwargs)):
            return on_gpu(*args, **kwargs)

    return call


def prepare() -> None:
    """On ZeroGPU, before the page is built: `spaces` imported on this thread (its torch mode
    is per thread: the model must move to "cuda" here) and Gradio's automatic wrapping of
    every handler (which gradio does when SPACES_GRADIO_AUTO_WRAP is set) switched off: only
    the marked handlers borrow a GPU."""
    if unet.on_zero_gpu():
        import spaces  # type: ignore[import-not-found]  # optional: used only on ZeroGPU

        spaces.disable_gradio_auto_wrap()


def marked(demo: gr.Blocks) -> list:
    """The event handlers (Gradio BlockFunctions) that `unet.gpu` marked: the model's runs."""
    return [f for f in demo.fns.values() if f.fn is not None and getattr(f.fn, unet.GPU_MARK, False)]


def wrap(demo: Blocks) -> int:
    """On ZeroGPU: every marked handler borrows a GPU per call (call once, after building).
    Returns how many were wrapped (0 elsewhere)."""
    if not unet.on_zero_gpu():
        return 0
    found = marked(demo)
    for block_fn in found:
        block_fn.fn = borrow(block_fn.fn)
    return len(found)
