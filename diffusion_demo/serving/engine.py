"""Continuous batching: one engine owns the UNet; every running chain, whoever started it,
gets its ε̂ from one shared network call per tick.

A chain registers (`Engine.open`) and then runs exactly as it would alone, with the `Chain`
handle as its denoiser: `sampling.reverse_chain(chain, request)`. Owns the engine's thread,
the ticks (how one works: below the imports), admission and replacement (`Replaced`).

May import: config, torch, the standard library.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import torch

from ..config import ENGINE, EngineSettings

# How it works: a Chain's `eps` hands (x_t, t, y) to the engine and waits. At each tick the
# engine's thread
#
# 1. gathers the asks of the running chains (waiting up to `gather_s` for those still busy
#    making a frame; a late one takes the next tick),
# 2. stacks them into one batch with a timestep and a label per row (x_t of several users at
#    several steps: ε_θ is evaluated per row, so this is the same function),
# 3. calls the network once (the compiled package in chunks of up to 63 rows), and
# 4. hands each chain its rows; each then takes its own step with its own scheduler and
#    generator, so the images do not depend on who else is running (up to bf16 rounding,
#    which depends on the batch size).
#
# A chain that finishes, is stopped or whose client goes away leaves at once (closing its
# generator closes the handle); a new one joins at the next tick. When the batch is full
# (`max_rows`), new chains wait and are admitted round-robin over client addresses. One owner
# (a browser tab's session) has at most one chain: a new one replaces the old, whose next
# step raises `Replaced`. One address has at most `max_per_address` chains.

log = logging.getLogger("diffusion_demo")


class Replaced(ValueError):
    """The chain's owner started a newer run (or it was closed); a ValueError: its message is for the user."""


class Chain:
    """One registered chain: its place in the engine and, for the samplers, its denoiser."""

    def __init__(self, engine: Engine, owner: object, address: str, rows: int, serial: int) -> None:
        self.engine, self.owner, self.address, self.rows, self.serial = engine, owner, address, rows, serial
        self.state = "waiting"  # → "running" → "closed"
        self.replaced = False

    # --- the denoiser interface (reverse_chain, round_trip, inpaint_chain call these) ---
    def eps(self, x_t: torch.Tensor, t: torch.Tensor | int, class_labels: torch.Tensor | None = None):
        """ε_θ(x_t, t[, y]) from the engine's next tick (float32, on the CPU)."""
        return self.engine._ask(self, x_t, t, class_labels)

    def __getattr__(self, name: str) -> Any:  # scheduler_config, sample_shape, null_label, …
        return getattr(self.engine.denoiser, name)

    # --- its place in line ---
    def ahead(self) -> int:
        """How many waiting chains will be admitted before this one (0 once running)."""
        return self.engine._ahead(self)

    def wait_admitted(self, timeout: float) -> bool:
        """Block until this chain runs (True) or `timeout` passes (False)."""
        return self.engine._wait_admitted(self, timeout)

    def close(self) -> None:
        self.engine._close(self)

    def __enter__(self) -> Chain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Ask:
    """One chain's request for ε̂ at the next tick."""

    __slots__ = ("chain", "x", "t", "labels", "future")

    def __init__(self, chain: Chain, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None) -> None:
        self.chain, self.x, self.t, self.labels, self.future = chain, x, t, labels, Future()


