"""/roundtrip and /roundtrip_curve through a real gradio_client against the app in-process."""

from __future__ import annotations

import dataclasses

import gradio as gr
import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from diffusion_demo.diffusion.samplers import SAMPLER_IDS
from diffusion_demo.models import unet
from diffusion_demo.training.data import split
from diffusion_demo.ui.common import UIContext
from diffusion_demo.ui.tabs import roundtrip as roundtrip_tab
from tests.clients import api_client
from tests.ui.conftest import served


@pytest.fixture(scope="module")
def client(tiny_denoiser):
    with served(tiny_denoiser) as (_, url):
        yield api_client(url)


def test_roundtrip_returns_the_reconstruction_first(client):
    recon, x0, x_t, status, formula = client.predict(
        image=None, t=300, seed=0, example="digit-3", sampler="ddim", steps=10, api_name="/roundtrip"
    )
    for path in (recon, x0, x_t):
        assert Image.open(path).size[0] > 28  # upscaled 28×28 digit
    assert "Started at t = 201" in status  # DDIM-10 visits 900, 800, …: the last one at or below t - 1
    assert "201" in formula


def test_roundtrip_bad_t_is_a_clean_error_and_the_server_keeps_serving(client):
    # each refusal names the parameter and what it allows
    with pytest.raises(Exception, match=r"t must be a number in \[0, 1000\]; got -1"):
        client.predict(image=None, t=-1, seed=0, example="digit-3", api_name="/roundtrip")
    with pytest.raises(Exception, match="example must be one of digit-3, .*; got 'nope'"):
        client.predict(image=None, t=10, seed=0, example="nope", api_name="/roundtrip")
    with pytest.raises(Exception, match=r"steps must be a number in \[1, 1000\]; got 0"):
        client.predict(image=None, seed=0, example="digit-3", steps=0, api_name="/roundtrip_curve")
    with pytest.raises(Exception, match=f"sampler must be one of {', '.join(SAMPLER_IDS)}; got 'x'"):
        client.predict(image=None, seed=0, example="digit-3", sampler="x", api_name="/roundtrip_curve")
    status = client.predict(image=None, t=0, seed=0, example="digit-3", api_name="/roundtrip")[3]
    assert "nothing to undo" in status


def test_roundtrip_curve_draws_the_distance_plot(client):
    plot, text = client.predict(
        image=None, seed=0, example="digit-3", sampler="ddim", steps=5, api_name="/roundtrip_curve"
    )
    assert Image.open(plot).size[0] > 300
    assert "Distance grows with t" in text


def test_roundtrip_handlers_are_importable_and_use_the_checkpoints_own_schedule(tiny_denoiser):
    # a checkpoint trained with T = 500: t is checked against it, not the shipped model's 1000
    short = dataclasses.replace(
        tiny_denoiser, scheduler_config={**tiny_denoiser.scheduler_config, "num_train_timesteps": 500}
    )
    ctx = UIContext(schedule=None, denoiser=short, checkpoint_error=None)
    with pytest.raises(ValueError, match=r"t must be .*500"):
        next(roundtrip_tab.roundtrip(ctx, None, 600, 0, "digit-3"))
    *_, (_, _, _, status, formula, trip) = roundtrip_tab.roundtrip(ctx, None, 300, 0, "digit-3", "ddim", 10)
    assert "Started at t = 251" in status  # DDIM-10 over T = 500 visits 450, 400, …, 250
    assert "251" in formula
    # without a model: t is still checked (T = 1000), then the checkpoint's error is the message
    broken = UIContext(schedule=None, denoiser=None, checkpoint_error="no checkpoint here")
    with pytest.raises(unet.CheckpointError, match="no checkpoint here"):
        next(roundtrip_tab.roundtrip(broken, None, 1000, 0, "digit-3"))


def test_the_start_frames_are_where_the_round_trip_starts(tiny_denoiser):
    """Before any run the tab shows x_0 and x_t (issue #27): exactly the x_0 and x_t that Round
    trip then streams, for the same digit, t, seed and sampler; bad values show nothing new."""
    ctx = UIContext(schedule=None, denoiser=tiny_denoiser, checkpoint_error=None)
    x0, x_t = roundtrip_tab.start_frames(ctx, None, 300, 4, "digit-7", "ddim", 10)
    *_, (_, run_x0, run_xt, _, _, _) = roundtrip_tab.roundtrip(ctx, None, 300, 4, "digit-7", "ddim", 10)
    assert np.array_equal(np.asarray(x0), np.asarray(run_x0))
    assert np.array_equal(np.asarray(x_t), np.asarray(run_xt))
    other_seed = roundtrip_tab.start_frames(ctx, None, 300, 5, "digit-7", "ddim", 10)[1]
    assert not np.array_equal(np.asarray(x_t), np.asarray(other_seed))
    assert np.array_equal(*(np.asarray(f) for f in roundtrip_tab.start_frames(ctx, None, 0, 4, "digit-7")))
    assert roundtrip_tab.start_frames(ctx, None, 300, 4, "nope") == (None, None)
    assert roundtrip_tab.start_frames(ctx, None, 5000, 4, "digit-7")[1] is None
    assert roundtrip_tab.preview(ctx, None, 5000, 4, "digit-7")[1] == gr.skip()
    # without a model: the digit alone (the status says why there is no chain)
    broken = UIContext(schedule=None, denoiser=None, checkpoint_error="no checkpoint here")
    x0_alone, nothing = roundtrip_tab.start_frames(broken, None, 300, 4, "digit-7")
    assert np.array_equal(np.asarray(x0_alone), np.asarray(x0)) and nothing is None


def test_a_28x28_upload_is_used_as_it_is_and_the_status_says_so(client, tmp_path):
    (_, _), (held_out, _) = split()
    digit = (held_out[7] * 255).round().astype(np.uint8)
    Image.fromarray(digit).save(tmp_path / "held.png")
    recon, x0, x_t, status, _ = client.predict(
        image=handle_file(str(tmp_path / "held.png")), t=100, seed=0, steps=2, api_name="/roundtrip"
    )
    assert status.endswith("Your upload: used as it is, 28×28."), status
    shown = np.asarray(Image.open(x0).convert("L"))  # a one-digit grid: a 1 px border around it
    assert np.array_equal(shown[1:29, 1:29], digit)  # x_0 is the upload itself
