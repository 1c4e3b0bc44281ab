"""The 2D picture: toy point clouds, their forward diffusion and a small MLP ε-denoiser.

Pure math, data and model (torch, numpy, diffusers): no UI and no plotting here.

In 2D the blog's picture is literal. The data set is a curve ("manifold") in the plane;
the forward process q(x_t | x_0) pushes each point off it until the cloud is N(0, I);
the learned reverse chain p_θ(x_{t-1} | x_t) walks fresh noise back onto the curve.
Only the reverse part has parameters: a small MLP ε_θ(x_t, t) trained with the simple
loss of Ho et al. 2020. diffusers' DDPMScheduler does all the schedule math (add_noise
for q, step for p_θ); this module only supplies data, the network and the bookkeeping.

Time convention as in forward.py: UI/API t in [0, T], t = 0 is the data, t = T is x_T;
diffusers' timestep index is t - 1.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import torch
from diffusers.models.embeddings import get_timestep_embedding
from safetensors.torch import load_file, save_file

from ..checks import choice, in_range
from ..config import ASSETS
from ..diffusion.forward import check_t, fixed_noise, iterate_chain, q_sample
from ..diffusion.sampling import ReverseRequest, reverse_chain
from ..diffusion.schedules import ScheduleSpec, build_scheduler

BUILTIN_SETS: tuple[str, ...] = ("moons", "swiss_roll", "rings")
DATASETS: tuple[str, ...] = (*BUILTIN_SETS, "custom")
DATASET_LABELS = {
    "moons": "Two moons",
    "swiss_roll": "Swiss roll (2D)",
    "rings": "Rings (concentric circles)",
    "custom": "Custom points (type them)",
}
WEIGHTS_DIR = ASSETS / "toy2d"


@dataclass(frozen=True)
class Toy2DLimits:
    # Points in every cloud shown: enough to see the shape, few enough that a scatter draws
    # in tens of ms and the 1000-step reverse chain of the MLP takes ~1-3 s (once: cached).
    n_points: int = 1000
    # A custom set is typed by hand: a few to a few dozen points is the idea. 200 keeps the
    # text box readable and the nearest-neighbour checks instant; more is a data set to upload.
    max_custom_points: int = 200
    # Refuse absurd pastes before parsing them (200 lines of "x, y" fit in ~6000 characters).
    max_custom_chars: int = 10_000
    # Custom coordinates are rescaled to unit spread; beyond this the rescaling would lose
    # the small points to float32 rounding (and squares would overflow).
    max_abs_coord: float = 1e6
    # Trajectories drawn at once: more than ~a dozen lines are a tangle, not a picture.
    max_paths: int = 12
    default_paths: int = 4
    # Same seed range as the rest of the app (torch.Generator.manual_seed, easy to type).
    max_seed: int = 2**32 - 1


@dataclass(frozen=True)
class Toy2DTrainConfig:
    # Seedable: the shipped weights were trained with this seed (and retraining the same
    # data on the same schedule gives the same model, so the app can memoise it).
    seed: int = 0
    # Optimiser steps: ~2.3 ms each on one CPU core, so ~12 s in all; 5000 steps give clean
    # moons / rings / swiss roll (2500 left stray points between the rings).
    steps: int = 5000
    # Points per step: a step is overhead-bound at this size, so 256 buys more steps per
    # second than 512 for the same final quality.
    batch_size: int = 256
    # AdamW, cosine-decayed from lr to lr_min: the small final steps settle the weights
    # (no EMA copy needed at this size).
    lr: float = 3e-3
    lr_min: float = 1e-5
    # MLP width and number of residual blocks: ~36k parameters, ~146 KB in float32; 128 wide
    # sampled no better in a quick trial and made each reverse step ~1.5-2x slower.
    hidden: int = 64
    blocks: int = 3
    # Sinusoidal t-embedding size (diffusers' get_timestep_embedding, as in the UNet).
    temb_dim: int = 32
    # Fourier features of x (sin/cos at a few frequencies) let a small MLP draw thin curves.
    fourier_freqs: int = 6
    # Hard wall-clock cap: on-demand training must finish within ~30 s even on a busy CPU;
    # when hit, training stops early and says so.
    max_seconds: float = 30.0
    # Built-in sets train on a fixed pool of fresh samples: a dense cover of the curve.
    pool: int = 20_000


# The schedule the shipped MLPs were trained with: the app's default (Ho et al. 2020,
# section 4: linear beta 1e-4 -> 0.02, T = 1000), so that out of the box the forward view
# (the panel) and the reverse view (the model) use the same schedule. With data of unit
# spread alpha_bar_T ~ 4e-5: x_T really is N(0, I). Samples are clean with it (see
# assets/toy2d/README.md); other schedules are trained on demand in the tab.
TRAINED_SPEC = ScheduleSpec("linear", 1e-4, 0.02, 1000)

LIMITS = Toy2DLimits()
TRAIN2D = Toy2DTrainConfig()


# --------------------------------------------------------------------------- data sets


def check_dataset(dataset: object) -> str:
    return choice(dataset, "dataset", DATASETS)


def check_seed(seed: object) -> int:
    return in_range(seed, "seed", 0, LIMITS.max_seed)


def check_paths(n_paths: object) -> int:
    return in_range(n_paths, "n_paths", 1, LIMITS.max_paths)


def _raw_moons(n: int, rng: np.random.Generator) -> np.ndarray:
    # Two interleaved half circles (the classic "make_moons" shape), slightly blurred.
    n_out = n // 2
    theta = rng.uniform(0, math.pi, n)
    outer = np.stack([np.cos(theta), np.sin(theta)], 1)
    inner = np.stack([1 - np.cos(theta), 0.5 - np.sin(theta)], 1)
    x = np.where((np.arange(n) < n_out)[:, None], outer, inner)
    return x + rng.normal(0, 0.05, x.shape)


def _raw_swiss_roll(n: int, rng: np.random.Generator) -> np.ndarray:
    # The swiss roll seen from its end: a spiral r = theta, theta in [1.5 pi, 4.5 pi].
    theta = 1.5 * math.pi * (1 + 2 * rng.uniform(0, 1, n))
    x = np.stack([theta * np.cos(theta), theta * np.sin(theta)], 1)
    return x + rng.normal(0, 0.25, x.shape)


def _raw_rings(n: int, rng: np.random.Generator) -> np.ndarray:
    # Two concentric circles, radii 1 and 0.5; points shared by length, so equally dense.
    radius = np.where(rng.uniform(0, 1, n) < 2 / 3, 1.0, 0.5)
    theta = rng.uniform(0, 2 * math.pi, n)
    x = radius[:, None] * np.stack([np.cos(theta), np.sin(theta)], 1)
    return x + rng.normal(0, 0.03, x.shape)


_RAW = {"moons": _raw_moons, "swiss_roll": _raw_swiss_roll, "rings": _raw_rings}


@cache
def _normalisation(dataset: str) -> tuple[np.ndarray, float]:
    # One fixed centre and scale per built-in set (from a large reference sample), so every
    # seed draws from the same distribution: zero mean, unit spread per axis on average,
    # the same scale as the N(0, I) the forward process ends at.
    ref = _RAW[dataset](50_000, np.random.default_rng(12345))
    return ref.mean(0), float(np.sqrt(ref.var(0).mean()))


def builtin_points(dataset: str, n: int, seed: int) -> np.ndarray:
    """n points of a built-in set (float32, shape (n, 2)), normalised to unit spread."""
    check_dataset(dataset)
    if dataset not in _RAW:
        raise ValueError(f"{dataset!r} is not a built-in set: expected one of {', '.join(BUILTIN_SETS)}.")
    centre, scale = _normalisation(dataset)
    x = _RAW[dataset](int(n), np.random.default_rng(int(seed)))
    return ((x - centre) / scale).astype(np.float32)


_SPLIT = re.compile(r"[,;\s]+")


def parse_points(text: object) -> np.ndarray:
    """Parse a typed custom set: one point per line, "x, y" (or "x y", "x; y", "(x, y)").

    Blank lines and "# comments" are skipped. Raises ValueError naming the problem (and
    the line) for an empty set, too many points, non-numeric text or NaN / inf.
    Returns the raw points, float64, shape (m, 2).
    """
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise ValueError(f"points must be text with one 'x, y' per line; got {type(text).__name__}.")
    if len(text) > LIMITS.max_custom_chars:
        raise ValueError(
            f"The custom set is too long ({len(text)} characters; at most {LIMITS.max_custom_chars}): "
            f"type at most {LIMITS.max_custom_points} points."
        )
    lines = [
        (i, raw, raw.split("#", 1)[0].strip().strip("()[]").strip())
        for i, raw in enumerate(text.splitlines(), 1)
    ]
    lines = [(i, raw, line) for i, raw, line in lines if line]
    if not lines:
        raise ValueError(
            "The custom set is empty: type at least one point, one 'x, y' per line (e.g. '0.5, -1')."
        )
    if len(lines) > LIMITS.max_custom_points:
        raise ValueError(
            f"Too many points in the custom set: {len(lines)} given, at most {LIMITS.max_custom_points} allowed."
        )
    rows = []
    for lineno, raw, line in lines:
        parts = [p for p in _SPLIT.split(line) if p]
        shown = raw.strip()
        if len(parts) != 2:
            raise ValueError(
                f"Line {lineno} ({shown!r}) of the custom set: expected two numbers 'x, y'; "
                f"got {len(parts)} value(s)."
            )
        try:
            x, y = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(
                f"Line {lineno} ({shown!r}) of the custom set is not numeric: expected two numbers like '0.5, -1.2'."
            ) from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(
                f"Line {lineno} ({shown!r}) of the custom set: coordinates must be finite numbers, not NaN or inf."
            )
        if max(abs(x), abs(y)) > LIMITS.max_abs_coord:
            raise ValueError(
                f"Line {lineno} ({shown!r}) of the custom set: coordinates must lie within "
                f"±{LIMITS.max_abs_coord:g}."
            )
        rows.append((x, y))
    return np.asarray(rows, dtype=np.float64)


def normalise_custom(raw: np.ndarray) -> np.ndarray:
    """Centre the typed points and scale them to unit spread (like images scaled to [-1, 1]).

    The forward process ends at N(0, I) whatever the data; data of about that size makes
    both ends of the picture comparable. A single point (or identical points) is only centred.
    """
    x = raw - raw.mean(0)
    scale = float(np.sqrt(x.var(0).mean()))
    return (x / scale if scale > 1e-12 else x).astype(np.float32)


@dataclass(frozen=True)
class ToySet:
    """A 2D data set: a built-in curve, or the user's typed points (normalised)."""

    name: str
    # Identifies the data for caching and trained models: the name, or a hash of the points.
    key: str
    # Custom sets: the points themselves; built-in sets: None (they are sampled on demand).
    fixed: np.ndarray | None = field(default=None, compare=False, repr=False)

    def sample(self, n: int, seed: int) -> np.ndarray:
        """n points x_0 ~ q(x_0), float32 (n, 2); a custom set is resampled with repetition."""
        if self.fixed is None:
            return builtin_points(self.name, n, seed)
        idx = np.random.default_rng(int(seed)).integers(0, len(self.fixed), int(n))
        return self.fixed[idx]

    def reference(self) -> np.ndarray:
        """The data set itself, for nearest-neighbour distances: the typed points, or a dense sample."""
        return self.fixed if self.fixed is not None else builtin_points(self.name, 20_000, 777)

    @property
    def is_custom(self) -> bool:
        return self.fixed is not None


