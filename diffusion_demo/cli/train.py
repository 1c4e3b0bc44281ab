"""`python -m diffusion_demo train`: the flags of training/train.py's recipe (see `train --help`).

May import config, models (the device), training and libraries.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from ..config import MODEL, TRAIN
from ..models import unet
from ..training import data, train


def build_parser() -> argparse.ArgumentParser:
    """The flags: one per setting of the recipe a run may change (config.TrainConfig)."""
    p = argparse.ArgumentParser(
        description=train.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
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
    p.add_argument(
        "--refine-steps", type=int, default=TRAIN.refine_steps, help="phase 3 (mostly null labels) steps"
    )
    p.add_argument(
        "--polish-steps", type=int, default=TRAIN.polish_steps, help="phase 4 (mostly null labels) steps"
    )
    p.add_argument(
        "--snapshot-every", type=int, default=TRAIN.snapshot_every, help="EMA folders under OUT/snapshots"
    )
    p.add_argument(
        "--refine-from",
        type=Path,
        default=None,
        help="run phases 3 and 4 only, from this folder's weights (a model of this recipe after phase 2)",
    )
    p.add_argument(
        "--polish-from",
        type=Path,
        default=None,
        help="run phase 4 only, from this folder's weights (a model of this recipe after phase 3)",
    )
    return p


def main(argv: list[str] | None = None) -> None:
    p = build_parser()
    a = p.parse_args(argv)
    if a.refine_from is not None and a.polish_from is not None:
        p.error("--refine-from and --polish-from: expected one of them, not both")
    if a.refine_from is not None and (a.unconditional or a.refine_steps < 1):
        p.error(
            "--refine-from runs phase 3: it needs class labels (no --unconditional) and --refine-steps >= 1"
        )
    if a.polish_from is not None and (a.unconditional or a.polish_steps < 1):
        p.error(
            "--polish-from runs phase 4: it needs class labels (no --unconditional) and --polish-steps >= 1"
        )
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
        refine_steps=a.refine_steps,
        polish_steps=a.polish_steps,
        snapshot_every=a.snapshot_every,
    )
    try:
        card = train.train(
            a.out,
            cfg,
            tiny=a.tiny,
            limit_digits=a.limit_digits,
            threads=a.threads,
            refine_from=a.refine_from,
            polish_from=a.polish_from,
        )
    except unet.DeviceError as exc:  # DIFFUSION_DEMO_DEVICE names a device this machine lacks
        p.error(str(exc))
    print(json.dumps({k: v for k, v in card.items() if k != "config"}))
