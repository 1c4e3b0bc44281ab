"""Load the shipped checkpoint; choose device and dtype.

The app must start without it: `load()` raises CheckpointError with a message that says
what is wrong and how to rebuild it, and the UI shows that message in the reverse tabs.
"""

from __future__ import annotations

import gc
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers import DDPMScheduler, UNet2DModel

from ..config import MODEL, REVERSE, ROOT

REBUILD_HINT = "Rebuild it with `python -m diffusion_demo.training.train` (about an hour on 2 CPU cores)."


class CheckpointError(RuntimeError):
    """The checkpoint is missing or unreadable; the message is meant for the user."""


@dataclass
class Denoiser:
    """The trained ε-network and everything needed to run it."""

    unet: UNet2DModel
    # The training scheduler's config (T, betas): every sampler is built from it.
    scheduler_config: dict
    device: torch.device
    # Autocast dtype for the UNet (bf16 on CPUs with AMX, fp16 on CUDA) or None for fp32.
    autocast: torch.dtype | None
    path: Path
    # torch.compile'd UNet, set by warm_up_compile() once it has run for `compiled_batch`,
    # with inductor's weight freezing (constant-folded, oneDNN-prepacked weights): ~2x faster
    # than eager on these CPUs. Used only for that batch size and only under inference_mode
    # (what it was compiled for), so that no request ever waits for a recompilation.
    compiled: Any = None
    compiled_batch: int = REVERSE.max_samples

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        c, s = self.unet.config.in_channels, self.unet.config.sample_size
        return (c, s, s)

    @property
    def null_label(self) -> int | None:
        """The label that means "no condition" (the last class embedding), or None for an
        unconditional UNet."""
        n = self.unet.config.get("num_class_embeds")
        return int(n) - 1 if n else None

    @property
    def compiled_batches(self) -> tuple[int, ...]:
        """The batch sizes the compiled graph serves: a grid, and a guided grid ([x, x])."""
        return (
            (self.compiled_batch, 2 * self.compiled_batch)
            if self.null_label is not None
            else (self.compiled_batch,)
        )

    def eps(
        self, x_t: torch.Tensor, t: torch.Tensor | int, class_labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """ε_θ(x_t, t[, y]), returned in float32 whatever the compute dtype.

        A conditional UNet needs labels; without them it gets the null label (unconditional)."""
        if class_labels is None and self.null_label is not None:
            class_labels = torch.full((x_t.shape[0],), self.null_label)
        use_compiled = (
            self.compiled is not None
            and x_t.shape[0] in self.compiled_batches
            and torch.is_inference_mode_enabled()
        )
        x_t, t = x_t.to(self.device), torch.as_tensor(t)
        if class_labels is not None:
            class_labels = class_labels.to(self.device)
        if use_compiled:
            # The graph was compiled for inference tensors (what a chain's later steps pass);
            # a normal tensor (x_T, made outside inference_mode) would fail its guards and
            # trigger a recompilation in the middle of a request.
            x_t = x_t if x_t.is_inference() else x_t.clone()
            t = t if t.is_inference() else t.clone()
            if class_labels is not None and not class_labels.is_inference():
                class_labels = class_labels.clone()
        unet = self.compiled if use_compiled else self.unet
        with torch.autocast(
            self.device.type, dtype=self.autocast or torch.float32, enabled=self.autocast is not None
        ):
            out = unet(x_t, t) if class_labels is None else unet(x_t, t, class_labels=class_labels)
            return out.sample.float()

    def warm_up_compile(self) -> float:
        """torch.compile the UNet and run it once; afterwards eps() uses it. Returns seconds taken.

        Meant for a background thread at start-up: until it finishes, eps() runs eagerly.
        """
        import torch._inductor.config as inductor_config  # deferred: inductor is slow to import

        # diffusers' up-sampling calls its lru_cache'd torch-version check; dynamo traces
        # through the cache (a constant answer here) and would print two warnings about it
        warnings.filterwarnings(
            "ignore", message="Dynamo detected a call to a `functools.lru_cache`", category=UserWarning
        )
        start = time.perf_counter()
        compiled = torch.compile(self.unet, dynamic=False)
        with (
            # freezing: weights become constants of the graph (inference only), which lets
            # inductor prepack them for oneDNN; ~1.3x over plain compile here (29 vs 38 ms/step)
            inductor_config.patch(freezing=True),
            torch.inference_mode(),
            torch.autocast(
                self.device.type, dtype=self.autocast or torch.float32, enabled=self.autocast is not None
            ),
        ):
            for batch in self.compiled_batches:
                x = torch.randn(batch, *self.sample_shape, device=self.device)  # (an inference tensor)
                y = None if self.null_label is None else torch.full((batch,), self.null_label)
                for t in (999, 500):  # twice: the second call must not recompile
                    compiled(x, torch.tensor(t), class_labels=y).sample.float()
        self.compiled = compiled
        # The compiler leaves ~1M long-lived Python objects behind; a full garbage collection
        # walks them all (0.8 s here), and frames allocate enough to trigger one now and then
        # in the middle of a chain. Frozen objects are never scanned again (gen-2 pause 0.06 s).
        gc.freeze()
        return time.perf_counter() - start


# Image-steps (samples × sampler steps) from which a command-line run compiles the UNet first:
# the compile costs ~20-40 s here and the compiled graph saves ~1 ms per image-step (measured,
# README), so DDPM-1000 for 16 samples and anything longer pay for it.
COMPILE_FROM_IMAGE_STEPS = 16_000


def compile_if_worth_it(den: Denoiser, batch: int, image_steps: int) -> float | None:
    """For the CLI: compile for `batch` (and its guided double) when the run is long enough to
    repay the compile, as the app does at start-up. Returns the seconds taken (None: eager)."""
    if image_steps < COMPILE_FROM_IMAGE_STEPS or not compile_wanted():
        return None
    den.compiled_batch = batch
    try:
        return den.warm_up_compile()
    except Exception:  # no compiler on this machine: stay eager, which is only slower
        den.compiled = None
        return None


def compile_wanted() -> bool:
    """DIFFUSION_DEMO_COMPILE=1/0 forces it; by default compile on CPU and CUDA when dynamo works."""
    flag = os.environ.get("DIFFUSION_DEMO_COMPILE", "auto").lower()
    if flag in ("0", "false", "no"):
        return False
    return flag in ("1", "true", "yes") or hasattr(torch, "compile")


def pick_device() -> torch.device:
    """CUDA when present (and allowed), else the CPU, which stays the default and tested path."""
    if os.environ.get("DIFFUSION_DEMO_DEVICE"):
        return torch.device(os.environ["DIFFUSION_DEMO_DEVICE"])
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load(
    path: str | os.PathLike = MODEL.checkpoint, device: torch.device | None = None, autocast: str = "auto"
) -> Denoiser:
    """Load `path` (a DDPMPipeline folder) from safetensors only; never touches the network."""
    path = Path(path)
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    weights = path / "unet" / "diffusion_pytorch_model.safetensors"
    if not weights.is_file():
        raise CheckpointError(
            f"The model checkpoint is missing ({shown}/unet has no safetensors weights). {REBUILD_HINT}"
        )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        unet = UNet2DModel.from_pretrained(
            path / "unet", use_safetensors=True, local_files_only=True, low_cpu_mem_usage=False
        )
        scheduler_config = dict(
            DDPMScheduler.from_pretrained(path / "scheduler", local_files_only=True).config
        )
    except Exception as exc:  # any unreadable file: corrupt safetensors, bad JSON, wrong shapes
        raise CheckpointError(
            f"The model checkpoint at {shown} could not be read ({type(exc).__name__}). {REBUILD_HINT}"
        ) from None
    device = device or pick_device()
    unet = unet.to(device).eval().requires_grad_(False)
    den = Denoiser(unet, scheduler_config, device, None, path)
    den.autocast = choose_autocast(den) if autocast == "auto" else _DTYPES[autocast]
    return den


_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def choose_autocast(den: Denoiser, batch: int = 16, repeats: int = 5) -> torch.dtype | None:
    """Pick the faster compute dtype by a short timing (bf16 wins ~2x on CPUs with AVX-512 bf16
    or AMX; other machines, Spaces' included, may lack both, where bf16 can be slower).

    The two are timed alternately and each keeps its fastest call: on a shared machine a burst
    of load during one dtype's turn must not decide (timed one after the other, in sums of
    three calls, this picked fp32 once on the build machine, making the chain ~1.7x slower).
    """
    if den.device.type == "cuda":
        return torch.float16
    x = torch.randn(batch, *den.sample_shape)
    fastest = {None: float("inf"), torch.bfloat16: float("inf")}
    chosen = den.autocast
    try:
        with torch.inference_mode():
            for dtype in fastest:  # warm-up
                den.autocast = dtype
                den.eps(x, 500)
            for _ in range(repeats):
                for dtype in fastest:
                    den.autocast = dtype
                    start = time.perf_counter()
                    den.eps(x, 500)
                    fastest[dtype] = min(fastest[dtype], time.perf_counter() - start)
    finally:
        den.autocast = chosen  # timing only: the caller decides
    return torch.bfloat16 if fastest[torch.bfloat16] < 0.9 * fastest[None] else None  # bf16 must win clearly


def gpu(fn: Callable) -> Callable:
    """`spaces.GPU` on Hugging Face ZeroGPU when the `spaces` package is importable, else a no-op."""
    try:
        import spaces  # type: ignore[import-not-found]  # optional: only on Hugging Face Spaces
    except ImportError:
        return fn
    return spaces.GPU(fn)
