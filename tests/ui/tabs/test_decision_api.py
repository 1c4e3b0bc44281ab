"""/reverse_decision and /roundtrip_decision through a real gradio_client (the app in-process
with the tiny class-conditional UNet and the shipped classifier): the strip after a run, its
sample and replayed step, bad input, and no classifier."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from diffusion_demo.media import decision
from diffusion_demo.ui.tabs import decision as decision_tab

RUN = dict(sampler="ddim", steps=6, num_samples=4, seed=1, eta=0.0, digit="any", guidance=0.0)


@pytest.fixture(scope="module")
def client(cond_client):
    return cond_client


def strip_pixels(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_the_strip_reads_each_sample_of_the_last_run(client):
    client.predict(**RUN, api_name="/reverse")
    first, text = client.predict(1, 5, api_name="/reverse_decision")
    assert first is not None and "Sample 1" in text and "from step" in text
    fourth, text4 = client.predict(4, 5, api_name="/reverse_decision")
    assert "Sample 4" in text4
    assert not np.array_equal(strip_pixels(first), strip_pixels(fourth))  # another sample
    boxed, _ = client.predict(1, 0, api_name="/reverse_decision")  # the replayed first step boxed
    assert not np.array_equal(strip_pixels(first), strip_pixels(boxed))


@pytest.mark.parametrize(
    ("sample", "step", "message"),
    [
        (5, 5, r"sample must be a whole number in \[1, 4\]; got 5"),  # the run had 4 samples
        (1.5, 5, r"sample must be a whole number in \[1, 4\]"),
        (0, 5, r"sample must be a (whole )?number in \[1, "),
        (1, 6, r"step must be a (whole )?number in \[0, 5\]; got 6"),
        (1, -2, r"step must be a (whole )?number in \[0, "),
    ],
)
def test_bad_sample_or_step_is_a_clean_error_and_the_server_keeps_serving(client, sample, step, message):
    client.predict(**RUN, api_name="/reverse")
    with pytest.raises(Exception, match=message):
        client.predict(sample, step, api_name="/reverse_decision")
    _, text = client.predict(1, 5, api_name="/reverse_decision")
    assert "Sample 1" in text


def test_the_round_trip_strip_compares_the_way_back_with_x0(client):
    client.predict(None, 300, 0, "digit-3", "ddim", 8, api_name="/roundtrip")
    image, text = client.predict(api_name="/roundtrip_decision")
    assert image is not None and "x_0 was read as **3**" in text
    assert "The way back" in text


def test_without_the_classifier_the_strip_says_why(monkeypatch):
    monkeypatch.setattr(decision_tab, "shipped_classifier", lambda: "The digit classifier is missing (x).")
    frames = [{"index": 0, "t": 999, "n": 1, "x0": np.zeros((30, 30), np.uint8)}]
    image, text = decision_tab.reverse_decision(frames, 1, None)
    assert image is None and "No strip" in text and "classifier is missing" in text
    trip = {"x0": np.zeros((28, 28), np.uint8), "x0_hats": [], "steps": [], "ts": [], "start_t": 300}
    image, text = decision_tab.roundtrip_decision(trip)
    assert image is None and "classifier is missing" in text


def test_before_any_run_the_strip_says_what_it_will_show():
    assert decision_tab.reverse_decision(None) == (None, decision_tab.NO_RUN)
    assert decision_tab.roundtrip_decision(None) == (None, decision_tab.NO_ROUNDTRIP)
    assert decision.decided_at(np.array([2])) == 0
