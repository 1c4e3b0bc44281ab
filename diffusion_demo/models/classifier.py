"""A small CNN digit classifier: the project's judge of sample quality.

    python -m diffusion_demo classifier --out /tmp/clf   # train (< 1 min on 2 CPU cores)

It is trained (by training/classifier.py) on the training part of `data.split()` only, so the held-out digits stay
unseen by both the diffusion model and its judge. `evaluate.py` uses its softmax (is a
sample a confident digit? which one?) and its penultimate layer (a feature space for a
Fréchet distance, as FID uses Inception's). Loading reads two local files and never
touches the network.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..config import ASSETS, CLASSIFIER
from .unet import CheckpointError

DEFAULT_DIR = ASSETS / "classifier"
WEIGHTS_FILE = "model.safetensors"
META_FILE = "classifier.json"
REBUILD_HINT = "Rebuild it with `python -m diffusion_demo classifier` (under a minute on 2 CPU cores)."


class DigitCNN(nn.Module):
    """conv-bn-relu-pool x2, then a `features`-wide layer (the embedding), then 10 logits."""

    def __init__(
        self,
        widths: tuple[int, int] = CLASSIFIER.widths,
        features: int = CLASSIFIER.features,
        dropout: float = CLASSIFIER.dropout,
    ) -> None:
        super().__init__()
        w1, w2 = widths
        self.body = nn.Sequential(
            nn.Conv2d(1, w1, 3, padding=1),
            nn.BatchNorm2d(w1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 28 -> 14
            nn.Conv2d(w1, w2, 3, padding=1),
            nn.BatchNorm2d(w2),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 14 -> 7
            nn.Flatten(),
            nn.Linear(w2 * 7 * 7, features),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(features, 10))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate activations for digits in [0, 1], shape (N, 1, 28, 28)."""
        return self.body(x * 2 - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass(frozen=True)
class Prediction:
    """The classifier's view of a batch of digits."""

    probs: np.ndarray  # (N, 10) softmax probabilities
    features: np.ndarray  # (N, F) penultimate activations (float64, for covariances)

    @property
    def labels(self) -> np.ndarray:
        return self.probs.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        return self.probs.max(axis=1)


def as_digits(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(N, 28, 28) or (N, 1, 28, 28) digits in [0, 1] -> a float32 (N, 1, 28, 28) tensor."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).float()
    if t.ndim == 3:
        t = t.unsqueeze(1)
    if t.ndim != 4 or t.shape[1:] != (1, 28, 28):
        raise ValueError(
            f"Digits must have shape (N, 28, 28) or (N, 1, 28, 28) with values in [0, 1]; got {tuple(t.shape)}."
        )
    return t


class DigitClassifier:
    """A trained DigitCNN in eval mode, with its metadata (held-out accuracy, config)."""

    def __init__(self, net: DigitCNN, meta: dict) -> None:
        self.net = net.eval().requires_grad_(False)
        self.meta = meta

    @property
    def accuracy(self) -> float:
        return float(self.meta["heldout_accuracy"])

    def predict(self, x: np.ndarray | torch.Tensor, batch_size: int = 500) -> Prediction:
        """Softmax and penultimate features of digits in [0, 1] ((N, 28, 28) or (N, 1, 28, 28))."""
        digits = as_digits(x)
        probs, feats = [], []
        with torch.no_grad():
            for i in range(0, len(digits), batch_size):
                f = self.net.features(digits[i : i + batch_size])
                probs.append(torch.softmax(self.net.head(f), dim=1).numpy())
                feats.append(f.double().numpy())
        if not probs:
            return Prediction(np.zeros((0, 10)), np.zeros((0, self.net.head[-1].in_features)))
        return Prediction(np.concatenate(probs), np.concatenate(feats))


def save(clf: DigitClassifier, path: str | os.PathLike = DEFAULT_DIR) -> Path:
    """Write `model.safetensors` and `classifier.json` into the folder `path`."""
    from safetensors.torch import save_file  # deferred: only the classifier CLI writes weights

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in clf.net.state_dict().items()}
    save_file(state, str(path / WEIGHTS_FILE))
    (path / META_FILE).write_text(json.dumps(clf.meta, indent=2) + "\n")
    return path


def load(path: str | os.PathLike = DEFAULT_DIR) -> DigitClassifier:
    """Load a saved classifier from local files only; CheckpointError with a hint if absent."""
    from safetensors.torch import load_file  # deferred: loaded on first use, not at app start

    path = Path(path)
    weights, meta_file = path / WEIGHTS_FILE, path / META_FILE
    if not weights.is_file() or not meta_file.is_file():
        raise CheckpointError(
            f"The digit classifier is missing ({path} has no {WEIGHTS_FILE}). {REBUILD_HINT}"
        )
    try:
        meta = json.loads(meta_file.read_text())
        cfg = meta.get("config", {})
        net = DigitCNN(
            tuple(cfg.get("widths", CLASSIFIER.widths)),
            int(cfg.get("features", CLASSIFIER.features)),
            float(cfg.get("dropout", CLASSIFIER.dropout)),
        )
        net.load_state_dict(load_file(str(weights)))
    except Exception as exc:  # corrupt safetensors, bad JSON, wrong shapes
        raise CheckpointError(
            f"The digit classifier at {path} could not be read ({type(exc).__name__}). {REBUILD_HINT}"
        ) from None
    return DigitClassifier(net, meta)
