"""Train the digits DDPM: a diffusers UNet2DModel with ε-prediction (Ho et al. 2020).

    python -m diffusion_demo.train --out assets/ddpm-digits          # the shipped recipe
    python -m diffusion_demo.train --steps 2 --out /tmp/tiny --tiny  # a smoke test

Only the decoder is trained: the forward process q(x_t | x_0) is fixed, so each
step draws (x_0, t, ε), forms x_t with the scheduler's add_noise and regresses ε.
Resumable: a training-state file is written next to the output every few hundred
steps, and a rerun with the same --out picks it up.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from diffusers import DDPMScheduler, UNet2DModel

from . import data
from .config import MODEL, TRAIN, TrainConfig

STATE_FILE = "training_state.pt"


def build_unet(cfg: TrainConfig = TRAIN, tiny: bool = False) -> UNet2DModel:
    """The UNet of the shipped model (or a tiny one of the same shape, for tests)."""
    widths = (8, 16, 16) if tiny else cfg.block_out_channels
    return UNet2DModel(
        sample_size=MODEL.sample_size,
        in_channels=MODEL.channels,
        out_channels=MODEL.channels,
        block_out_channels=widths,
        down_block_types=cfg.down_block_types,
        up_block_types=cfg.up_block_types,
        layers_per_block=cfg.layers_per_block,
        norm_num_groups=4 if tiny else cfg.norm_num_groups,
        attention_head_dim=8,
    )


def build_train_scheduler() -> DDPMScheduler:
    """T = 1000, linear beta 1e-4 -> 0.02, ε-prediction: section 4 of Ho et al. 2020."""
    return DDPMScheduler(
        num_train_timesteps=1000,
        beta_schedule="linear",
        beta_start=1e-4,
        beta_end=0.02,
        prediction_type="epsilon",
        clip_sample=True,
    )


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay from lr to lr_min."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * min(1.0, progress)))


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.lerp_(p, 1.0 - decay)


def export(ema: UNet2DModel, out: Path, card: dict) -> None:
    """Write the diffusers DDPMPipeline folder: unet/, scheduler/, model_index.json, card."""
    from diffusers import DDPMPipeline

    pipe = DDPMPipeline(unet=ema, scheduler=build_train_scheduler())
    pipe.save_pretrained(out, safe_serialization=True)
    (out / "training.json").write_text(json.dumps(card, indent=2) + "\n")


def train(
    out: Path,
    cfg: TrainConfig = TRAIN,
    tiny: bool = False,
    limit_digits: int | None = None,
    threads: int | None = None,
) -> dict:
    """Train (or resume) and export; returns the summary written to training.json."""
    from tqdm import tqdm

    from .data import split

    if threads:
        torch.set_num_threads(threads)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    (x_train, _), _ = split(cfg.holdout_per_class)
    if limit_digits:
        x_train = x_train[:limit_digits]
    data = torch.from_numpy(x_train).unsqueeze(1) * 2 - 1  # [0, 1] -> [-1, 1]

    model = build_unet(cfg, tiny)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    scheduler = build_train_scheduler()
    gen = torch.Generator().manual_seed(cfg.seed)
    step, elapsed, losses = 0, 0.0, []

    state_path = out / STATE_FILE
    if state_path.exists():  # resume
        state = torch.load(state_path, weights_only=False)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        gen.set_state(state["gen"])
        step, elapsed, losses = state["step"], state["elapsed"], state["losses"]
        print(f"resuming from step {step}")

    def save() -> dict:
        card = {
            "steps": step,
            "batch_size": cfg.batch_size,
            "wall_time_s": round(elapsed, 1),
            "final_loss": round(float(np.mean(losses[-200:])), 5) if losses else None,
            "train_digits": len(data),
            "config": dataclasses.asdict(cfg),
            "tiny": tiny,
        }
        torch.save(
            {
                "model": model.state_dict(),
                "ema": ema.state_dict(),
                "opt": opt.state_dict(),
                "gen": gen.get_state(),
                "step": step,
                "elapsed": elapsed,
                "losses": losses,
            },
            state_path,
        )
        export(ema, out, card)
        return card

    bar = tqdm(total=cfg.steps, initial=step, desc="train", unit="step", dynamic_ncols=True)
    model.train()
    while step < cfg.steps:
        t0 = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        # 1. a batch of clean digits x_0, timesteps t ~ U{0..T-1} and noise ε
        idx = torch.randint(0, len(data), (cfg.batch_size,), generator=gen)
        x0 = data[idx]
        t = torch.randint(0, scheduler.config.num_train_timesteps, (len(idx),), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        # 2. eq. 4 of Ho et al. 2020: x_t ~ q(x_t | x_0), by the scheduler
        x_t = scheduler.add_noise(x0, noise, t)
        # 3. eq. 14 of Ho et al. 2020: the simple loss ||ε - ε_θ(x_t, t)||²
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            eps_hat = model(x_t, t).sample
        loss = torch.nn.functional.mse_loss(eps_hat.float(), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        # EMA warm-up (as in diffusers' EMAModel): short memory early, cfg.ema_decay later.
        ema_update(ema, model, min(cfg.ema_decay, (1 + step) / (10 + step)))
        step += 1
        elapsed += time.perf_counter() - t0
        losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}", lr=f"{lr_at(step, cfg):.1e}")
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            save()
    bar.close()
    return save()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=MODEL.checkpoint, help="output diffusers folder")
    p.add_argument("--steps", type=int, default=TRAIN.steps, help="optimiser steps")
    p.add_argument("--batch-size", type=int, default=TRAIN.batch_size)
    p.add_argument("--lr", type=float, default=TRAIN.lr)
    p.add_argument("--seed", type=int, default=TRAIN.seed)
    p.add_argument("--checkpoint-every", type=int, default=TRAIN.checkpoint_every)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--tiny", action="store_true", help="a tiny UNet (tests, smoke runs)")
    p.add_argument("--limit-digits", type=int, default=None, help="train on the first N digits only")
    p.add_argument("--fp32", action="store_true", help="disable bf16 autocast")
    a = p.parse_args(argv)
    try:
        data.require()
    except ValueError as exc:
        p.error(str(exc))
    cfg = dataclasses.replace(
        TRAIN,
        steps=a.steps,
        batch_size=a.batch_size,
        lr=a.lr,
        seed=a.seed,
        checkpoint_every=a.checkpoint_every,
        bf16=not a.fp32,
        warmup_steps=min(TRAIN.warmup_steps, max(1, a.steps // 10)),
    )
    card = train(a.out, cfg, tiny=a.tiny, limit_digits=a.limit_digits, threads=a.threads)
    print(json.dumps({k: v for k, v in card.items() if k != "config"}))


if __name__ == "__main__":
    main()
