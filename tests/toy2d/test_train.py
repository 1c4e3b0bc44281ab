"""train: the loss falls, runs are deterministic, the time limit holds, custom sets are learned."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from diffusion_demo.config import TRAIN2D
from diffusion_demo.toy2d.data import get_set
from diffusion_demo.toy2d.model import TRAINED_SPEC
from diffusion_demo.toy2d.sampling import reverse_run
from diffusion_demo.toy2d.train import loss_curve, train, train_iter

SPEC = TRAINED_SPEC
# A short training run: enough to see the loss fall, a second or two of CPU. No wall-clock
# cap here: a busy test machine must not turn a deterministic run into a shorter one.
QUICK = dataclasses.replace(TRAIN2D, steps=300, max_seconds=600)


# ------------------------------------------------------------------ training


def test_loss_falls_during_training():
    losses = loss_curve(get_set("moons"), SPEC, QUICK, report_every=10)
    assert len(losses) == QUICK.steps // 10 and all(np.isfinite(losses))
    # ε-prediction starts near E[ε²] = 1 (the MSE of predicting 0) and must fall well below it…
    assert losses[0] > 0.5
    assert losses[-1] < 0.5 * losses[0]
    # …and keep falling after the first quick drop
    assert np.mean(losses[-5:]) < np.mean(losses[3:8])


def test_training_is_deterministic_and_reports_progress():
    toy = get_set("custom", "0, 0\n1, 1")
    cfg = dataclasses.replace(QUICK, steps=120)
    reports = list(train_iter(toy, SPEC, cfg, report_every=40))
    assert [r.step for r in reports] == [40, 80, 120] and [r.done for r in reports] == [False, False, True]
    model = reports[-1].model
    again = train(toy, SPEC, cfg)
    x = torch.randn(5, 2)
    torch.testing.assert_close(model.eps(x, 10), again.eps(x, 10))
    assert model.info["steps"] == 120 and model.spec == SPEC and model.dataset_key == toy.key


def test_training_stops_at_the_time_limit():
    cfg = dataclasses.replace(QUICK, steps=10_000, max_seconds=0.3)
    model = train(get_set("moons"), SPEC, cfg)
    assert model.info["stopped_early"] and model.info["steps"] < 10_000


@pytest.mark.slow  # seconds of work: not in the fast tier
def test_custom_set_is_learned_on_demand():
    # four points far apart: after a short training the samples must sit on them
    toy = get_set("custom", "-1, -1\n-1, 1\n1, -1\n1, 1")
    model = train(toy, SPEC, dataclasses.replace(QUICK, steps=1500))
    samples = reverse_run(model, seed=1, n=400)[0]
    d = torch.cdist(torch.tensor(samples), torch.tensor(toy.fixed))
    nearest, which = d.min(1)
    assert (nearest < 0.15).float().mean() > 0.9
    counts = np.bincount(which.numpy(), minlength=4)
    assert counts.min() > 50  # every point is found, none takes all
