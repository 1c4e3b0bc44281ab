"""toy2d.metrics: samples of the shipped models sit on their data."""

from __future__ import annotations

import pytest

from diffusion_demo.toy2d.data import BUILTIN_SETS, get_set
from diffusion_demo.toy2d.metrics import nn_distance, quality
from diffusion_demo.toy2d.model import shipped
from diffusion_demo.toy2d.sampling import reverse_run

# ------------------------------------------------------------------ samples vs data


@pytest.mark.parametrize("name", BUILTIN_SETS)
def test_samples_of_the_shipped_model_match_the_data(name):
    toy = get_set(name)
    model = shipped(name)
    samples = reverse_run(model, seed=11, n=600)[0]
    q = quality(samples, toy)
    assert q["mean_gap"] < 0.12, q
    assert q["cov_gap"] < 0.2, q
    # on the curve: about as close to the data as fresh data points are…
    assert q["nn_distance"] < 2.5 * q["nn_baseline"], q
    # …and far closer than the noise the chain started from
    noise = nn_distance(reverse_run(model, seed=11, n=600)[-1], toy.reference())
    assert q["nn_distance"] < 0.25 * noise, (q, noise)
