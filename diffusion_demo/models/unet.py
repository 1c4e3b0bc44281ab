"""Load the shipped checkpoint; choose device and dtype.

The app must start without it: `load()` raises CheckpointError with a message that says
what is wrong and how to rebuild it, and the UI shows that message in the reverse tabs.
Compiling and serving it is serving/'s (the `compiled` attribute holds what it built).

May import: config, torch and diffusers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers import DDPMScheduler, UNet2DModel

from ..config import COMPILE, MODEL, ROOT

REBUILD_HINT = "Rebuild it with `python -m diffusion_demo train` (about an hour on 2 CPU cores)."


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
    # The UNet compiled ahead of time (serving/compiled.py): a callable (x, t, y) taking a
    # timestep and label per row, for batches of COMPILE.min_rows … max_rows; set once it has
    # loaded. Used only under inference_mode; until then, and for gradients, the eager UNet.
    compiled: Any = None

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

    def eps(
        self, x_t: torch.Tensor, t: torch.Tensor | int, class_labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """ε_θ(x_t, t[, y]), returned in float32 whatever the compute dtype, on x_t's device
        (a chain on the CPU with the UNet on CUDA gets CPU tensors back).

        A conditional UNet needs labels; without them it gets the null label (unconditional)."""
        if class_labels is None and self.null_label is not None:
            class_labels = torch.full((x_t.shape[0],), self.null_label)
        back = x_t.device  # ε̂ goes back where x_t came from (the chains step on the CPU)
        x_t, t = x_t.to(self.device), torch.as_tensor(t).to(self.device)
        if class_labels is not None:
            class_labels = class_labels.to(self.device)
        if self.compiled is not None and torch.is_inference_mode_enabled():
            return self._eps_compiled(x_t, t, class_labels).to(back)
        with torch.autocast(
            self.device.type, dtype=self.autocast or torch.float32, enabled=self.autocast is not None
        ):
            out = self.unet(x_t, t) if class_labels is None else self.unet(x_t, t, class_labels=class_labels)
            return out.sample.float().to(back)

    def _eps_compiled(self, x_t: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The compiled package in chunks of at most COMPILE.max_rows rows (padded up to min_rows)."""
        n = x_t.shape[0]
        # contiguous: the package reads its inputs as dense; an expanded t (stride 0) would be
        # read past its one element, giving every row but the first a garbage timestep
        t = (t.expand(n) if t.dim() == 0 else t).contiguous()
        x_t = x_t.contiguous()
        labels = None if labels is None else labels.contiguous()
        chunks = -(-n // COMPILE.max_rows)
        size = -(-n // chunks)
        out = []
        for lo in range(0, n, size):
            args = [x_t[lo : lo + size], t[lo : lo + size]] + (
                [] if labels is None else [labels[lo : lo + size]]
            )
            rows = args[0].shape[0]
            if rows < COMPILE.min_rows:  # pad with copies of the first row
                args = [torch.cat([a, a[:1].expand(COMPILE.min_rows - rows, *a.shape[1:])]) for a in args]
            out.append(self.compiled(*args)[:rows])
        return torch.cat(out)


def compile_wanted() -> bool:
    """DIFFUSION_DEMO_COMPILE=1/0 forces it; by default compile on CPU and CUDA when dynamo works,
    never on ZeroGPU (no GPU outside a call to compile for; the cache is for a CPU)."""
    flag = os.environ.get("DIFFUSION_DEMO_COMPILE", "auto").lower()
    if flag in ("0", "false", "no") or on_zero_gpu():
        return False
    return flag in ("1", "true", "yes") or hasattr(torch, "compile")


class DeviceError(RuntimeError):
    """DIFFUSION_DEMO_DEVICE asks for what this machine cannot do; the message is one line."""


DEVICE_CHOICES = ("auto", "cpu", "cuda")


def pick_device() -> torch.device:
    """DIFFUSION_DEMO_DEVICE: `auto` (default: CUDA when torch finds a GPU, else the CPU, which
    stays the tested path), `cpu`, or `cuda` / `cuda:N` (a DeviceError when there is none)."""
    flag = os.environ.get("DIFFUSION_DEMO_DEVICE", "").strip().lower() or "auto"
    kind, _, index = flag.partition(":")
    if kind not in DEVICE_CHOICES or (index and (kind != "cuda" or not index.isdigit())):
        raise DeviceError(
            f"DIFFUSION_DEMO_DEVICE={flag!r} is not a device: expected one of {', '.join(DEVICE_CHOICES)}."
        )
    if kind == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise DeviceError(
            f"DIFFUSION_DEMO_DEVICE={flag} but torch {torch.__version__} ({build}) finds no CUDA GPU "
            "here: unset it or set it to cpu."
        )
    return torch.device(flag)


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


def on_zero_gpu() -> bool:
    """Whether this is a Hugging Face ZeroGPU Space: SPACES_ZERO_GPU=true, read the way the
    `spaces` package reads it (its config.py), not whether `spaces` imports (it is installed
    everywhere from requirements.txt). There CUDA exists only inside a `spaces.GPU` call, so
    chains cannot share one engine thread's network calls and nothing is compiled."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


# The attribute `gpu` sets on a handler: ui.zerogpu wraps every such event handler with
# `spaces.GPU` when the page is built (on ZeroGPU only).
GPU_MARK = "needs_gpu"


def gpu(fn: Callable) -> Callable:
    """Mark `fn` as a handler that runs the model: on ZeroGPU the app wraps it with `spaces.GPU`
    (ui.zerogpu, at start-up, with a duration fitted to each call); elsewhere it stays itself.
    The mark survives functools.wraps (it copies __dict__), so later wrappers keep it."""
    setattr(fn, GPU_MARK, True)
    return fn