def get_set(dataset: str, points: object = "") -> ToySet:
    """Validate the dataset name (and the custom points when it is 'custom')."""
    check_dataset(dataset)
    if dataset != "custom":
        return ToySet(dataset, dataset)
    fixed = normalise_custom(parse_points(points))
    digest = hashlib.sha1(np.round(fixed, 5).tobytes()).hexdigest()[:12]
    return ToySet("custom", f"custom-{digest}", fixed)


def forward_cloud(toy: ToySet, t: int, spec: ScheduleSpec, seed: int, n: int = LIMITS.n_points) -> np.ndarray:
    """x_t ~ q(x_t | x_0) for n data points: eq. 4 of Ho et al. 2020 via diffusers' add_noise.

    The same seed gives the same x_0 and the same ε for every t, so moving t slides each
    point along sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) ε instead of re-rolling it.
    """
    t = check_t(t, spec.T)
    x0 = torch.from_numpy(toy.sample(n, seed))
    eps = fixed_noise((n, 2), seed + 1)
    return q_sample(x0, t, spec, eps).numpy()


def forward_paths(toy: ToySet, spec: ScheduleSpec, seed: int, n: int, every: int = 1) -> np.ndarray:
    """Forward trajectories of n points, step by step (eq. 2 of Ho et al. 2020), shape (T+1, n, 2).

    This is the literal Markov chain (each step only sees the previous point): the point
    is pushed off the manifold one small Gaussian step at a time.
    """
    x0 = torch.from_numpy(toy.sample(n, seed))
    keep = list(range(0, spec.T + 1, every))
    chain = iterate_chain(x0, spec, keep, seed)
    return np.stack([chain[t].numpy() for t in keep])


