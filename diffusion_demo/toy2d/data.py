"""The 2D data sets: built-in curves, typed custom points, and their forward diffusion.

Owns the data set names, the input checks of the 2D picture (dataset, seed, path count),
parsing and normalising the typed points (`parse_points`, `normalise_custom`), `ToySet`,
and q(x_t | x_0) on a cloud (`forward_cloud`) or step by step (`forward_paths`).

May import: config, checks, diffusion and libraries.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import torch

from ..checks import choice, in_range
from ..config import TOY2D_LIMITS as LIMITS
from ..diffusion.forward import check_t, fixed_noise, iterate_chain, q_sample
from ..diffusion.schedules import ScheduleSpec

BUILTIN_SETS: tuple[str, ...] = ("moons", "swiss_roll", "rings")
DATASETS: tuple[str, ...] = (*BUILTIN_SETS, "custom")
DATASET_LABELS = {
    "moons": "Two moons",
    "swiss_roll": "Swiss roll (2D)",
    "rings": "Rings (concentric circles)",
    "custom": "Custom points (type them)",
}


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
