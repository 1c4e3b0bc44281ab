"""How well samples match a 2D data set: mean / covariance gaps and nearest-neighbour distance.

May import: the other toy2d modules and libraries.
"""

from __future__ import annotations

import numpy as np
import torch

from .data import ToySet


def nn_distance(x: np.ndarray, data: np.ndarray) -> float:
    """Mean distance from each point of x to its nearest neighbour in data."""
    a, b = torch.tensor(np.asarray(x, np.float32)), torch.tensor(np.asarray(data, np.float32))  # copies
    best = torch.cat([torch.cdist(chunk, b).min(1).values for chunk in a.split(1024)])
    return float(best.mean())


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