def cloud_stats(x: np.ndarray) -> dict:
    """Mean and covariance of a point cloud (what N(0, I) would make [0, 0] and [[1, 0], [0, 1]])."""
    x = np.asarray(x, dtype=np.float64)
    return {"mean": x.mean(0).round(3).tolist(), "cov": np.cov(x.T, bias=True).round(3).tolist()}


def nn_distance(x: np.ndarray, data: np.ndarray) -> float:
    """Mean distance from each point of x to its nearest neighbour in data."""
    a, b = torch.tensor(np.asarray(x, np.float32)), torch.tensor(np.asarray(data, np.float32))  # copies
    best = torch.cat([torch.cdist(chunk, b).min(1).values for chunk in a.split(1024)])
    return float(best.mean())


# --------------------------------------------------------------------------- the ε-network


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
        return dict(build_scheduler(self.spec, "ddpm", clip_sample=False).config)

    @property
    def sample_shape(self) -> tuple[int]:
        return (2,)

    def eps(self, x_t: torch.Tensor, t: torch.Tensor | int) -> torch.Tensor:
        """ε_θ(x_t, t) at diffusers timestep t (0 … T-1)."""
        return self.net(x_t, torch.as_tensor(t, dtype=torch.long))


_UIDS = itertools.count(1)  # a model's identity for the caches (ids of dead objects get reused)


