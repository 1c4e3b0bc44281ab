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

import copy
import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from diffusers import DDPMScheduler, UNet2DModel
from tqdm import tqdm

from ..config import MODEL, TRAIN, TrainConfig
from ..models import unet
from . import data

# (The docstring above is `train --help`.) This module owns the training loop, the exported
# folder and its card; it may import config, training.data and libraries, never media, ui or cli.

STATE_FILE = "training_state.pt"
# The card next to the exported model (steps, loss, config): what `evaluate` reports.
CARD_FILE = "training.json"


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
        # No clipping of x̂_0 to [-1, 1]: DDIM clips x̂_0 but keeps the unclipped ε̂, and with
        # guidance (w > 1) that mismatch sent samples to wrong digits (w = 2: 10% read as asked
        # with clipping, 100% without; w = 0 and 1 are the same within 0.4 points).
        clip_sample=False,
    )


def phase_starts(cfg: TrainConfig) -> tuple[int, int, int, int]:
    """The first step of phases 2, 3 and 4, and the total (a model without labels has one phase)."""
    if not cfg.num_class_embeds:
        return cfg.steps, cfg.steps, cfg.steps, cfg.steps
    second = cfg.steps + cfg.finetune_steps
    third = second + cfg.refine_steps
    return cfg.steps, second, third, third + cfg.polish_steps