class Engine:
    """Owns the denoiser; serves the ε̂ of every registered chain in shared batches.

    `call(fn, *args)` runs one network call where the UNet may run (the app passes
    serving.torch_thread.call: the one thread with the cores' OpenMP pool); default: here.
    """

    def __init__(
        self, denoiser: Any, settings: EngineSettings = ENGINE, call: Callable | None = None
    ) -> None:
        self.denoiser, self.settings = denoiser, settings
        self._call = call or (lambda fn, *args: fn(*args))
        self._cv = threading.Condition()
        self._running: list[Chain] = []
        self._waiting: list[Chain] = []
        self._new: list[Chain] = []  # opened, not yet in line (joins at its first ask)
        self._asks: dict[Chain, _Ask] = {}
        self._owners: dict[object, Chain] = {}
        self._turns: dict[str, int] = {}  # address → when it was last admitted (round-robin)
        self._serial = itertools.count()
        self._thread: threading.Thread | None = None
        # Where the network runs once warm: an object with eps(x, t, y) and `alive` (the app's
        # serving.worker.UNetWorker, a child process); None: the denoiser itself, here.
        self.network: Any = None
        self.ticks = 0  # network calls made (for tests and benchmarks)
        self.rows = 0  # rows served

    # ------------------------------------------------------------------ registering
    def open(self, owner: object = None, address: str = "", rows: int | None = None) -> Chain:
        """Register a chain. It joins the line with `rows` rows per network call (2n for a
        guided grid), or, when None, at its first ask with that ask's rows.

        Raises ValueError when `address` already has `max_per_address` chains."""
        with self._cv:
            old = self._owners.get(owner) if owner is not None else None
            mine = [c for c in self._chains() if c.address == address and c is not old]
            if address and len(mine) >= self.settings.max_per_address:
                raise ValueError(
                    f"Too many runs from one address at once ({len(mine)}; the limit is "
                    f"{self.settings.max_per_address}): wait for one to finish, then try again."
                )
            if old is not None:  # a new Generate from the same tab replaces its running one
                old.replaced = True
                self._remove(old)
            chain = Chain(self, owner, address, 0, next(self._serial))
            self._new.append(chain)
            if owner is not None:
                self._owners[owner] = chain
            self._cv.notify_all()
        if rows is not None:
            self.enqueue(chain, rows)
        return chain

    def enqueue(self, chain: Chain, rows: int) -> None:
        """Put a new chain in line for `rows` rows per call (admitted at once if they fit)."""
        if not 1 <= rows <= self.settings.max_rows:
            raise ValueError(f"A chain may use 1 … {self.settings.max_rows} rows per step; got {rows}.")
        with self._cv:
            if chain in self._new:
                self._new.remove(chain)
                chain.rows = rows
                self._waiting.append(chain)
                self._admit()
                self._cv.notify_all()

    def _chains(self) -> list[Chain]:
        return self._new + self._running + self._waiting

    def _used(self) -> int:
        return sum(c.rows for c in self._running)

    def _line(self) -> list[Chain]:
        """The waiting chains in the order they will be admitted: round-robin over addresses
        (the address admitted longest ago goes next), first come first served within one."""
        turns, line, waiting = dict(self._turns), [], list(self._waiting)
        clock = max(turns.values(), default=0)
        while waiting:
            nxt = min(waiting, key=lambda c: (turns.get(c.address, -1), c.serial))
            waiting.remove(nxt)
            line.append(nxt)
            clock += 1
            turns[nxt.address] = clock
        return line

    def _admit(self) -> None:
        """Admit waiting chains, in line order, while they fit (one always runs)."""
        for nxt in self._line():
            if self._running and self._used() + nxt.rows > self.settings.max_rows:
                return
            self._waiting.remove(nxt)
            self._running.append(nxt)
            nxt.state = "running"
            self._turns[nxt.address] = next(self._serial)

    def _ahead(self, chain: Chain) -> int:
        with self._cv:
            return self._line().index(chain) if chain.state == "waiting" else 0

    def _wait_admitted(self, chain: Chain, timeout: float) -> bool:
        with self._cv:
            self._cv.wait_for(lambda: chain.state != "waiting" or chain.replaced, timeout)
            return chain.state == "running"

    def _remove(self, chain: Chain) -> None:
        """Take a chain out of every list (under the lock); its pending ask gets Replaced/closed."""
        for group in (self._running, self._waiting, self._new):
            if chain in group:
                group.remove(chain)
        ask = self._asks.pop(chain, None)
        if ask is not None and not ask.future.done():
            why = "this run was replaced by a newer one" if chain.replaced else "this run was closed"
            ask.future.set_exception(Replaced(why))
        if self._owners.get(chain.owner) is chain:
            del self._owners[chain.owner]
        chain.state = "closed"

    def _close(self, chain: Chain) -> None:
        with self._cv:
            if chain.state != "closed":
                self._remove(chain)
                self._admit()
                self._cv.notify_all()

    def status(self) -> dict:
        with self._cv:
            return {
                "running": len(self._running),
                "waiting": len(self._waiting),
                "rows": self._used(),
                "ticks": self.ticks,
            }

    # ------------------------------------------------------------------ asking
    def _ask(self, chain: Chain, x: torch.Tensor, t: torch.Tensor | int, labels: torch.Tensor | None):
        shape = tuple(self.denoiser.sample_shape)
        if x.dim() != 4 or tuple(x.shape[1:]) != shape:
            raise ValueError(f"x_t must have shape (N, {', '.join(map(str, shape))}); got {tuple(x.shape)}.")
        if not torch.isfinite(x).all():  # a bad value slipped through: this chain stops, not the batch
            raise ValueError("x_t contains NaN or infinity: this run stops (the others continue).")
        t = torch.as_tensor(t)
        ask = _Ask(chain, x.detach().cpu(), t.cpu(), None if labels is None else labels.cpu())
        if chain.state == "waiting" and chain in self._new:
            self.enqueue(chain, min(len(x), self.settings.max_rows))
        with self._cv:
            self._cv.wait_for(lambda: chain.state != "waiting" or chain.replaced)
            if chain.state != "running":
                raise Replaced(
                    "this run was replaced by a newer one" if chain.replaced else "this run was closed"
                )
            self._asks[chain] = ask
            self._start()
            self._cv.notify_all()
        return ask.future.result()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="engine", daemon=True)
            self._thread.start()

    # ------------------------------------------------------------------ the ticks
    def _loop(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: bool(self._asks))
                deadline = time.monotonic() + self.settings.gather_s
                while len(self._asks) < len(self._running) and time.monotonic() < deadline:
                    self._cv.wait(deadline - time.monotonic())
                asks = list(self._asks.values())
                self._asks.clear()
            try:
                # the app's own UNet runs where `call` says (its torch thread); a worker process
                # needs no thread of ours, so a 2D training there does not hold up the ticks
                self._tick(asks) if self.network is not None else self._call(self._tick, asks)
            except BaseException as exc:  # noqa: BLE001 (never let the engine die)
                for ask in asks:
                    if not ask.future.done():
                        ask.future.set_exception(exc)

    def _tick(self, asks: list[_Ask]) -> None:
        """One network call for all asks (on the UNet's thread); a failing batch is retried ask
        by ask, so only the chain that caused it gets the error."""
        try:
            results = self._forward(asks)
        except Exception:  # noqa: BLE001
            if len(asks) == 1:
                raise
            for ask in asks:
                try:
                    ask.future.set_result(self._forward([ask])[0])
                except Exception as exc:  # noqa: BLE001 (handed to its chain)
                    ask.future.set_exception(exc)
            return
        for ask, eps in zip(asks, results, strict=True):
            ask.future.set_result(eps)

    def _network_eps(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """ε̂ from the worker when there is one (falling back to the denoiser here for good if
        the worker has died), else from the denoiser."""
        network = self.network
        if network is not None:
            try:
                return network.eps(x, t, labels)
            except Exception:
                if getattr(network, "alive", True):
                    raise  # this batch's error: _tick isolates the chain that caused it
                log.warning("the UNet worker is gone; the engine runs the UNet in the app from now on")
                self.network = None
        with torch.inference_mode():
            return self.denoiser.eps(x, t, labels).cpu()

    def _forward(self, asks: list[_Ask]) -> list[torch.Tensor]:
        """Stack the asks (a timestep and a label per row), call the UNet once, split."""
        sizes = [len(a.x) for a in asks]
        x = torch.cat([a.x for a in asks])
        t = torch.cat(
            [a.t.reshape(-1).expand(n) if a.t.numel() == 1 else a.t for a, n in zip(asks, sizes, strict=True)]
        )
        null = self.denoiser.null_label
        labels = None
        if null is not None:
            labels = torch.cat(
                [
                    torch.full((n,), null) if a.labels is None else a.labels
                    for a, n in zip(asks, sizes, strict=True)
                ]
            )
        eps = self._network_eps(x, t, labels)
        self.ticks += 1
        self.rows += len(x)
        return list(eps.split(sizes))
