"""/roundtrip and /roundtrip_curve through a real gradio_client against the app in-process."""

from __future__ import annotations

import pytest
from gradio_client import Client
from PIL import Image

from diffusion_demo.ui import build_demo


@pytest.fixture(scope="module")
def client(tiny_denoiser):
    demo = build_demo(denoiser=tiny_denoiser)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", ssr_mode=False, quiet=True)
    try:
        yield Client(url, verbose=False)
    finally:
        demo.close()


def test_roundtrip_returns_the_reconstruction_first(client):
    recon, x0, x_t, status, formula = client.predict(
        image=None, t=300, seed=0, example="digit-3", sampler="ddim", steps=10, api_name="/roundtrip"
    )
    for path in (recon, x0, x_t):
        assert Image.open(path).size[0] > 28  # upscaled 28×28 digit
    assert "Started at t = 201" in status  # DDIM-10 visits 900, 800, …: the last one at or below t - 1
    assert "201" in formula


def test_roundtrip_bad_t_is_a_clean_error_and_the_server_keeps_serving(client):
    with pytest.raises(Exception, match=r"less than minimum value 0|t must be a whole number"):
        client.predict(image=None, t=-1, seed=0, example="digit-3", api_name="/roundtrip")
    with pytest.raises(Exception, match="not in the list of choices|Unknown example"):
        client.predict(image=None, t=10, seed=0, example="nope", api_name="/roundtrip")
    status = client.predict(image=None, t=0, seed=0, example="digit-3", api_name="/roundtrip")[3]
    assert "nothing to undo" in status


def test_roundtrip_curve_draws_the_distance_plot(client):
    plot, text = client.predict(
        image=None, seed=0, example="digit-3", sampler="ddim", steps=5, api_name="/roundtrip_curve"
    )
    assert Image.open(plot).size[0] > 300
    assert "Distance grows with t" in text
