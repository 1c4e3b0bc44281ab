"""Training the digit classifier that judges samples (the net itself: models/classifier.py).

It learns from the training part of `data.split()` only, so the held-out digits stay unseen
by both the diffusion model and its judge.
"""

from __future__ import annotations

import dataclasses
import time

import torch
from torch import nn
from tqdm import tqdm

from ..config import CLASSIFIER, ClassifierConfig
from ..models.classifier import DigitClassifier, DigitCNN, as_digits
from .data import split


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
