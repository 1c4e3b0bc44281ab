"""The 2D picture tab: its handlers, then the real app through gradio_client.

The app is launched in-process without the digits model (build_demo(denoiser=None, ...)):
the 2D tab ships its own small models. Training through the API uses a short config
(monkeypatched in this process, where the server runs) so the test stays fast.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from PIL import Image

from diffusion_demo.config import TOY2D_LIMITS, TRAIN2D
from diffusion_demo.diffusion.schedules import ScheduleSpec, alpha_bar_at
from diffusion_demo.toy2d.data import DATASETS
from diffusion_demo.toy2d.store import STORE
from diffusion_demo.ui.tabs import toy2d as toy2d_tab
from tests.ui.conftest import served

from ...clients import api_client

LEAK = re.compile(r"Traceback|File \"|/tmp/|site-packages|\.py\b", re.IGNORECASE)
COSINE = {"schedule": "cosine", "beta_start": 1e-4, "beta_end": 0.02, "T": 500}


def assert_clean(message: str) -> None:
    assert message.strip(), "empty message"
    assert not LEAK.search(message), f"message leaks internals: {message!r}"


# --------------------------------------------------------------------------------------
# Handlers, without a server
# --------------------------------------------------------------------------------------


def test_forward_view_numbers():
    fig, info = toy2d_tab.forward_view("rings", 250, 4)
    assert len(fig.axes) == 1 and len(fig.axes[0].collections) == 2  # the data, faint, and x_t
    assert fig.axes[0].collections[1].get_offsets().shape == (TOY2D_LIMITS.n_points, 2)
    assert info["alpha_bar"] == pytest.approx(alpha_bar_at(ScheduleSpec(), 250), rel=1e-5)
    assert info["signal_scale"] ** 2 + info["noise_scale"] ** 2 == pytest.approx(1.0, abs=1e-5)


def test_ui_events_get_rendered_images_not_figures():
    # figures are drawn under the app's matplotlib lock, never by gr.Plot (see toy2d_plots)
    image, info = toy2d_tab.as_images(toy2d_tab.forward_view, 1)("moons", 10, 0)
    assert isinstance(image, Image.Image) and image.size == (420, 420) and info["t"] == 10
    rendered = toy2d_tab.as_images(toy2d_tab.reverse_view, 3)("custom", 10, 0, "0, 0\n1, 1", 2)
    assert all(isinstance(im, Image.Image) for im in rendered[:3]) and isinstance(rendered[3], str)


def test_reverse_view_on_another_schedule_says_which_it_uses():
    STORE.clear()
    rev, traj, field, note, info = toy2d_tab.reverse_view("moons", 250, 0, "", 2, **COSINE)
    assert not info["same_schedule"] and info["model_t"] == 500
    assert "uses its own schedule" in note and "linear β 0.0001→0.02, T=1000" in note and "T=500" in note
    assert len(traj.axes[0].lines) == 2 * 3 + 2 * 3


def test_reverse_view_of_an_untrained_custom_set_explains_instead_of_failing():
    STORE.clear()
    *_, note, info = toy2d_tab.reverse_view("custom", 10, 0, "0, 0\n1, 2\n3, 1", 3)
    assert info["model"] is None and "No model for this custom set yet" in note


def test_build_registers_deep_links():
    import gradio as gr

    from diffusion_demo.ui.common import UIContext, schedule_panel

    with gr.Blocks():
        ctx = UIContext(schedule=schedule_panel(), denoiser=None, checkpoint_error="test")
        toy2d_tab.build(ctx)
    assert ctx.links["toy_dataset"].elem_id == "toy-dataset"
    assert [c for _, c in ctx.links["toy_dataset"].choices] == list(DATASETS)
    assert ctx.links["toy_t"].elem_id == "toy-t" and ctx.links["toy_t"].maximum == 1000
    assert ctx.links["toy_seed"].elem_id == "toy-seed"


def test_slider_range_follows_T():
    assert toy2d_tab.slider_range(200, 500) == {"__type__": "update", "maximum": 200, "value": 200}
    assert toy2d_tab.slider_range(2000, 500)["value"] == 500
    assert toy2d_tab.slider_range("", 500) == {"__type__": "update"}  # half-typed T: gr.skip()


# --------------------------------------------------------------------------------------
# The real app
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app():
    with served(checkpoint_error="test") as running:
        yield running


@pytest.fixture(scope="module")
def client(app):
    return api_client(app[1], download_files=False)


def _path(value) -> str:
    return value["path"] if isinstance(value, dict) else str(value)


def test_endpoints_and_their_keyword_parameters(client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    params = {name: [p["parameter_name"] for p in api[name]["parameters"]] for name in api}
    schedule = ["schedule", "beta_start", "beta_end", "T"]
    want = {
        "/toy2d_forward": ["dataset", "t", "seed", "points", *schedule],
        "/toy2d_reverse": ["dataset", "t", "seed", "points", "n_paths", *schedule],
        "/toy2d_train": ["dataset", "points", *schedule],
        "/toy2d_animation": ["dataset", "seed", "points", *schedule],
    }
    assert {name: params.get(name) for name in want} == want
    # the tab's UI events are not part of the public API
    assert [name for name in params if name.startswith("/toy2d")] == sorted(want, key=list(params).index)


def test_forward_through_the_api(client):
    image, info = client.predict(dataset="swiss_roll", t=1000, seed=1, api_name="/toy2d_forward")
    assert Path(_path(image)).is_file()
    assert info["t"] == 1000 and info["alpha_bar"] < 1e-4
    # at t = T the cloud is N(0, I)
    assert max(abs(m) for m in info["cloud"]["mean"]) < 0.15
    assert info["cloud"]["cov"][0][0] == pytest.approx(1.0, abs=0.15)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dataset": "moons", "t": 1001}, r"t must be a whole number in [0, 1000]"),
        ({"dataset": "moons", "t": 10, **COSINE, "T": 0}, "T must be between 1 and 4000"),
        ({"dataset": "spiral", "t": 10}, "expected one of moons, swiss_roll, rings, custom"),
        ({"dataset": "custom", "t": 10, "points": ""}, "The custom set is empty"),
        (
            {"dataset": "custom", "t": 10, "points": "1, 2\nfoo, 3"},
            "Line 2 ('foo, 3') of the custom set is not numeric",
        ),
        ({"dataset": "custom", "t": 10, "points": "1, nan"}, "not NaN or inf"),
        (
            {"dataset": "custom", "t": 10, "points": "1, 1\n" * 201},
            "Too many points in the custom set: 201 given",
        ),
        ({"dataset": "moons", "t": 10, "seed": -3}, "seed must be a whole number"),
    ],
)
def test_bad_input_gives_a_clear_error_then_the_server_still_answers(client, kwargs, message):
    with pytest.raises(Exception) as err:
        client.predict(**kwargs, api_name="/toy2d_forward")
    assert message in str(err.value)
    assert_clean(str(err.value))
    _, info = client.predict(dataset="moons", t=0, seed=0, api_name="/toy2d_forward")
    assert info["t"] == 0


def test_reverse_through_the_api(client):
    with pytest.raises(Exception, match=r"n_paths must be a whole number in \[1, 12\]"):
        client.predict(dataset="rings", t=0, n_paths=40, api_name="/toy2d_reverse")
    cloud, traj, field, note, info = client.predict(
        dataset="rings", t=0, seed=0, n_paths=3, api_name="/toy2d_reverse"
    )
    for image in (cloud, traj, field):
        with Image.open(_path(image)) as im:
            assert im.size == (420, 420)
    assert info["same_schedule"] and "shipped weights" in note
    q = info["samples_vs_data"]
    assert q["nn_distance"] < 2.5 * q["nn_baseline"]


def test_train_a_custom_set_then_reverse(client, monkeypatch):
    # a short run in this process (the server's): the endpoint's flow, not the full recipe
    monkeypatch.setattr(toy2d_tab, "TRAIN2D", dataclasses.replace(TRAIN2D, steps=300, max_seconds=600))
    STORE.clear()
    points = "-1, -1\n1, 1\n1, -1"
    with pytest.raises(Exception, match="No model for this custom set yet"):
        client.predict(dataset="custom", points=points, **COSINE, api_name="/toy2d_animation")
    *_, info = client.predict(dataset="custom", t=5, points=points, api_name="/toy2d_reverse")
    assert info["model"] is None

    job = client.submit(dataset="custom", points=points, **COSINE, api_name="/toy2d_train")
    final = job.result()
    assert final.startswith("✓ Trained") and "300 steps" in final
    assert any("step" in update for update in job.outputs()[:-1])  # streamed progress lines
    again = client.predict(dataset="custom", points=points, **COSINE, api_name="/toy2d_train")
    assert again.startswith("✓ Already trained")

    *_, note, info = client.predict(dataset="custom", t=0, points=points, **COSINE, api_name="/toy2d_reverse")
    assert info["same_schedule"] and info["model"]["steps"] == 300 and "trained in this session" in note
    STORE.clear()


def test_animation_through_the_api(client):
    gif = client.predict(dataset="rings", seed=0, api_name="/toy2d_animation")
    assert _path(gif).endswith(".gif")
    with Image.open(_path(gif)) as im:
        assert im.format == "GIF" and im.n_frames > 20 and im.info["loop"] == 0


def test_deep_links_are_registered(app):
    demo, _ = app
    ids = {getattr(b, "elem_id", None) for b in demo.blocks.values()}
    assert {"toy-dataset", "toy-t", "toy-seed", "toy-forward", "toy-reverse", "toy-trajectories"} <= ids
    assert {"toy-field", "toy-train", "toy-animate", "toy-gif", "toy-points"} <= ids
