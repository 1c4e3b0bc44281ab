"""serving.torch_thread: heavy handlers on one torch thread, one OpenMP thread for the others.

The libgomp canary fails with a message naming the function of serving/torch_thread.py to
revisit when a torch upgrade changes what it relies on. The app's heavy events on the torch
thread are tested with ui.runtime (tests/ui/test_runtime.py)."""

from __future__ import annotations

import contextvars
import ctypes
import sys
import threading

import pytest
import torch

from diffusion_demo.serving import torch_thread

needs_libgomp = pytest.mark.skipif(torch_thread.openmp_threads() is None, reason="torch without libgomp")


def changed(name: str, function: str) -> str:
    """The canary's message: what changed and where to look."""
    return (
        f"torch {torch.__version__} changed {name}: revisit diffusion_demo/serving/torch_thread.py {function}"
    )


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


# --------------------------------------------------------------------------------------
# Canaries: torch's libgomp
# --------------------------------------------------------------------------------------


@pytest.mark.skipif(
    sys.platform != "linux", reason="torch's Linux wheels ship libgomp; others use their own OpenMP"
)
def test_torch_still_ships_and_uses_libgomp():
    assert "parallel backend: OpenMP" in torch.__config__.parallel_info(), changed(
        "its parallel backend (not OpenMP)", "single_threaded"
    )
    assert torch_thread.LIBGOMP.is_file(), changed(
        f"where libgomp lives ({torch_thread.LIBGOMP} is gone; single_threaded is a no-op)", "_libgomp"
    )
    lib = ctypes.CDLL(str(torch_thread.LIBGOMP))
    for symbol in ("omp_set_num_threads", "omp_get_max_threads"):
        assert hasattr(lib, symbol), changed(f"libgomp ({symbol} missing)", "single_threaded")
    assert torch_thread.openmp_threads() is not None, changed("libgomp (not loaded)", "_libgomp")


@needs_libgomp
def test_other_threads_get_one_openmp_thread_the_torch_thread_keeps_its_own():
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