def describe_spec(spec: ScheduleSpec) -> str:
    return f"{spec.name} β {spec.beta_start:g}→{spec.beta_end:g}, T={spec.T}"


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainProgress:
    """One report from the training loop; the last one (done=True) carries the model."""

    step: int
    steps: int
    loss: float  # mean L_simple over the steps since the previous report
    seconds: float
    done: bool = False
    model: Toy2DModel | None = None


def lr_at(step: int, cfg: Toy2DTrainConfig) -> float:
    """Cosine decay from lr to lr_min over the run."""
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (
        1 + math.cos(math.pi * min(1.0, step / max(1, cfg.steps)))
    )


def train_iter(
    toy: ToySet,
    spec: ScheduleSpec = TRAINED_SPEC,
    cfg: Toy2DTrainConfig = TRAIN2D,
    report_every: int = 100,
) -> Iterator[TrainProgress]:
    """Train ε_θ for one data set and schedule; yield progress every `report_every` steps.

    Only the decoder learns: each step draws (x_0, t, ε), forms x_t with the scheduler's
    add_noise (eq. 4 of Ho et al. 2020) and regresses ε (L_simple, eq. 14 of Ho et al. 2020).
    Closing the generator stops training.
    """
    gen = torch.Generator().manual_seed(cfg.seed)
    pool = torch.from_numpy(toy.fixed if toy.is_custom else toy.sample(cfg.pool, cfg.seed + 1))
    scheduler = build_scheduler(spec, "ddpm", clip_sample=False)
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the global RNG (a server)
        torch.manual_seed(cfg.seed)
        net = EpsMLP(cfg.hidden, cfg.blocks, cfg.temb_dim, cfg.fourier_freqs)
    try:  # the fused AdamW step is ~1.5x faster here: the step is overhead-bound
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=0.0, fused=True)
    except (RuntimeError, TypeError):  # older torch / devices without a fused kernel
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=0.0)
    start, recent, step = time.perf_counter(), [], 0
    stopped_early = False
    net.train()
    for step in range(1, cfg.steps + 1):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        x0 = pool[torch.randint(0, len(pool), (cfg.batch_size,), generator=gen)]
        t = torch.randint(0, spec.T, (cfg.batch_size,), generator=gen)
        eps = torch.randn(x0.shape, generator=gen)
        x_t = scheduler.add_noise(x0, eps, t)  # eq. 4 of Ho et al. 2020
        loss = torch.nn.functional.mse_loss(net(x_t, t), eps)  # eq. 14 of Ho et al. 2020
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        recent.append(loss.item())
        elapsed = time.perf_counter() - start
        if elapsed > cfg.max_seconds:
            stopped_early = True
            break
        if step % report_every == 0 and step < cfg.steps:
            yield TrainProgress(step, cfg.steps, float(np.mean(recent)), elapsed)
            recent = []
    net.eval().requires_grad_(False)
    loss = float(np.mean(recent)) if recent else float("nan")
    info = {
        "dataset": toy.key,
        "steps": step,
        "final_loss": round(loss, 4),
        "seconds": round(time.perf_counter() - start, 1),
        "stopped_early": stopped_early,
        "config": asdict(cfg),
        "source": "trained in this session",
    }
    model = Toy2DModel(net, spec, toy.key, info)
    yield TrainProgress(step, cfg.steps, loss, info["seconds"], True, model)


