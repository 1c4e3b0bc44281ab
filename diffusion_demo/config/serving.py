"""Serving many users: the batching engine, the compiled-model cache, ZeroGPU's time requests.

May import: the standard library only (import the settings from diffusion_demo.config).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineSettings:
    """serving/engine.py: every chain's ε̂ comes from one shared UNet call per tick."""

    # Rows (images) in the batch at once. 30 students × 16 digits = 480 fit, so a whole
    # class starts at once (one 512-row tick is ~0.6–0.7 s here); above it chains wait their turn.
    max_rows: int = 512
    # A tick waits at most this long after the first request for the other running chains to
    # ask too (they make frames between steps); a chain that misses it takes the next tick.
    gather_s: float = 0.0
    # Heavy runs (waiting or running) from one client address: a script opening many sessions
    # cannot fill the batch; a classroom behind one NAT address still fits (30 + a margin).
    max_per_address: int = 40
    # Waiting users see their place in line this often (seconds).
    status_every_s: float = 0.5
    # The 2D tab's training (/toy2d_train, 10-26 s of both cores): one at a time per session,
    # and a few per address (a class behind one NAT address trains the same cached sets).
    train_per_session: int = 1
    train_per_address: int = 4


@dataclass(frozen=True)
class CompileSettings:
    """serving/compiled.py: the UNet compiled ahead of time (AOTInductor), cached on disk."""

    # One package serves batches of min_rows … max_rows (a dynamic batch dimension; diffusers'
    # up-sampling branches at 64 rows, so export proves 2 … 63). Larger batches go in chunks.
    min_rows: int = 2
    max_rows: int = 63
    # Where packages are kept, relative to the repository (DIFFUSION_DEMO_CACHE overrides);
    # deleting the folder is always safe: the next start rebuilds what it needs.
    folder: str = ".cache/compiled"
    # Bump when the wrapper or export options change: old packages are then never loaded.
    format_version: int = 1
    # A loaded package must agree with the eager UNet on a probe batch within this
    # (bf16 rounding differs between kernels by ~0.05); further off means stale or corrupt.
    probe_atol: float = 0.25
    # The first-start build runs in a child process at this niceness: requests keep the cores
    # (/forward p50 87 ms during a build at 10, 0.9 s beside the old in-process compile).
    build_nice: int = 5
    # The UNet worker process (serving/worker.py) serves at this niceness once built: pages,
    # /forward and frames (the app's process) get a core the moment they need one.
    serve_nice: int = 10


@dataclass(frozen=True)
class ZeroGPUSettings:
    """ui/zerogpu.py: the GPU time (`duration`) each model call asks ZeroGPU for.

    A call asks for start_s + per_call_s × (UNet calls it will make), within [min_s, max_s].
    ZeroGPU refuses a call that asks for more than the visitor's quota has left, and ends one
    that runs past it, so asking for what the run needs lets a class's short runs through.
    None of these is measured (no GPU was available to this project): benchmarks/gpu_check.py
    prints the figures to set them from.
    """

    # Forking the GPU worker, CUDA's start and copying the weights (~7 MB) to the GPU on a
    # call's first use; the Hub's own overhead is not published.
    start_s: float = 8.0
    # One UNet call on ≤ 32 rows of 28×28 in fp16 (launch-bound, ~200 kernels), its scheduler
    # step on the CPU and a share of the streamed frames: a generous guess.
    per_call_s: float = 0.02
    # per_call_s holds up to this many rows (16 guided samples are 32); larger calls count once
    # per this many rows, though a GPU runs a few hundred 28×28 rows in little more time.
    rows_per_call: int = 32
    # Below this a run is dominated by start-up jitter: never ask for less.
    min_s: int = 10
    # The most one call asks for: 2 minutes is all of an unauthenticated visitor's daily
    # quota and a free account has 3.5; a run that needs more is cut off with a message.
    max_s: int = 120


ENGINE = EngineSettings()
COMPILE = CompileSettings()
ZEROGPU = ZeroGPUSettings()
