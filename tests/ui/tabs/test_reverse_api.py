"""/reverse, /compare, /compare_guidance and /quality_chart through a real gradio_client, against
the app in-process with a tiny class-conditional UNet (and an unconditional one)."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from diffusion_demo.config import GUIDANCE
from diffusion_demo.diffusion.samplers import SAMPLER_IDS, SAMPLERS
from diffusion_demo.ui import build_demo
from tests.clients import http_client

BASE = dict(sampler="ddim", steps=4, num_samples=4, seed=3, eta=0.0)


@pytest.fixture(scope="module")
def client(cond_client):
    return cond_client


def pixels(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"))


def test_reverse_with_digit_and_guidance_streams(client):
    job = client.submit(**BASE, digit="7", guidance=3.0, api_name="/reverse")
    updates = list(job)
    result = job.result()
    assert len(updates) >= 2  # streamed, not one final answer
    x_t, x0, eps, status, formula, scrub, direction = result
    assert "done:" in status and "step 4/4" in status
    formulas = [o[4] for o in job.outputs() if isinstance(o[4], str)]  # the last one leaves it as is
    assert formulas and all("Classifier-free guidance" in f for f in formulas)
    # w = 3 inside the guidance interval; outside it (the noisiest steps) the text says why w = 1
    assert all("3.00" in f or "w = 3 applies only at diffusers timesteps" in f for f in formulas)
    assert any("3.00" in f for f in formulas)
    assert direction is not None and pixels(direction).std() > 0  # ε̂_y − ε̂_∅ of a guided step


def test_the_old_call_without_digit_and_guidance_gets_the_defaults(client):
    old = client.predict(**BASE, api_name="/reverse")
    new = client.predict(**BASE, digit="any", guidance=GUIDANCE.default_w, api_name="/reverse")
    np.testing.assert_array_equal(pixels(old[0]), pixels(new[0]))
    unguided = client.predict(**BASE, digit="any", guidance=0.0, api_name="/reverse")
    assert not np.array_equal(pixels(old[0]), pixels(unguided[0]))  # w matters
    assert unguided[6] is None  # w = 0: one pass, no guidance direction


@pytest.mark.parametrize(
    ("over", "message"),
    [
        # the parameter, then what it allows (Gradio's own checks named it nowhere)
        ({"digit": "12"}, r"digit must be one of any, 0, 1, .*, 9, each; got '12'"),
        ({"digit": 3.5}, r"digit must be one of any, 0, .*; got 3\.5"),
        ({"guidance": 9}, r"guidance must be a number in \[0, 8\]; got 9"),
        ({"guidance": -0.5}, r"guidance must be a number in \[0, 8\]; got -0\.5"),
        ({"guidance": "lots"}, "guidance must be a number"),
        ({"steps": -3}, r"steps must be a number in \[1, 1000\]; got -3"),
        (
            {"sampler": "lms"},
            f"sampler must be one of {', '.join(SAMPLER_IDS)}; got 'lms'",
        ),
    ],
)
def test_bad_digit_or_guidance_is_a_clean_error_and_the_server_keeps_serving(client, over, message):
    with pytest.raises(Exception, match=message):
        client.predict(**(BASE | {"digit": "any", "guidance": 1.0} | over), api_name="/reverse")
    assert "done:" in client.predict(**BASE, api_name="/reverse")[3]


def test_compare_takes_digit_and_guidance(client):
    *grids, status = client.predict(
        steps=3, num_samples=4, seed=1, eta=0.5, digit="each", guidance=2.0, api_name="/compare"
    )
    # every sampler of the registry, in its order; η = 0.5 reaches DDIM, the others run at 0
    assert len(grids) == len(SAMPLERS) and all(g is not None for g in grids)
    assert all(s.label in status for s in SAMPLERS.values()), status


def test_same_seed_several_w_gives_a_grid_per_w(client):
    *grids, status = client.predict(
        sampler="ddim", steps=3, num_samples=4, seed=1, eta=0.0, digit="2", api_name="/compare_guidance"
    )
    assert len(grids) == len(GUIDANCE.compare_ws)
    images = [pixels(g) for g in grids]
    assert not np.array_equal(images[0], images[-1])  # w = 0 vs the largest w
    for w in GUIDANCE.compare_ws:
        assert f"w = {w:g}" in status


def test_quality_chart_marks_the_settings(client):
    chart = client.predict(sampler="ddpm", steps=100, guidance=0.0, api_name="/quality_chart")
    assert Image.open(chart).size[0] > 400


def test_an_unconditional_checkpoint_disables_digit_and_guidance(tiny_denoiser):
    demo = build_demo(denoiser=tiny_denoiser)
    by_id = {c.get("props", {}).get("elem_id"): c["props"] for c in demo.config["components"]}
    assert by_id["reverse-digit"]["interactive"] is False
    assert by_id["reverse-guidance"]["interactive"] is False
    assert "unconditional" in by_id["reverse-unconditional-note"]["value"]
    conditional = build_demo(denoiser=None, checkpoint_error="x")
    ids = {c.get("props", {}).get("elem_id") for c in conditional.config["components"]}
    assert "reverse-digit" in ids


def test_a_raw_http_call_with_the_old_five_values_gets_the_defaults(client):
    """Scripts written before digit and guidance existed post five values: they still run."""
    import json

    with http_client(timeout=60) as http:
        config = http.get(client.src.rstrip("/") + "/config").json()
        fn = next(i for i, d in enumerate(config["dependencies"]) if d.get("api_name") == "reverse")
        body = {
            "data": ["ddim", 3, 2, 0, 0.0],
            "fn_index": fn,
            "session_hash": "oldscript01",
            "trigger_id": None,
        }
        base = client.src.rstrip("/") + "/gradio_api/queue"
        assert http.post(base + "/join", json=body).status_code == 200
        with http.stream("GET", base + "/data", params={"session_hash": "oldscript01"}) as stream:
            for line in stream.iter_lines():
                msg = json.loads(line[5:]) if line.startswith("data:") else {}
                if msg.get("msg") == "process_completed":
                    assert msg["success"], msg
                    break


def test_the_x_t_frame_opens_on_x_T_and_follows_the_seed_until_a_run(tiny_cond_denoiser):
    """A fresh tab (or a lecture scene on it) shows x_T ~ N(0, I) of its seed, not an empty box."""
    from diffusion_demo.diffusion.sampling import initial_noise
    from diffusion_demo.ui.common import UIContext
    from diffusion_demo.ui.tabs import reverse
    from diffusion_demo.ui.tabs.reverse_layout import noise_frame

    ctx = UIContext(schedule=None, denoiser=tiny_cond_denoiser, checkpoint_error=None)
    first = np.asarray(noise_frame(ctx))
    expected = np.asarray(reverse.tensor_frame(initial_noise((16, 1, 28, 28), 0).clamp(-1, 1)))
    assert np.array_equal(first, expected) and first.std() > 30
    other = np.asarray(reverse.noise_preview(ctx, 4, 7, None))
    assert other.shape == (2 * 28 + 3, 2 * 28 + 3) and not np.array_equal(other[:10, :10], first[:10, :10])
    assert reverse.noise_preview(ctx, 4, 7, [{"index": 0}]) == gr.skip()  # after a run: left alone
    with pytest.raises(ValueError, match="num_samples"):
        reverse.noise_preview(ctx, 99, 7, None)
