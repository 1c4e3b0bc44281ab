"""Train the digits DDPM: a class-conditional diffusers UNet2DModel with ε-prediction.

    python -m diffusion_demo train --out assets/ddpm-digits          # the shipped recipe
    python -m diffusion_demo train --steps 2 --out /tmp/tiny --tiny  # a smoke test

Only the decoder is trained: the forward process q(x_t | x_0) is fixed, so each
step draws (x_0, y, t, ε), forms x_t with the scheduler's add_noise and regresses ε.
The label y is replaced by the null label for a fraction p_uncond of the examples, so
that one network is both ε_θ(x_t, t, y) and ε_θ(x_t, t, ∅): classifier-free guidance
(Ho & Salimans 2022) needs both. Resumable: a training-state file is written next to
the output every few hundred steps, and a rerun with the same --out picks it up.
On a CUDA machine (found by itself) the same command takes minutes.
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

from ..config import MODEL, TRAIN, TrainConfig
from . import data

STATE_FILE = "training_state.pt"


def build_unet(cfg: TrainConfig = TRAIN, tiny: bool = False, conditional: bool = True) -> UNet2DModel:
    """The UNet of the shipped model (or a tiny one of the same shape, for tests); with
    conditional=False (or cfg.num_class_embeds = 0) it takes no labels, like the first model."""
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
        num_class_embeds=(cfg.num_class_embeds or None) if conditional else None,
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
    """Linear warm-up, then cosine decay from lr to lr_min; in the fine-tuning phase (after
    cfg.steps) a second cosine from finetune_lr to lr_min."""
    if step >= cfg.steps:
        progress = (step - cfg.steps) / max(1, cfg.finetune_steps)
        return cfg.lr_min + 0.5 * (cfg.finetune_lr - cfg.lr_min) * (
            1 + math.cos(math.pi * min(1.0, progress))
        )
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * min(1.0, progress)))


def min_snr_weight(alpha_bar_t: torch.Tensor, gamma: float) -> torch.Tensor:
    """Min-SNR-γ weights for ε-prediction (Hang et al. 2023, eq. 8): min(SNR_t, γ) / SNR_t,
    with SNR_t = ᾱ_t / (1 − ᾱ_t). γ = 0: all ones (the simple loss of Ho et al. 2020)."""
    if gamma <= 0:
        return torch.ones_like(alpha_bar_t)
    snr = alpha_bar_t / (1 - alpha_bar_t)
    return snr.clamp(max=gamma) / snr


def drop_labels(labels: torch.Tensor, p_uncond: float, null_label: int, gen: torch.Generator) -> torch.Tensor:
    """Replace each label by the null label with probability p_uncond (Ho & Salimans 2022, alg. 1)."""
    drop = torch.rand(labels.shape, generator=gen) < p_uncond
    return torch.where(drop, torch.full_like(labels, null_label), labels)


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
    (x_train, y_train), _ = split(cfg.holdout_per_class)
    if limit_digits:
        x_train, y_train = x_train[:limit_digits], y_train[:limit_digits]
    data = torch.from_numpy(x_train).unsqueeze(1) * 2 - 1  # [0, 1] -> [-1, 1]
    labels = torch.from_numpy(y_train).long()
    null_label = cfg.num_class_embeds - 1

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = build_unet(cfg, tiny)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    extra = {d: copy.deepcopy(model).eval().requires_grad_(False) for d in cfg.extra_ema_decays}
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    scheduler = build_train_scheduler()
    gen = torch.Generator().manual_seed(cfg.seed)
    step, elapsed, losses = 0, 0.0, []

    state_path = out / STATE_FILE
    if state_path.exists():  # resume
        state = torch.load(state_path, weights_only=False)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        for d, m in extra.items():
            if d in state.get("extra_ema", {}):
                m.load_state_dict(state["extra_ema"][d])
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
                "extra_ema": {d: m.state_dict() for d, m in extra.items()},
                "opt": opt.state_dict(),
                "gen": gen.get_state(),
                "step": step,
                "elapsed": elapsed,
                "losses": losses,
            },
            state_path,
        )
        export(ema.cpu(), out, card)
        ema.to(device)
        return card

    for m in (model, ema, *extra.values()):
        m.to(device)
    alphas_cumprod = scheduler.alphas_cumprod.to(device)
    amp = torch.bfloat16 if device.type == "cpu" else torch.float16
    total = cfg.steps + (cfg.finetune_steps if cfg.num_class_embeds else 0)
    bar = tqdm(total=total, initial=step, desc="train", unit="step", dynamic_ncols=True)
    model.train()
    while step < total:
        t0 = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        # 1. a batch of clean digits x_0 with labels y (some dropped to ∅), t ~ U{0..T-1}, ε
        idx = torch.randint(0, len(data), (cfg.batch_size,), generator=gen)
        x0 = data[idx]
        p_uncond = cfg.p_uncond if step < cfg.steps else cfg.finetune_p_uncond  # phase 2: more ∅
        y = drop_labels(labels[idx], p_uncond, null_label, gen)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (len(idx),), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        # 2. eq. 4 of Ho et al. 2020: x_t ~ q(x_t | x_0), by the scheduler
        x_t = scheduler.add_noise(x0, noise, t)
        x_t, t, y, noise = x_t.to(device), t.to(device), y.to(device), noise.to(device)
        # 3. eq. 14 of Ho et al. 2020, ||ε - ε_θ(x_t, t, y)||², weighted per example by min-SNR-γ
        with torch.autocast(device.type, dtype=amp, enabled=cfg.bf16):
            eps_hat = model(x_t, t, class_labels=y if cfg.num_class_embeds else None).sample
        per_example = (eps_hat.float() - noise).pow(2).mean(dim=(1, 2, 3))
        loss = (min_snr_weight(alphas_cumprod[t], cfg.min_snr_gamma) * per_example).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        # EMA warm-up (as in diffusers' EMAModel): short memory early, cfg.ema_decay later.
        for decay, m in ((cfg.ema_decay, ema), *extra.items()):
            ema_update(m, model, min(decay, (1 + step) / (10 + step)))
        step += 1
        elapsed += time.perf_counter() - t0
        losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}", lr=f"{lr_at(step, cfg):.1e}")
        if step % cfg.checkpoint_every == 0 or step == total:
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
    p.add_argument("--unconditional", action="store_true", help="no class labels (the first recipe's model)")
    p.add_argument(
        "--finetune-steps", type=int, default=TRAIN.finetune_steps, help="phase 2 (more null labels) steps"
    )
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
        num_class_embeds=0 if a.unconditional else TRAIN.num_class_embeds,
        warmup_steps=min(TRAIN.warmup_steps, max(1, a.steps // 10)),
        finetune_steps=a.finetune_steps,
    )
    card = train(a.out, cfg, tiny=a.tiny, limit_digits=a.limit_digits, threads=a.threads)
    print(json.dumps({k: v for k, v in card.items() if k != "config"}))


if __name__ == "__main__":
    main()
