"""toy2d.model: the shipped weights, save and load."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from diffusion_demo.config import TRAIN2D
from diffusion_demo.toy2d.data import BUILTIN_SETS, get_set
from diffusion_demo.toy2d.model import TRAINED_SPEC, load, save, shipped, weights_path
from diffusion_demo.toy2d.train import train

SPEC = TRAINED_SPEC
# A short training run, with no wall-clock cap (see test_train.py).
QUICK = dataclasses.replace(TRAIN2D, steps=300, max_seconds=600)


# ------------------------------------------------------------------ shipped models


@pytest.mark.parametrize("name", BUILTIN_SETS)
def test_shipped_weights_are_small_and_on_the_documented_schedule(name):
    path = weights_path(name)
    assert path.is_file() and path.stat().st_size < 300_000
    model = shipped(name)
    assert model is not None and model.spec == TRAINED_SPEC
    assert model.info["steps"] == TRAIN2D.steps and not model.info["stopped_early"]


def test_save_and_load_round_trip(tmp_path):
    model = train(get_set("custom", "0, 1\n2, 3"), SPEC, dataclasses.replace(QUICK, steps=20))
    save(model, tmp_path / "m.safetensors")
    back = load(tmp_path / "m.safetensors")
    x = torch.randn(7, 2)
    torch.testing.assert_close(back.eps(x, 500), model.eps(x, 500))
    assert back.spec == model.spec and back.dataset_key == model.dataset_key
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="could not be read"):
        load(tmp_path / "bad.safetensors")
