"""toy2d.metrics: samples of the shipped models sit on their data."""

from __future__ import annotations

import pytest

from diffusion_demo import toy2d

# ------------------------------------------------------------------ samples vs data


@pytest.mark.parametrize("name", toy2d.BUILTIN_SETS)
def test_samples_of_the_shipped_model_match_the_data(name):
    toy = toy2d.get_set(name)
    model = toy2d.shipped(name)
    samples = toy2d.reverse_run(model, seed=11, n=600)[0]
    q = toy2d.quality(samples, toy)
    assert q["mean_gap"] < 0.12, q
    assert q["cov_gap"] < 0.2, q
    # on the curve: about as close to the data as fresh data points are…
    assert q["nn_distance"] < 2.5 * q["nn_baseline"], q
    # …and far closer than the noise the chain started from
    noise = toy2d.nn_distance(toy2d.reverse_run(model, seed=11, n=600)[-1], toy.reference())
    assert q["nn_distance"] < 0.25 * noise, (q, noise)
