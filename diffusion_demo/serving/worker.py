"""The compiled UNet in a child process of its own, for the app's batching engine.

Owns both sides: `UNetWorker` (the app's handle: start the child, wait until ready, ε̂ over
a Unix socket, one call at a time; `WorkerGone` when the child is), `prestart` / `take` (app.py
starts it before its slow imports) and `run_child` (the child's life; its command is
cli/worker.py). Why a process: the comment below the imports.

May import: config, torch, models.unet and serving.compiled (torch and diffusers only where used).
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..config import COMPILE

if TYPE_CHECKING:  # torch and diffusers are imported where used: app.py imports this module
    import torch  # first, to start the worker before its own ~3 s of imports (see prestart)

    from ..models.unet import Denoiser


# Why a process: the compiled package (serving/compiled.py) holds Python's GIL for the whole of a
# call (measured: a Python thread runs at 8% of its speed while a 60-row call runs, against 96%
# beside the eager UNet). In the app's process that froze Gradio's event loop for most of every
# tick: with a class of thirty the pages' events started seconds late. In a child, the app's
# threads keep their GIL, the child runs at a lower priority (`COMPILE.build_nice`), so pages,
# /forward and frames get a core first, and a crash there cannot take the server down.
#
# The child loads the checkpoint, loads (or builds) the cached package, says "ready", then
# answers (x_t, t, y) with ε̂ over a Unix socket: ~1.5 MB for a 480-row tick, a few µs per 16 rows.

log = logging.getLogger("diffusion_demo")


class WorkerGone(RuntimeError):
    """The child process ended or answered nonsense; the engine falls back to the app's own UNet."""


KEY_ENV = "DIFFUSION_DEMO_WORKER_KEY"


def _prepare(path: str, dtype: str) -> tuple[Denoiser | None, tuple[str, str]]:
    """The child's start: load, compile (cached); (the denoiser or None, the message for the app)."""
    try:
        from ..models import unet  # deferred: the child imports what it needs only once started
        from . import compiled  # deferred: likewise (it imports diffusers)

        den = _load(unet, compiled, path, dtype)
        # a missing package is built by a grandchild, niced (COMPILE.build_nice); loading a
        # cached one runs at the normal priority: the second start is warm in seconds
        ready = compiled.ensure(den, child=True)
        if hasattr(os, "nice"):
            os.nice(COMPILE.serve_nice)  # from now on the app's own threads come first
        return den, ("ready", ready)
    except BaseException as exc:  # noqa: BLE001 (reported to the parent, which stays eager)
        return None, ("failed", f"{type(exc).__name__}: {exc}")


def _serve(conn: Connection, den: Denoiser) -> None:
    """The child, once ready: answer ε̂ requests until the pipe closes."""
    import torch  # deferred: app.py imports this module before torch (see prestart)

    while True:
        try:
            x, t, y = conn.recv()
        except (EOFError, OSError):  # the app is gone
            return
        try:
            with torch.inference_mode():
                labels = None if y is None else torch.from_numpy(y)
                eps = den.eps(torch.from_numpy(x), torch.from_numpy(t), labels)
            conn.send(("eps", eps.numpy()))
        except Exception as exc:  # noqa: BLE001 (this batch's error, for the engine to isolate)
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


def _load(unet, compiled, path: str, dtype: str) -> Denoiser:
    """The checkpoint at `dtype`; "auto" (a worker started before the app chose): the dtype
    whose package is already cached, else the app's own rule (a short timing)."""
    if dtype != "auto":
        return unet.load(path, autocast=dtype)
    den = unet.load(path, autocast="fp32")
    for name in ("bf16", "fp32"):
        den.autocast = unet._DTYPES[name]
        if compiled.package_path(den).is_file():
            return den
    den.autocast = unet.choose_autocast(den)
    return den


def run_child(address: str, path: str, dtype: str) -> None:
    """The child's whole life (`python -m diffusion_demo.cli.worker ADDRESS CHECKPOINT DTYPE`,
    started by UNetWorker): load, say so to the app at `address`, then serve."""
    # load first, connect after: the app accepts the connection only when its warm-up runs,
    # after its own imports, and the child's ~5 s of loading overlap them this way
    den, message = _prepare(path, dtype)
    conn = Client(address, family="AF_UNIX", authkey=bytes.fromhex(os.environ[KEY_ENV]))
    conn.send(message)
    if den is not None:
        _serve(conn, den)


