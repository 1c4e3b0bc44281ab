"""The UNet compiled ahead of time (AOTInductor), kept on disk: warm in seconds from the second start.

Owns the package (one for every batch of COMPILE.min_rows … COMPILE.max_rows rows, a timestep
and a label per row), its cache key and folder, loading it with a probe against the eager
UNet, building it (`build`; in a niced child: python -m diffusion_demo.cli.compile), and when
the CLI and the benchmarks compile. Why and what it costs: the comment below the imports.

May import: config, torch, models.unet.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ..config import COMPILE, ROOT
from ..models.unet import Denoiser, compile_wanted

# One package serves every batch of COMPILE.min_rows … COMPILE.max_rows rows, with a timestep
# and a label per row (a dynamic batch dimension), so the engine's mixed batches (several users'
# chains at different steps) never recompile. Measured here (2 cores, bf16; benchmarks/rows.py):
# ~1.2–1.4 ms an image at any batch of 16 … 63 rows, as fast as torch.compile with one frozen
# graph per batch size, which it replaces; building it takes ~30 s, loading it ~1.5 s.
#
# The cache key is everything the compiled code depends on: torch's version, the CPU's
# instruction set, the checkpoint's weights, the compute dtype, the device, the wrapper's format.
# A package that does not load, or loads but disagrees with the eager UNet on a probe batch, is
# deleted and rebuilt; an unwritable cache folder means building in a temporary one (said once).

log = logging.getLogger("diffusion_demo")

DTYPE_NAMES = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}


class _Forward(torch.nn.Module):
    """What the package computes: ε_θ(x_t, t, y) in float32, a t (and y) per row."""

    def __init__(self, unet: torch.nn.Module, autocast: torch.dtype | None, conditional: bool) -> None:
        super().__init__()
        self.unet, self.autocast, self.conditional = unet, autocast, conditional

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        with torch.autocast(
            x.device.type, dtype=self.autocast or torch.float32, enabled=self.autocast is not None
        ):
            out = self.unet(x, t, class_labels=y) if self.conditional else self.unet(x, t)
            return out.sample.float()


def cpu_flags() -> str:
    """The CPU's instruction-set flags (the compiled kernels use AVX-512, AMX … when present)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cache_key(den: Denoiser) -> str:
    """A hash of everything the compiled code depends on."""
    weights = den.path / "unet" / "diffusion_pytorch_model.safetensors"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest() if weights.is_file() else str(den.path)
    parts = {
        "format": COMPILE.format_version,
        "torch": torch.__version__,
        "cpu": cpu_flags(),
        "weights": digest,
        "dtype": DTYPE_NAMES.get(den.autocast, str(den.autocast)),
        "device": den.device.type,
        "rows": [COMPILE.min_rows, COMPILE.max_rows],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def cache_dir() -> Path:
    """DIFFUSION_DEMO_CACHE, or .cache/compiled in the repository."""
    return Path(os.environ.get("DIFFUSION_DEMO_CACHE") or ROOT / COMPILE.folder)


def package_path(den: Denoiser, folder: Path | None = None) -> Path:
    return (folder or cache_dir()) / f"unet-{cache_key(den)}.pt2"


def _examples(den: Denoiser, rows: int = 16) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(rows, *den.sample_shape, generator=g).to(den.device)
    t = torch.randint(0, 1000, (rows,), generator=g).to(den.device)
    if den.null_label is None:
        return (x, t)
    return (x, t, torch.randint(0, den.null_label + 1, (rows,), generator=g).to(den.device))


def build(den: Denoiser, path: Path) -> float:
    """Export the UNet with a dynamic batch and compile it into `path` (atomically). Seconds taken."""
    start = time.perf_counter()
    module = _Forward(den.unet, den.autocast, den.null_label is not None).eval()
    examples = _examples(den)
    batch = torch.export.Dim("batch", min=COMPILE.min_rows, max=COMPILE.max_rows)
    exported = torch.export.export(module, examples, dynamic_shapes=tuple({0: batch} for _ in examples))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.pt2")
    try:
        torch._inductor.aoti_compile_and_package(
            exported, package_path=str(tmp), inductor_configs={"freezing": True}
        )
        os.replace(tmp, path)  # a reader never sees half a package
    finally:
        tmp.unlink(missing_ok=True)
    return time.perf_counter() - start


def load_checked(den: Denoiser, path: Path) -> Callable | None:
    """The package at `path`, if it loads and agrees with the eager UNet on a probe batch;
    else None (and a corrupt or stale file is deleted, to be rebuilt)."""
    if not path.is_file():
        return None
    try:
        runner = torch._inductor.aoti_load_package(str(path))
        examples = _examples(den, rows=4)
        with torch.inference_mode():
            got = runner(*examples)
            want = _Forward(den.unet, den.autocast, den.null_label is not None)(*examples)
        if not torch.allclose(got, want, atol=COMPILE.probe_atol):
            raise ValueError(f"disagrees with the eager UNet (max diff {(got - want).abs().max():.3f})")
        return runner
    except Exception as exc:  # any failure: a truncated file, another torch's package, wrong weights
        log.warning("compile cache: %s is unusable (%s); rebuilding it", path.name, exc)
        path.unlink(missing_ok=True)
        return None


def writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def build_in_child(den: Denoiser, path: Path) -> None:
    """Run `build` in a niced child process: the server's own threads keep the cores' priority."""
    cmd = [sys.executable, "-m", "diffusion_demo.cli.compile", str(den.path)]  # cli/compile.py
    cmd += [DTYPE_NAMES.get(den.autocast, "fp32"), str(path)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    nice = (lambda: os.nice(COMPILE.build_nice)) if hasattr(os, "nice") else None
    subprocess.run(cmd, check=True, env=env, preexec_fn=nice, capture_output=True, timeout=900)  # noqa: S603,PLW1509


def ensure(den: Denoiser, child: bool = True, call: Callable | None = None) -> str:
    """Make `den` run compiled: load the cached package, or build it (in a child process by
    default) and load it. Returns what happened, for the log; raises if nothing worked.

    `call(fn, *args)` runs the loading and its probe where the UNet runs (the app's torch
    thread: a first parallel op on any other thread would give it an OpenMP pool of its own,
    and with more pool threads than cores every op slows down; see serving.torch_thread)."""
    call = call or (lambda fn, *args: fn(*args))
    start = time.perf_counter()
    folder = cache_dir()
    if not writable(folder):
        folder = Path(tempfile.mkdtemp(prefix="diffusion-demo-compiled-"))
        log.warning("compile cache: %s is not writable; compiling into %s for this run", cache_dir(), folder)
    path = package_path(den, folder)
    runner = call(load_checked, den, path)
    how = "loaded from the cache"
    if runner is None:
        build_in_child(den, path) if child else call(build, den, path)
        runner = call(load_checked, den, path)
        how = "compiled (AOTInductor) and cached"
        if runner is None:
            raise RuntimeError("the freshly compiled package did not load")
    den.compiled = runner
    return f"{how} in {time.perf_counter() - start:.1f} s ({path})"


# Image-steps (samples × sampler steps) from which a command-line run builds the package
# first: building costs ~30 s here and the compiled UNet saves ~1 ms per image-step, so
# DDPM-1000 for 16 samples and anything longer pay for it ...
BUILD_FROM_IMAGE_STEPS = 16_000
# ... and from which it loads an already cached one (~1.5 s): DDIM-50 for 64 samples.
LOAD_FROM_IMAGE_STEPS = 2_000


def compile_if_worth_it(den: Denoiser, image_steps: int) -> str | None:
    """For the CLI: run compiled when the run is long enough to repay it, as the app does.
    Returns what happened (None: eager)."""
    if image_steps < LOAD_FROM_IMAGE_STEPS or not compile_wanted():
        return None
    if image_steps < BUILD_FROM_IMAGE_STEPS and not package_path(den).is_file():
        return None
    try:
        return ensure(den, child=False)
    except Exception:  # no compiler on this machine: stay eager, which is only slower
        den.compiled = None
        return None


def warm_seconds(den: Denoiser) -> float | None:
    """For the benchmarks: make `den` compiled in this process (load or build the cached
    package), as the app's worker does; the seconds it took, None when compiling is off."""
    if not compile_wanted():
        return None
    start = time.perf_counter()
    ensure(den, child=False)
    return time.perf_counter() - start
