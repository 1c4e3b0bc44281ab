"""Heavy handlers on one torch thread (ui.torch_thread). The OpenMP limit of every other
thread and the app's heavy events are tested with ui.runtime (tests/ui/test_runtime.py)."""

from __future__ import annotations

import contextvars
import threading

import pytest

from diffusion_demo.ui import torch_thread


def where() -> str:
    return threading.current_thread().name


def test_call_runs_on_the_torch_thread_and_returns_or_raises():
    assert torch_thread.call(where) == torch_thread.NAME
    assert torch_thread.call(lambda a, b=0: a + b, 2, b=3) == 5
    with pytest.raises(ValueError, match="steps must be"):
        torch_thread.call(lambda: (_ for _ in ()).throw(ValueError("steps must be ≥ 1")))


def test_call_carries_the_callers_context_vars():
    var = contextvars.ContextVar("event", default=None)  # what Gradio's progress bars read
    var.set("event-123")
    assert torch_thread.call(var.get) == "event-123"


def test_a_heavy_generator_runs_step_by_step_there_and_closes_there():
    log = []

    def chain(n):
        try:
            for i in range(n):
                log.append((i, where()))
                yield i
        finally:
            log.append(("closed", where()))

    wrapped = torch_thread.heavy(chain)
    assert list(wrapped(3)) == [0, 1, 2]
    assert {w for _, w in log} == {torch_thread.NAME}
    log.clear()
    gen = wrapped(1000)
    assert next(gen) == 0 and next(gen) == 1
    gen.close()  # Stop: the inner generator ends at once, on the torch thread
    assert log[-1] == ("closed", torch_thread.NAME) and len(log) == 3


def test_heavy_keeps_the_signature_gradio_inspects():
    def handler(sampler: str, steps: int = 50):
        yield sampler

    import inspect

    wrapped = torch_thread.heavy(handler)
    assert inspect.isgeneratorfunction(wrapped) and wrapped.on_torch_thread
    assert list(inspect.signature(wrapped).parameters) == ["sampler", "steps"]