def warmup_cosine(into: int, length: int, warmup: int, peak: float, floor: float) -> float:
    """One phase's learning rate, `into` steps in: a linear warm-up to `peak` over `warmup`
    steps, then a cosine down to `floor` at `length`."""
    if into < warmup:
        return peak * (into + 1) / warmup
    progress = (into - warmup) / max(1, length - warmup)
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * min(1.0, progress)))


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Phase 1: a warm-up, then a cosine from lr to lr_min; phase 2 (fine-tuning, from
    cfg.steps): a second cosine from finetune_lr; phases 3 and 4: a short warm-up and a cosine
    from refine_lr, then polish_lr."""
    second, third, fourth, _ = phase_starts(cfg)
    if step >= fourth and cfg.num_class_embeds:
        return warmup_cosine(
            step - fourth, cfg.polish_steps, cfg.refine_warmup_steps, cfg.polish_lr, cfg.lr_min
        )
    if step >= third and cfg.num_class_embeds:
        return warmup_cosine(
            step - third, cfg.refine_steps, cfg.refine_warmup_steps, cfg.refine_lr, cfg.lr_min
        )
    if step >= second:
        return warmup_cosine(step - second, cfg.finetune_steps, 0, cfg.finetune_lr, cfg.lr_min)
    return warmup_cosine(step, cfg.steps, cfg.warmup_steps, cfg.lr, cfg.lr_min)


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
    from diffusers import DDPMPipeline  # deferred for start-up time: pulls in all pipelines

    pipe = DDPMPipeline(unet=ema, scheduler=build_train_scheduler())
    pipe.save_pretrained(out, safe_serialization=True)
    (out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")


def training_card(checkpoint: str | Path) -> dict:
    """The card `export` wrote next to a checkpoint (steps, loss, config); {} when it has none."""
    try:
        return json.loads((Path(checkpoint) / CARD_FILE).read_text())
    except (OSError, ValueError):
        return {}


@dataclass
class TrainState:
    """Everything a resumed run needs: the weights, their EMAs, the optimiser, the RNG, the log."""

    model: UNet2DModel
    ema: UNet2DModel
    extra: dict[float, UNet2DModel]  # further EMAs, by decay (cfg.extra_ema_decays)
    opt: torch.optim.Optimizer
    gen: torch.Generator  # draws every batch, label drop, t and ε: resumes bit-identically
    step: int = 0
    elapsed: float = 0.0
    losses: list[float] = field(default_factory=list)

    def models(self) -> tuple[UNet2DModel, ...]:
        return (self.model, self.ema, *self.extra.values())

    def state_dict(self) -> dict:
        """The training-state file's contents (STATE_FILE)."""
        return {
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict(),
            "extra_ema": {d: m.state_dict() for d, m in self.extra.items()},
            "opt": self.opt.state_dict(),
            "gen": self.gen.get_state(),
            "step": self.step,
            "elapsed": self.elapsed,
            "losses": self.losses,
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        for d, m in self.extra.items():
            if d in state.get("extra_ema", {}):
                m.load_state_dict(state["extra_ema"][d])
        self.opt.load_state_dict(state["opt"])
        self.gen.set_state(state["gen"])
        self.step, self.elapsed, self.losses = state["step"], state["elapsed"], state["losses"]


def training_digits(cfg: TrainConfig, limit_digits: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The training split as x_0 in [-1, 1], (N, 1, 28, 28), and its labels (held-out digits excluded)."""
    (x_train, y_train), _ = data.split(cfg.holdout_per_class)
    if limit_digits:
        x_train, y_train = x_train[:limit_digits], y_train[:limit_digits]
    x0 = torch.from_numpy(x_train).unsqueeze(1) * 2 - 1  # [0, 1] -> [-1, 1]
    return x0, torch.from_numpy(y_train).long()


def new_state(cfg: TrainConfig, tiny: bool = False) -> TrainState:
    """A fresh UNet (initialised from torch's global RNG), its EMA copies, AdamW, the seeded RNG."""
    model = build_unet(cfg, tiny)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    extra = {d: copy.deepcopy(model).eval().requires_grad_(False) for d in cfg.extra_ema_decays}
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    return TrainState(model, ema, extra, opt, torch.Generator().manual_seed(cfg.seed))


def draw_batch(
    x0_all: torch.Tensor, labels: torch.Tensor, state: TrainState, cfg: TrainConfig, T: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Step 1 of Algorithm 1 (Ho et al. 2020): clean digits x_0 with labels y (some dropped to ∅,
    Ho & Salimans 2022), t ~ U{0..T-1} and ε ~ N(0, I), all from the run's generator, in this order."""
    gen = state.gen
    idx = torch.randint(0, len(x0_all), (cfg.batch_size,), generator=gen)
    x0 = x0_all[idx]
    starts = phase_starts(cfg)[:3]
    p_uncond = (cfg.p_uncond, cfg.finetune_p_uncond, cfg.refine_p_uncond, cfg.polish_p_uncond)[
        sum(state.step >= s for s in starts)
    ]
    y = drop_labels(labels[idx], p_uncond, cfg.num_class_embeds - 1, gen)
    t = torch.randint(0, T, (len(idx),), generator=gen)
    noise = torch.randn(x0.shape, generator=gen)
    return x0, y, t, noise


def optimisation_step(
    state: TrainState,
    cfg: TrainConfig,
    scheduler: DDPMScheduler,
    batch: tuple[torch.Tensor, ...],
    alphas_cumprod: torch.Tensor,
    amp: torch.dtype,
) -> torch.Tensor:
    """Steps 2-3 of Algorithm 1: form x_t, take one AdamW step on the weighted ε loss; the loss."""
    x0, y, t, noise = batch
    device = alphas_cumprod.device
    # 2. eq. 4 of Ho et al. 2020: x_t ~ q(x_t | x_0), by the scheduler
    x_t = scheduler.add_noise(x0, noise, t)
    x_t, t, y, noise = x_t.to(device), t.to(device), y.to(device), noise.to(device)
    # 3. eq. 14 of Ho et al. 2020, ||ε - ε_θ(x_t, t, y)||², weighted per example by min-SNR-γ
    with torch.autocast(device.type, dtype=amp, enabled=cfg.bf16):
        eps_hat = state.model(x_t, t, class_labels=y if cfg.num_class_embeds else None).sample
    per_example = (eps_hat.float() - noise).pow(2).mean(dim=(1, 2, 3))
    loss = (min_snr_weight(alphas_cumprod[t], cfg.min_snr_gamma) * per_example).mean()
    state.opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(state.model.parameters(), 1.0)
    state.opt.step()
    return loss


def restart_from_ema(state: TrainState, cfg: TrainConfig, phase: int) -> None:
    """Phases 3 and 4 begin here: the weights become their EMA, AdamW starts afresh and the
    generator is reseeded, so that a run from a shipped folder (which keeps only the EMA) and a
    run from scratch take the same phase."""
    with torch.no_grad():
        for p, e in zip(state.model.parameters(), state.ema.parameters(), strict=True):
            p.copy_(e)
    state.opt = torch.optim.AdamW(state.model.parameters(), lr=cfg.refine_lr, weight_decay=0.0)
    state.gen.manual_seed(cfg.seed + phase)


def update_emas(state: TrainState, cfg: TrainConfig) -> None:
    """EMA warm-up (as in diffusers' EMAModel): short memory early, cfg.ema_decay later."""
    for decay, m in ((cfg.ema_decay, state.ema), *state.extra.items()):
        ema_update(m, state.model, min(decay, (1 + state.step) / (10 + state.step)))


def save_checkpoint(state: TrainState, out: Path, card: dict, device: torch.device) -> dict:
    """Write the training-state file and export the EMA weights with `card`; returns the card."""
    torch.save(state.state_dict(), out / STATE_FILE)
    export(state.ema.cpu(), out, card)
    state.ema.to(device)
    return card


def make_card(state: TrainState, cfg: TrainConfig, num_digits: int, tiny: bool) -> dict:
    """The summary written to training.json."""
    losses = state.losses
    return {
        "steps": state.step,
        "batch_size": cfg.batch_size,
        "wall_time_s": round(state.elapsed, 1),
        "final_loss": round(float(np.mean(losses[-200:])), 5) if losses else None,
        "train_digits": num_digits,
        "config": dataclasses.asdict(cfg),
        "tiny": tiny,
    }


def train(
    out: Path,
    cfg: TrainConfig = TRAIN,
    tiny: bool = False,
    limit_digits: int | None = None,
    threads: int | None = None,
    refine_from: Path | None = None,
    polish_from: Path | None = None,
) -> dict:
    """Train (or resume) and export; returns the summary written to training.json.
    refine_from: a folder this recipe exported after phase 2; phases 3 and 4 run, from its weights.
    polish_from: a folder exported after phase 3; only phase 4 runs, from its weights."""
    if threads:
        torch.set_num_threads(threads)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # 1. build: the seed fixes the UNet's initial weights and the generator of every batch
    torch.manual_seed(cfg.seed)
    x0_all, labels = training_digits(cfg, limit_digits)
    device = unet.pick_device()  # DIFFUSION_DEMO_DEVICE, as the app reads it (CUDA when found)
    state = new_state(cfg, tiny)
    scheduler = build_train_scheduler()
    _, third, fourth, total = phase_starts(cfg)
    restarts = {third: 3, fourth: 4} if cfg.num_class_embeds else {}
    if (out / STATE_FILE).exists():  # resume
        state.load_state_dict(torch.load(out / STATE_FILE, weights_only=False))
        print(f"resuming from step {state.step}")
    elif refine_from is not None or polish_from is not None:  # from a shipped folder's EMA
        folder, state.step = (refine_from, third) if polish_from is None else (polish_from, fourth)
        shipped = UNet2DModel.from_pretrained(Path(folder) / "unet")
        state.ema.load_state_dict(shipped.state_dict())
        state.elapsed = float(training_card(folder).get("wall_time_s", 0.0))
        print(f"phase {restarts[state.step]} from {folder} (step {state.step})")
    for m in state.models():
        m.to(device)
    alphas_cumprod = scheduler.alphas_cumprod.to(device)
    amp = torch.bfloat16 if device.type == "cpu" else torch.float16
    bar = tqdm(total=total, initial=state.step, desc="train", unit="step", dynamic_ncols=True)
    state.model.train()
    # 2. optimise: a batch, a step, the EMAs; a checkpoint every cfg.checkpoint_every steps
    while state.step < total:
        t0 = time.perf_counter()
        if state.step in restarts:
            restart_from_ema(state, cfg, restarts[state.step])
        for group in state.opt.param_groups:
            group["lr"] = lr_at(state.step, cfg)
        batch = draw_batch(x0_all, labels, state, cfg, scheduler.config.num_train_timesteps)
        loss = optimisation_step(state, cfg, scheduler, batch, alphas_cumprod, amp)
        update_emas(state, cfg)
        state.step += 1
        state.elapsed += time.perf_counter() - t0
        state.losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(state.losses[-50:]):.4f}", lr=f"{lr_at(state.step, cfg):.1e}")
        if state.step % cfg.checkpoint_every == 0 or state.step == total:
            save_checkpoint(state, out, make_card(state, cfg, len(x0_all), tiny), device)
        if cfg.snapshot_every and state.step % cfg.snapshot_every == 0:  # a learning-curve point
            export(
                state.ema.cpu(),
                out / "snapshots" / f"step-{state.step}",
                make_card(state, cfg, len(x0_all), tiny),
            )
            state.ema.to(device)
    bar.close()
    return save_checkpoint(state, out, make_card(state, cfg, len(x0_all), tiny), device)
