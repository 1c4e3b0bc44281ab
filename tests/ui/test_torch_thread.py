"""Heavy handlers on one torch thread; every other thread single-threaded in OpenMP."""

from __future__ import annotations

import contextvars
import threading

import pytest

from diffusion_demo.ui import torch_thread
from diffusion_demo.ui.common import HEAVY, around

needs_libgomp = pytest.mark.skipif(torch_thread.openmp_threads() is None, reason="torch without libgomp")


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


@needs_libgomp
def test_other_threads_get_one_openmp_thread_the_torch_thread_keeps_its_own():
    import torch

    def own_threads() -> int | None:
        torch.get_num_threads()  # torch's per-thread set-up, which a chain would trigger
        return torch_thread.openmp_threads()

    before = torch_thread.call(own_threads)
    seen = {}

    def light():
        seen["default"] = own_threads()
        torch_thread.single_threaded()
        seen["light"] = torch_thread.openmp_threads()
        torch.randn(3, 256, 256).mul(2).sum()  # a parallel-sized op: must not start a pool

    t = threading.Thread(target=light)
    t.start()
    t.join()
    assert seen["light"] == 1
    torch_thread.call(torch_thread.single_threaded)  # a no-op there
    assert torch_thread.call(own_threads) == before == seen["default"]


def test_every_heavy_event_of_the_app_runs_on_the_torch_thread(tiny_denoiser):
    from diffusion_demo.ui import build_demo

    demo = build_demo(denoiser=tiny_denoiser)
    heavy = [fn for fn in demo.fns.values() if fn.concurrency_id == HEAVY["concurrency_id"]]
    assert len(heavy) >= 10  # the chains, comparison, round trip, 2D training, exports
    for block_fn in heavy:
        assert getattr(block_fn.fn, "on_torch_thread", False), block_fn.name
    reverse = next(fn for fn in heavy if fn.api_name == "reverse")
    assert reverse.types_generator
    # Gradio's queue polls every 1 ms when idle, every 5 ms while a heavy job runs (its
    # wake-ups slowed the chain by ~25%)
    queue = demo._queue
    assert (queue.sleep_when_free, queue.progress_update_sleep_when_free) == (0.001, 0.01)
    seen = []

    def job():
        seen.append((queue.sleep_when_free, queue.progress_update_sleep_when_free))
        yield 1

    assert list(around(job, demo._polling_slowly)()) == [1]
    assert seen == [(0.005, 0.05)]
    assert (queue.sleep_when_free, queue.progress_update_sleep_when_free) == (0.001, 0.01)
