"""One thread for the app's heavy torch work, and one OpenMP thread for every other thread.

libgomp gives each thread that runs a parallel op a pool of its own; with more pool threads
than cores it sleeps between parallel regions and every small kernel pays a wake-up (DDIM-50:
2.1 s instead of 1.4 s on 2 cores). Hence heavy handlers run on one long-lived thread (`call`,
`heavy`), and every other thread is limited to one OpenMP thread (`single_threaded`, torch's
own libgomp through ctypes: `_libgomp`; its canary is in tests/serving/test_torch_thread.py).

May import: torch and the standard library.
"""

from __future__ import annotations

import contextvars
import ctypes
import functools
import inspect
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import torch

NAME = "torch-worker"

_jobs: queue.SimpleQueue = queue.SimpleQueue()
_thread: threading.Thread | None = None
_start_lock = threading.Lock()


# The torch thread (and the OpenMP workers it starts, which inherit it) runs at this Linux
# niceness: the UNet takes whatever the cores have left, but Gradio's event loop, the light
# handlers (/forward) and the streams' frames get a core the moment they need one.
NICE = int(os.environ.get("DIFFUSION_DEMO_TORCH_NICE", "5"))


def _lower_priority() -> None:
    """Renice this thread only (Linux: a thread id given to setpriority is that thread)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at the normal priority
        pass


def _serve() -> None:
    _lower_priority()  # before this thread's first parallel op creates its OpenMP pool
    while True:
        future, context, fn, args, kwargs = _jobs.get()
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(context.run(fn, *args, **kwargs))
            except BaseException as exc:  # handed to the caller, whatever it is
                future.set_exception(exc)


def on_torch_thread() -> bool:
    return threading.current_thread().name == NAME


def call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs) on the torch thread (in the caller's contextvars, which Gradio's
    progress bars use); returns its result or raises its exception."""
    global _thread
    if on_torch_thread():
        return fn(*args, **kwargs)
    with _start_lock:
        if _thread is None:
            _thread = threading.Thread(target=_serve, name=NAME, daemon=True)
            _thread.start()
    future: Future = Future()
    _jobs.put((future, contextvars.copy_context(), fn, args, kwargs))
    return future.result()


_DONE = object()


def _next(iterator: Iterator) -> Any:
    return next(iterator, _DONE)


def heavy(fn: Callable) -> Callable:
    """Run a handler on the torch thread; a generator handler runs there step by step, so
    other jobs (a /forward between two steps of a chain) interleave, and closing it (Stop)
    closes the inner generator there too."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any):
            inner = call(fn, *args, **kwargs)
            try:
                while (item := call(_next, inner)) is not _DONE:
                    yield item
            finally:
                call(inner.close)

        gen_wrapper.on_torch_thread = True  # type: ignore[attr-defined]
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        return call(fn, *args, **kwargs)

    wrapper.on_torch_thread = True  # type: ignore[attr-defined]
    return wrapper


# --------------------------------------------------------------------------------------
# libgomp: one OpenMP thread for every thread but the torch thread
# --------------------------------------------------------------------------------------

LIBGOMP = Path(torch.__file__).parent / "lib" / "libgomp.so.1"
_local = threading.local()


def _libgomp() -> ctypes.CDLL | None:
    """torch's own libgomp (the wheel ships it), or None on builds without one."""
    try:
        return ctypes.CDLL(str(LIBGOMP)) if LIBGOMP.is_file() else None
    except OSError:
        return None


_gomp = _libgomp()


def single_threaded() -> None:
    """Limit the calling thread to one OpenMP thread (once per thread; not the torch thread).

    The limit is libgomp's per-thread setting (omp_set_num_threads), so the torch thread keeps
    both cores; torch.set_num_threads would change the process-wide default instead.
    """
    if _gomp is None or on_torch_thread() or getattr(_local, "single", False):
        return
    torch.get_num_threads()  # torch sets this thread's OpenMP size on first use: do it first
    _gomp.omp_set_num_threads(1)
    _local.single = True


def openmp_threads() -> int | None:
    """The calling thread's OpenMP team size (omp_get_max_threads), for tests and logs."""
    return None if _gomp is None else int(_gomp.omp_get_max_threads())