def train(toy: ToySet, spec: ScheduleSpec = TRAINED_SPEC, cfg: Toy2DTrainConfig = TRAIN2D) -> Toy2DModel:
    """Train to the end and return the model."""
    *_, last = train_iter(toy, spec, cfg)
    return last.model  # type: ignore[return-value]


def loss_curve(toy: ToySet, spec: ScheduleSpec, cfg: Toy2DTrainConfig, report_every: int = 50) -> list[float]:
    """The running loss every `report_every` steps (for tests and the training note)."""
    return [p.loss for p in train_iter(toy, spec, cfg, report_every)]


# --------------------------------------------------------------------------- save / load


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
    from safetensors import safe_open

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


# --------------------------------------------------------------------------- models in use


class ModelStore:
    """Models trained in this process, keyed by (data set, schedule); the least recently used go.

    Training is deterministic (fixed seed), so a stored model is exactly what retraining
    would give: sharing it between users is memoisation, not shared state.
    """

    def __init__(self, capacity: int = 16):
        self.capacity = capacity
        self._models: OrderedDict[tuple[str, ScheduleSpec], Toy2DModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, spec: ScheduleSpec) -> Toy2DModel | None:
        with self._lock:
            model = self._models.get((key, spec))
            if model is not None:
                self._models.move_to_end((key, spec))
            return model

    def any_for(self, key: str) -> Toy2DModel | None:
        """The most recently used model for this data set, whatever its schedule."""
        with self._lock:
            for (k, _), model in reversed(self._models.items()):
                if k == key:
                    return model
            return None

    def put(self, model: Toy2DModel) -> None:
        with self._lock:
            self._models[(model.dataset_key, model.spec)] = model
            self._models.move_to_end((model.dataset_key, model.spec))
            while len(self._models) > self.capacity:
                self._models.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._models.clear()


STORE = ModelStore()


def model_for(toy: ToySet, spec: ScheduleSpec) -> Toy2DModel:
    """The ε-network the reverse view uses for this data set.

    Preference: one trained on exactly this schedule; else the shipped one (trained on
    TRAINED_SPEC); else any trained on another schedule. A custom set needs training first.
    """
    model = STORE.get(toy.key, spec)
    if model is None and not toy.is_custom:
        model = shipped(toy.name)
    if model is None:
        model = STORE.any_for(toy.key)
    if model is None:
        if toy.is_custom:
            raise ValueError(
                "No model for this custom set yet: train one first ('Train for this schedule', "
                "or the /toy2d_train endpoint; 10–30 s)."
            )
        raise ValueError(
            f"The shipped 2D model for {toy.name!r} is missing ({weights_path(toy.name).name}): "
            "train one first ('Train for this schedule', or the /toy2d_train endpoint; 10–30 s)."
        )
    return model


def model_t(t: int, panel_T: int, model: Toy2DModel) -> int:
    """The reverse chain's step matching the slider: the same fraction t / T of its own T."""
    return int(round(t * model.spec.T / panel_T))


