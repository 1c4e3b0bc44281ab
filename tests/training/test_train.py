"""The training loop: seeded, and a resumed run continues exactly where it stopped."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from safetensors.torch import load_file

from diffusion_demo.config import TRAIN
from diffusion_demo.training import train

# Two steps of each phase but the second (one): phase boundaries at 2 and 3, five steps in all.
TINY = dataclasses.replace(
    TRAIN,
    steps=2,
    batch_size=4,
    warmup_steps=1,
    finetune_steps=1,
    refine_steps=2,
    refine_warmup_steps=1,
    polish_steps=0,
    checkpoint_every=5,
)


@pytest.mark.slow  # seconds of work: not in the fast tier
def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path):
    cfg = TINY
    card = train.train(tmp_path / "straight", cfg, tiny=True, limit_digits=16)
    # the same run stopped after phase 1, then resumed for phases 2 and 3
    phase1 = dataclasses.replace(cfg, finetune_steps=0, refine_steps=0)
    train.train(tmp_path / "resumed", phase1, tiny=True, limit_digits=16)
    resumed = train.train(tmp_path / "resumed", cfg, tiny=True, limit_digits=16)
    assert card["steps"] == resumed["steps"] == 5 and card["final_loss"] == resumed["final_loss"]
    a = torch.load(tmp_path / "straight" / train.STATE_FILE, weights_only=False)
    b = torch.load(tmp_path / "resumed" / train.STATE_FILE, weights_only=False)
    assert a["losses"] == b["losses"]
    for key in ("model", "ema"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key])
    written = train.training_card(tmp_path / "straight")  # JSON: tuples come back as lists
    assert (written["steps"], written["final_loss"], written["tiny"]) == (5, card["final_loss"], True)
    assert train.training_card(tmp_path / "nowhere") == {}


@pytest.mark.slow  # seconds of work: not in the fast tier
def test_phase_3_from_a_shipped_folder_equals_phase_3_of_a_whole_run(tmp_path):
    """The folder keeps only the EMA weights: phase 3 restarts from them (fresh AdamW, reseeded
    generator) in a whole run too, so `train --refine-from` reproduces it bit for bit."""
    train.train(tmp_path / "whole", TINY, tiny=True, limit_digits=16)
    train.train(tmp_path / "two", dataclasses.replace(TINY, refine_steps=0), tiny=True, limit_digits=16)
    card = train.train(tmp_path / "three", TINY, tiny=True, limit_digits=16, refine_from=tmp_path / "two")
    assert card["steps"] == 5
    a, b = (
        load_file(tmp_path / f / "unet" / "diffusion_pytorch_model.safetensors") for f in ("whole", "three")
    )
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    two = load_file(tmp_path / "two" / "unet" / "diffusion_pytorch_model.safetensors")
    assert not all(torch.equal(a[k], two[k]) for k in a), "phase 3 changed nothing"


def test_each_phase_has_its_own_null_label_fraction_and_learning_rate():
    cfg = dataclasses.replace(
        TRAIN,
        steps=100,
        warmup_steps=10,
        finetune_steps=50,
        refine_steps=40,
        refine_warmup_steps=5,
        polish_steps=30,
    )
    assert train.phase_starts(cfg) == (100, 150, 190, 220)
    assert train.lr_at(99, cfg) == pytest.approx(cfg.lr_min, rel=0.01)
    assert train.lr_at(100, cfg) == pytest.approx(cfg.finetune_lr)
    assert train.lr_at(150, cfg) == pytest.approx(cfg.refine_lr / cfg.refine_warmup_steps)  # warm-up
    assert train.lr_at(150 + cfg.refine_warmup_steps, cfg) == pytest.approx(cfg.refine_lr)
    assert train.lr_at(189, cfg) < 0.01 * cfg.refine_lr + cfg.lr_min
    assert train.lr_at(190 + cfg.refine_warmup_steps, cfg) == pytest.approx(cfg.polish_lr)
    assert train.lr_at(219, cfg) < 0.01 * cfg.polish_lr + cfg.lr_min
    x0, labels = torch.zeros(4000, 1, 28, 28), torch.zeros(4000, dtype=torch.long)
    state = train.new_state(dataclasses.replace(cfg, batch_size=4000), tiny=True)
    phases = ((0, cfg.p_uncond), (120, cfg.finetune_p_uncond), (160, cfg.refine_p_uncond))
    for step, p in (*phases, (200, cfg.polish_p_uncond)):
        state.step = step
        _, y, _, _ = train.draw_batch(x0, labels, state, dataclasses.replace(cfg, batch_size=4000), 1000)
        assert (y == cfg.num_class_embeds - 1).float().mean().item() == pytest.approx(p, abs=0.03)
    unconditional = dataclasses.replace(cfg, num_class_embeds=0)
    assert train.phase_starts(unconditional) == (100, 100, 100, 100)


@pytest.mark.slow  # seconds of work: not in the fast tier
def test_phase_4_from_a_shipped_folder_equals_phase_4_of_a_whole_run(tmp_path):
    """Like phase 3: `train --polish-from` a folder exported after phase 3 reproduces phase 4,
    and the EMA snapshots of the learning curve are the EMA at their step."""
    cfg = dataclasses.replace(TINY, polish_steps=2)
    train.train(tmp_path / "whole", dataclasses.replace(cfg, snapshot_every=6), tiny=True, limit_digits=16)
    train.train(tmp_path / "three", TINY, tiny=True, limit_digits=16)
    card = train.train(tmp_path / "four", cfg, tiny=True, limit_digits=16, polish_from=tmp_path / "three")
    assert card["steps"] == 7
    a, b, three, snap = (
        load_file(tmp_path / f / "unet" / "diffusion_pytorch_model.safetensors")
        for f in ("whole", "four", "three", "whole/snapshots/step-6")
    )
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], three[k]) for k in a), "phase 4 changed nothing"
    assert not all(torch.equal(a[k], snap[k]) for k in a), "the step-6 snapshot is the final EMA"
    assert train.training_card(tmp_path / "whole" / "snapshots" / "step-6")["steps"] == 6
