"""A small CNN digit classifier: the project's judge of sample quality.

    python -m diffusion_demo.models.classifier                  # train (< 1 min on 2 CPU cores), save assets/classifier/
    python -m diffusion_demo classifier --out /tmp/clf   # the same through the main CLI

It is trained on the training part of `data.split()` only, so the held-out digits stay
unseen by both the diffusion model and its judge. `evaluate.py` uses its softmax (is a
sample a confident digit? which one?) and its penultimate layer (a feature space for a
Fréchet distance, as FID uses Inception's). Loading reads two local files and never
touches the network.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..config import ASSETS
from .unet import CheckpointError

DEFAULT_DIR = ASSETS / "classifier"
WEIGHTS_FILE = "model.safetensors"
META_FILE = "classifier.json"
REBUILD_HINT = "Rebuild it with `python -m diffusion_demo classifier` (under a minute on 2 CPU cores)."


@dataclass(frozen=True)
class ClassifierConfig:
    # Seedable: the shipped classifier is reproducible from this seed.
    seed: int = 0
    # ~98% held-out accuracy is reached by then; more epochs only cost CPU time.
    epochs: int = 8
    # Small batches give many updates per epoch on only 4,500 digits.
    batch_size: int = 64
    # Adam's usual 1e-3 doubled: the net is small and batch-normed; cosine-decayed to 0.
    lr: float = 2e-3
    # Random shifts of up to 2 px: generated digits are not centred exactly like MNIST's.
    max_shift: int = 2
    # Conv widths at 28x28 and 14x14: 2 conv blocks are plenty for 28x28 digits.
    widths: tuple[int, int] = (32, 64)
    # Size of the penultimate layer, i.e. of the feature space the Fréchet distance uses:
    # small enough that 500 samples estimate its covariance well (500 > 128).
    features: int = 128
    # Dropout before the last layer keeps the softmax from saturating on the training set.
    dropout: float = 0.3


CLASSIFIER = ClassifierConfig()


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


def _shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each digit by a random whole number of pixels (zero fill)."""
    if max_shift <= 0:
        return x
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (max_shift,) * 4)
    dx, dy = torch.randint(0, 2 * max_shift + 1, (2, n), generator=gen)
    return torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])


def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    with torch.no_grad():
        return float((net(x).argmax(1) == y).float().mean())


def train(cfg: ClassifierConfig = CLASSIFIER, progress: bool = True) -> DigitClassifier:
    """Train on data.split()'s training digits; measure accuracy on its held-out digits."""
    from tqdm import tqdm

    from ..training.data import split

    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    (x_tr, y_tr), (x_ho, y_ho) = split()
    x_train, y_train = as_digits(x_tr), torch.from_numpy(y_tr)
    x_held, y_held = as_digits(x_ho), torch.from_numpy(y_ho)
    net = DigitCNN(cfg.widths, cfg.features, cfg.dropout)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    per_epoch = -(-len(x_train) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.epochs * per_epoch)
    start = time.perf_counter()
    bar = tqdm(total=cfg.epochs * per_epoch, desc="classifier", unit="step", disable=not progress)
    for _ in range(cfg.epochs):
        net.train()
        order = torch.randperm(len(x_train), generator=gen)
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i : i + cfg.batch_size]
            loss = nn.functional.cross_entropy(net(_shift(x_train[idx], cfg.max_shift, gen)), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", held_out=f"{accuracy(net, x_held, y_held):.3f}")
    bar.close()
    meta = {
        "heldout_accuracy": round(accuracy(net, x_held, y_held), 4),
        "train_accuracy": round(accuracy(net, x_train, y_train), 4),
        "train_digits": len(x_train),
        "heldout_digits": len(x_held),
        "train_time_s": round(time.perf_counter() - start, 1),
        "config": dataclasses.asdict(cfg),
    }
    return DigitClassifier(net, meta)


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


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = parser or argparse.ArgumentParser(
        prog="python -m diffusion_demo.models.classifier",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=DEFAULT_DIR, help=f"output folder (default {DEFAULT_DIR})")
    p.add_argument("--epochs", type=int, default=CLASSIFIER.epochs, help="passes over the training digits")
    p.add_argument("--seed", type=int, default=CLASSIFIER.seed)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return p


def run(args: argparse.Namespace) -> int:
    if args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1; got {args.epochs}.")
    if args.threads:
        torch.set_num_threads(args.threads)
    clf = train(dataclasses.replace(CLASSIFIER, epochs=args.epochs, seed=args.seed))
    save(clf, args.out)
    print(json.dumps({k: v for k, v in clf.meta.items() if k != "config"} | {"out": str(args.out)}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ValueError as exc:
        parser.error(str(exc))
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