# --------------------------------------------------------------------------- the reverse chain

_RUNS: OrderedDict[tuple[int, int, int], np.ndarray] = OrderedDict()
_RUNS_LOCK = threading.Lock()
# Reverse runs kept for the slider: each is (T+1) x n x 2 float32, 8 MB at T = 1000.
_RUNS_KEPT = 4


def reverse_run(model: Toy2DModel, seed: int, n: int = LIMITS.n_points) -> np.ndarray:
    """All states of the reverse chain from x_T ~ N(0, I) to x_0, shape (T+1, n, 2): [t] = x_t.

    Each step is diffusers' DDPMScheduler.step (eq. 11 of Ho et al. 2020) with ε_θ; the
    result is cached, so moving the t slider only indexes into it.
    """
    key = (model.uid, int(seed), int(n))
    with _RUNS_LOCK:
        if key in _RUNS:
            _RUNS.move_to_end(key)
            return _RUNS[key]
    T = model.spec.T
    states = np.empty((T + 1, n, 2), dtype=np.float32)
    request = ReverseRequest(sampler="ddpm", steps=T, num_samples=n, seed=int(seed))
    for record in reverse_chain(model, request):
        if record.index == 0:
            states[T] = record.x_t.numpy()
        states[record.t] = record.prev_sample.numpy()
    states.flags.writeable = False  # shared by every request that hits the cache
    with _RUNS_LOCK:
        _RUNS[key] = states
        while len(_RUNS) > _RUNS_KEPT:
            _RUNS.popitem(last=False)
    return states


def sample(model: Toy2DModel, n: int, seed: int) -> np.ndarray:
    """n samples x_0 from the trained reverse chain."""
    return reverse_run(model, seed, n)[0]


@torch.no_grad()
def eps_field(model: Toy2DModel, t: int, lim: float = 3.0, n: int = 17) -> tuple[np.ndarray, np.ndarray]:
    """The learned ε̂(x, t) on an n x n grid over [-lim, lim]^2 at UI step t in [1, T].

    Returns (grid points (n*n, 2), ε̂ (n*n, 2)). The score of q(x_t) is approximately
    -ε̂ / sqrt(1 - alpha_bar_t) (the ε <-> score link of Song et al. 2021): -ε̂ points back
    towards the data.
    """
    t = max(1, check_t(t, model.spec.T))
    axis = np.linspace(-lim, lim, n, dtype=np.float32)
    grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    eps = model.eps(torch.from_numpy(grid), t - 1)
    return grid, eps.numpy()


def quality(samples: np.ndarray, toy: ToySet) -> dict:
    """How well samples match the data: mean / covariance gaps and nearest-neighbour distance.

    nn_baseline is the same distance for fresh data points (for a custom set: 0), so
    nn_distance / nn_baseline near 1 means "on the manifold".
    """
    ref = toy.reference()
    fresh = toy.sample(len(samples), 4242)
    d_mean = float(np.linalg.norm(samples.mean(0) - ref.mean(0)))
    d_cov = float(np.linalg.norm(np.cov(samples.T, bias=True) - np.cov(ref.T, bias=True)))
    return {
        "mean_gap": round(d_mean, 4),
        "cov_gap": round(d_cov, 4),
        "nn_distance": round(nn_distance(samples, ref), 4),
        "nn_baseline": round(nn_distance(fresh, ref), 4) if not toy.is_custom else 0.0,
    }


# --------------------------------------------------------------------------- shipped weights


def main(argv: list[str] | None = None) -> None:
    """Train the shipped MLPs: python -m diffusion_demo.toy2d [--out assets/toy2d] [moons …]."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("datasets", nargs="*", default=list(BUILTIN_SETS), choices=list(BUILTIN_SETS))
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.datasets:
        toy = get_set(name)
        cpu = time.process_time()
        model = train(toy)
        model.info["cpu_seconds"] = round(time.process_time() - cpu, 1)
        model.info["quality"] = quality(sample(model, LIMITS.n_points, 0), toy)
        model.info["source"] = "python -m diffusion_demo.toy2d"
        save(model, args.out / f"{name}.safetensors")
        print(name, json.dumps({k: v for k, v in model.info.items() if k != "config"}))


if __name__ == "__main__":
    main()
