"""toy2d.store: which model the reverse view uses."""

from __future__ import annotations

import dataclasses

import pytest

from diffusion_demo.diffusion.schedules import ScheduleSpec
from diffusion_demo.toy2d.data import get_set
from diffusion_demo.toy2d.model import TRAINED_SPEC, shipped
from diffusion_demo.toy2d.sampling import model_t
from diffusion_demo.toy2d.store import STORE, model_for

SPEC = TRAINED_SPEC


# ------------------------------------------------------------------ which model the reverse view uses


def test_model_choice_and_schedule_mapping():
    store = STORE
    store.clear()
    moons = get_set("moons")
    cosine = ScheduleSpec("cosine", 1e-4, 0.02, 500)
    # no model for the panel's schedule: the shipped one, on its own schedule
    chosen = model_for(moons, cosine)
    assert chosen is shipped("moons") and chosen.spec == TRAINED_SPEC
    assert model_t(250, 500, chosen) == 500 and model_t(500, 500, chosen) == 1000
    # a custom set has nothing to fall back on
    custom = get_set("custom", "0, 0\n3, 1")
    with pytest.raises(ValueError, match="No model for this custom set yet"):
        model_for(custom, cosine)
    trained = dataclasses.replace(chosen, spec=cosine, dataset_key=moons.key, uid=-1)
    store.put(trained)
    try:
        assert model_for(moons, cosine) is trained
        assert model_for(moons, SPEC) is shipped("moons")
    finally:
        store.clear()
