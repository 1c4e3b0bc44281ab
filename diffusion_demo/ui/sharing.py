"""The UNet's chains on the shared batching engine (serving/engine.py): whose run it is,
and where it stands in line.

Every CHAINS event's handler runs inside `engine_chain` (Blocks.wrap_events): a Chain is
opened for the event's session (one run per browser tab; a new one replaces the old) and
client address (capped), and `UIContext.require_model()` hands it to the handler as its
denoiser. It is closed when the handler returns, raises or is closed (Stop, a client gone).

May import: gradio, config, serving (engine) and ui.runtime.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import gradio as gr

from ..config import ENGINE
from ..serving.engine import Chain, Engine
from .runtime import current_request

# The Chain of the handler being run (set in the context its first step runs in, which is
# where handlers call require_model).
_current: ContextVar[Chain | None] = ContextVar("chain", default=None)


def current_chain() -> Chain | None:
    return _current.get()


def client_address(request: gr.Request | None) -> str:
    """The client's address: the first X-Forwarded-For hop behind a proxy (Spaces), else the peer."""
    if request is None:
        return ""
    forwarded = (getattr(request, "headers", None) or {}).get("x-forwarded-for", "")
    if forwarded:
        return forwarded.split(",")[0].strip()
    client = getattr(request, "client", None)
    return str(getattr(client, "host", "") or "")


@contextlib.contextmanager
def engine_chain(engine: Engine) -> Iterator[Chain]:
    """Open a Chain for the current event's session, make it the handler's model, close it after."""
    request = current_request()
    try:
        chain = engine.open(getattr(request, "session_hash", None) or None, client_address(request))
    except ValueError as exc:  # the per-address cap: a message for the user, the server serves on
        raise gr.Error(str(exc), print_exception=False) from None
    _current.set(chain)
    try:
        yield chain
    finally:
        _current.set(None)
        chain.close()


class InFlight:
    """How many runs of one costly handler each session and address have going; refuses more."""

    def __init__(self, what: str, per_session: int, per_address: int) -> None:
        self.what, self.per_session, self.per_address = what, per_session, per_address
        self._lock = threading.Lock()
        self._sessions: dict[str, int] = {}
        self._addresses: dict[str, int] = {}

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        request = current_request()
        session = getattr(request, "session_hash", None) or ""
        address = client_address(request)
        with self._lock:
            if session and self._sessions.get(session, 0) >= self.per_session:
                raise ValueError(f"{self.what} is already running for this page: wait for it to finish.")
            if address and self._addresses.get(address, 0) >= self.per_address:
                raise ValueError(
                    f"{self.what}: {self.per_address} are already running from your address; try again in a moment."
                )
            self._sessions[session] = self._sessions.get(session, 0) + 1
            self._addresses[address] = self._addresses.get(address, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._sessions[session] -= 1
                self._addresses[address] -= 1


def limited(fn, limit: InFlight):
    """fn (a generator handler) run inside one of `limit`'s slots."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        with limit.slot():
            yield from fn(*args, **kwargs)

    return wrapper


def wait_turn(denoiser: Any, rows: int) -> Iterator[str]:
    """Put a Chain in line for `rows` rows per step; while it waits, yield status lines
    ("2 runs ahead of yours"). Nothing for a plain denoiser (no engine: tests, the CLI)."""
    if not isinstance(denoiser, Chain):
        return
    denoiser.engine.enqueue(denoiser, min(rows, denoiser.engine.settings.max_rows))
    while not denoiser.wait_admitted(ENGINE.status_every_s):
        if denoiser.replaced:
            return
        ahead = denoiser.ahead()
        yield (
            f"The machine is busy with other users' runs: {ahead} run{'' if ahead == 1 else 's'} "
            "ahead of yours. Yours starts as soon as there is room."
        )
