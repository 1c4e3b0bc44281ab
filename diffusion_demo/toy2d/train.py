"""Training ε_θ with the simple loss of Ho et al. 2020, and the script that makes the shipped weights.

Owns the training loop (`train_iter`, `train`, `loss_curve`, `lr_at`) and its progress
reports; the command that trains the shipped weights is cli/toy2d.py.

May import: config, diffusion, the other toy2d modules and libraries.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..config import TRAIN2D, Toy2DTrainConfig
from ..diffusion.schedules import ScheduleSpec, build_scheduler
from .data import ToySet
from .model import TRAINED_SPEC, EpsMLP, Toy2DModel


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
    scheduler = build_scheduler(spec, clip_sample=False)
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
