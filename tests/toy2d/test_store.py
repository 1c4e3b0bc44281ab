"""toy2d.store: which model the reverse view uses."""

from __future__ import annotations

import dataclasses

import pytest

from diffusion_demo import toy2d
from diffusion_demo.diffusion.schedules import ScheduleSpec

SPEC = toy2d.TRAINED_SPEC


# ------------------------------------------------------------------ which model the reverse view uses


def test_model_choice_and_schedule_mapping():
    store = toy2d.STORE
    store.clear()
    moons = toy2d.get_set("moons")
    cosine = ScheduleSpec("cosine", 1e-4, 0.02, 500)
    # no model for the panel's schedule: the shipped one, on its own schedule
    chosen = toy2d.model_for(moons, cosine)
    assert chosen is toy2d.shipped("moons") and chosen.spec == toy2d.TRAINED_SPEC
    assert toy2d.model_t(250, 500, chosen) == 500 and toy2d.model_t(500, 500, chosen) == 1000
    # a custom set has nothing to fall back on
    custom = toy2d.get_set("custom", "0, 0\n3, 1")
    with pytest.raises(ValueError, match="No model for this custom set yet"):
        toy2d.model_for(custom, cosine)
    trained = dataclasses.replace(chosen, spec=cosine, dataset_key=moons.key, uid=-1)
    store.put(trained)
    try:
        assert toy2d.model_for(moons, cosine) is trained
        assert toy2d.model_for(moons, SPEC) is toy2d.shipped("moons")
    finally:
        store.clear()
