"""The ε-network ε_θ(x_t, t) for 2D points, the trained model with its schedule, and its file.

Owns `EpsMLP`, `Toy2DModel`, the schedule the shipped MLPs were trained on (`TRAINED_SPEC`),
safetensors save / load (the schedule and the training record in its metadata) and the
shipped weights under assets/toy2d.

May import: config, diffusion and libraries.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import torch
from diffusers.models.embeddings import get_timestep_embedding
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ..config import ASSETS, TOY2D_TRAINED_SCHEDULE, TRAIN2D
from ..diffusion.schedules import ScheduleSpec, build_scheduler
from .data import BUILTIN_SETS

WEIGHTS_DIR = ASSETS / "toy2d"
# The schedule the shipped MLPs were trained with: the app's default (see config.py).
TRAINED_SPEC = ScheduleSpec(*TOY2D_TRAINED_SCHEDULE)


class EpsMLP(torch.nn.Module):
    """ε_θ(x_t, t) for 2D points: [x, Fourier(x), emb(t)] -> residual MLP -> ε̂ (2 numbers)."""

    def __init__(
        self,
        hidden: int = TRAIN2D.hidden,
        blocks: int = TRAIN2D.blocks,
        temb_dim: int = TRAIN2D.temb_dim,
        fourier_freqs: int = TRAIN2D.fourier_freqs,
    ):
        super().__init__()
        self.temb_dim, self.fourier_freqs = temb_dim, fourier_freqs
        # frequencies 1, 2, 4, … (in units of the data's unit spread)
        self.register_buffer(
            "freqs", 2.0 ** torch.arange(fourier_freqs, dtype=torch.float32), persistent=False
        )
        self.inp = torch.nn.Linear(2 + 4 * fourier_freqs, hidden)
        self.blocks = torch.nn.ModuleList(
            torch.nn.Sequential(
                torch.nn.LayerNorm(hidden),
                torch.nn.Linear(hidden, hidden),
                torch.nn.SiLU(),
                torch.nn.Linear(hidden, hidden),
            )
            for _ in range(blocks)
        )
        # one projection of emb(t) per block (added to its input): the t-conditioning
        self.temb = torch.nn.ModuleList(torch.nn.Linear(temb_dim, hidden) for _ in range(blocks + 1))
        self.out = torch.nn.Sequential(
            torch.nn.LayerNorm(hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, 2)
        )

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        # A single t (the whole cloud at one step, as when sampling) is embedded and projected
        # once and broadcast over the points, instead of once per point.
        t = t.reshape(-1)
        # sinusoidal embedding of the timestep, as in the DDPM UNet (Ho et al. 2020, appendix B)
        temb = get_timestep_embedding(t, self.temb_dim, flip_sin_to_cos=True, downscale_freq_shift=0)
        angles = (x[:, :, None] * self.freqs).flatten(1)
        h = self.inp(torch.cat([x, angles.sin(), angles.cos()], 1)) + self.temb[0](temb)
        for block, tproj in zip(self.blocks, self.temb[1:], strict=True):
            h = h + block(h + tproj(temb))
        return self.out(h)


@dataclass
class Toy2DModel:
    """A trained ε-network with the schedule it was trained on (the reverse chain must use it)."""

    net: EpsMLP
    spec: ScheduleSpec
    dataset_key: str
    # Training record: steps, final loss, seconds, whether it stopped early, where it came from.
    info: dict = field(default_factory=dict)
    uid: int = field(default_factory=lambda: next(_UIDS))

    @property
    def scheduler_config(self) -> dict:
        # clip_sample=False: DDPMScheduler clips x̂_0 to [-1, 1] by default (right for images,
        # wrong for 2D data that reaches ±2.5).
        return dict(build_scheduler(self.spec, clip_sample=False).config)

    @property
    def sample_shape(self) -> tuple[int]:
        return (2,)

    def eps(self, x_t: torch.Tensor, t: torch.Tensor | int) -> torch.Tensor:
        """ε_θ(x_t, t) at diffusers timestep t (0 … T-1)."""
        return self.net(x_t, torch.as_tensor(t, dtype=torch.long))


_UIDS = itertools.count(1)  # a model's identity for the caches (ids of dead objects get reused)


def describe_spec(spec: ScheduleSpec) -> str:
    return f"{spec.name} β {spec.beta_start:g}→{spec.beta_end:g}, T={spec.T}"


def save(model: Toy2DModel, path: str | Path) -> None:
    """Write the weights as safetensors; the schedule and training record go in its metadata."""
    meta = {
        "spec": json.dumps(asdict(model.spec)),
        "dataset": model.dataset_key,
        "info": json.dumps(model.info),
    }
    save_file({k: v.contiguous() for k, v in model.net.state_dict().items()}, str(path), metadata=meta)


def load(path: str | Path) -> Toy2DModel:
    """Read a file written by save(); raises ValueError when it is missing or unreadable."""
    path = Path(path)
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        state = load_file(str(path))
        spec = ScheduleSpec(**json.loads(meta["spec"]))
        info = json.loads(meta.get("info", "{}"))
        cfg = info.get("config", {})
        net = EpsMLP(
            cfg.get("hidden", TRAIN2D.hidden),
            cfg.get("blocks", TRAIN2D.blocks),
            cfg.get("temb_dim", TRAIN2D.temb_dim),
            cfg.get("fourier_freqs", TRAIN2D.fourier_freqs),
        )
        net.load_state_dict(state)
    except Exception as exc:  # missing file, bad header, wrong shapes
        raise ValueError(f"The 2D model {path.name} could not be read ({type(exc).__name__}).") from None
    info["source"] = f"weights file {path.name}"
    return Toy2DModel(net.eval().requires_grad_(False), spec, meta.get("dataset", path.stem), info)


def weights_path(dataset: str) -> Path:
    return WEIGHTS_DIR / f"{dataset}.safetensors"


@cache
def shipped(dataset: str) -> Toy2DModel | None:
    """The shipped MLP for a built-in set, or None when its file is missing or unreadable."""
    path = weights_path(dataset)
    if dataset not in BUILTIN_SETS or not path.is_file():
        return None
    try:
        model = load(path)
    except ValueError:
        return None
    model.info["source"] = f"shipped weights ({path.name})"
    return model
