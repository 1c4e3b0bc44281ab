"""The training loop: seeded, and a resumed run continues exactly where it stopped."""

from __future__ import annotations

import dataclasses

import torch

from diffusion_demo.config import TRAIN
from diffusion_demo.training import train


def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path):
    cfg = dataclasses.replace(
        TRAIN, steps=2, batch_size=4, warmup_steps=1, finetune_steps=1, checkpoint_every=5
    )
    card = train.train(tmp_path / "straight", cfg, tiny=True, limit_digits=16)
    # the same run stopped after phase 1, then resumed for the fine-tuning step
    train.train(tmp_path / "resumed", dataclasses.replace(cfg, finetune_steps=0), tiny=True, limit_digits=16)
    resumed = train.train(tmp_path / "resumed", cfg, tiny=True, limit_digits=16)
    assert card["steps"] == resumed["steps"] == 3 and card["final_loss"] == resumed["final_loss"]
    a = torch.load(tmp_path / "straight" / train.STATE_FILE, weights_only=False)
    b = torch.load(tmp_path / "resumed" / train.STATE_FILE, weights_only=False)
    assert a["losses"] == b["losses"]
    for key in ("model", "ema"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key])
    written = train.training_card(tmp_path / "straight")  # JSON: tuples come back as lists
    assert (written["steps"], written["final_loss"], written["tiny"]) == (3, card["final_loss"], True)
    assert train.training_card(tmp_path / "nowhere") == {}