class UNetWorker:
    """ε_θ from a child process: `eps(x_t, t, y)` like Denoiser.eps; one call at a time.

    The child is a fresh `python -m` (not multiprocessing's spawn, which would re-run app.py's
    module level, building a second app), connected back over a Unix socket with a random key.
    """

    def __init__(self, den: Denoiser | None = None, path: str | None = None, dtype: str = "auto") -> None:
        """For `den` (its checkpoint and dtype), or for the checkpoint at `path` ("auto": the
        child picks the dtype; app.py starts one so before Gradio is even imported)."""
        self.path = str(den.path) if den is not None else str(path)
        key = secrets.token_bytes(16)
        self._listener = Listener(family="AF_UNIX", authkey=key)
        env = dict(os.environ, **{KEY_ENV: key.hex()})
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        if den is not None:
            from .compiled import DTYPE_NAMES  # deferred: it imports diffusers

            dtype = DTYPE_NAMES.get(den.autocast, "fp32")
        cmd = [
            sys.executable,
            "-m",
            "diffusion_demo.cli.worker",  # cli/worker.py: run_child
            str(self._listener.address),
            self.path,
            dtype,
        ]
        self._proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL)  # noqa: S603
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        self.status = "starting"
        # the child connects once it has loaded; accepting on a thread of our own means
        # wait_ready can give up on a child that died (or hangs) before it connected
        self._connected = threading.Event()
        threading.Thread(target=self._accept, name="unet-worker-accept", daemon=True).start()

    def _accept(self) -> None:
        try:
            self._conn = self._listener.accept()
        except OSError:  # closed before the child connected
            return
        self._connected.set()

    def wait_ready(self, timeout: float = 900) -> str:
        """Block until the child has its compiled UNet; returns what it did. Raises WorkerGone."""
        deadline = time.monotonic() + timeout
        while not self._connected.wait(0.2):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                why = (
                    "ended" if self._proc.returncode is not None else f"was not ready within {timeout:.0f} s"
                )
                raise WorkerGone(f"the UNet worker {why} before it connected")
        if not self._conn.poll(max(0.0, deadline - time.monotonic())):
            self.close()
            raise WorkerGone(f"the UNet worker was not ready within {timeout:.0f} s")
        kind, message = self._recv()
        if kind != "ready":
            self.close()
            raise WorkerGone(message)
        self.status = "ready"
        return message

    def _recv(self) -> tuple[str, object]:
        try:
            return self._conn.recv()
        except (EOFError, OSError) as exc:
            self.status = "gone"
            raise WorkerGone(f"the UNet worker ended ({type(exc).__name__})") from None

    def eps(
        self, x_t: torch.Tensor, t: torch.Tensor, class_labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        import torch  # deferred: loaded long before the engine first calls this

        x = np.ascontiguousarray(x_t.detach().cpu().numpy(), dtype=np.float32)
        tt = np.ascontiguousarray(torch.as_tensor(t).expand(len(x)).cpu().numpy())
        y = None if class_labels is None else np.ascontiguousarray(class_labels.cpu().numpy())
        with self._lock:
            try:
                self._conn.send((x, tt, y))
            except (OSError, ValueError) as exc:
                self.status = "gone"
                raise WorkerGone(f"the UNet worker is gone ({type(exc).__name__})") from None
            kind, payload = self._recv()
        if kind == "error":
            raise RuntimeError(str(payload))
        return torch.from_numpy(payload)

    @property
    def alive(self) -> bool:
        return self.status != "gone" and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def close(self) -> None:
        self.status = "gone"
        if self._conn is not None:
            self._conn.close()
        self._listener.close()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()


_PRESTARTED: UNetWorker | None = None


def prestart(path: str) -> None:
    """Start the worker for the checkpoint at `path` now (app.py, before the slow imports of
    the page); `take` hands it to the app's warm-up. Nothing when compiling is switched off."""
    global _PRESTARTED
    if os.environ.get("DIFFUSION_DEMO_COMPILE", "auto").lower() in ("0", "false", "no"):
        return
    if Path(path, "unet", "diffusion_pytorch_model.safetensors").is_file():
        _PRESTARTED = UNetWorker(path=str(Path(path).resolve()))


def take(den: Denoiser) -> UNetWorker:
    """The prestarted worker if it serves `den`'s checkpoint, else a new one for `den`."""
    global _PRESTARTED
    early, _PRESTARTED = _PRESTARTED, None
    if early is not None and Path(early.path) == Path(den.path).resolve():
        return early
    if early is not None:
        early.close()
    return UNetWorker(den)
