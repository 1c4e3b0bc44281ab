"""Forward-chain and schedule tabs: their handlers, then the real app through gradio_client.

The app is launched in-process without a model (build_demo(denoiser=None, ...)): the
forward process and the schedules need none.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from diffusion_demo.config import IMAGES, SCHEDULE, SCHEDULE_NAMES
from diffusion_demo.diffusion import forward, schedules
from diffusion_demo.diffusion.schedules import ScheduleSpec
from diffusion_demo.media import equations, images, plots
from diffusion_demo.ui.tabs import forward as forward_tab
from diffusion_demo.ui.tabs import schedule as schedule_tab
from tests.media.forward_inputs import assert_clean, write_bad_uploads, write_photo
from tests.ui.conftest import served

from ...clients import api_client


@pytest.fixture(scope="module")
def bad_uploads(tmp_path_factory) -> dict[str, Path]:
    return write_bad_uploads(tmp_path_factory.mktemp("bad-uploads"))


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    return write_photo(tmp_path_factory.mktemp("photo"))


# --------------------------------------------------------------------------------------
# Handlers, without a server
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1, IMAGES.max_seed + 1, 1.5, "x", None, float("nan")])
def test_check_seed(bad):
    assert forward_tab.check_seed(7.0) == 7
    with pytest.raises(ValueError, match="seed must be a whole number"):
        forward_tab.check_seed(bad)


def test_forward_handler_is_the_closed_form():
    x_t, x0_img, eps_img, md = forward_tab.forward_api(None, 300, "cosine", 4, "photo-shapes")
    src = forward_tab.resolve_source(None, "photo-shapes")
    spec = ScheduleSpec("cosine")
    eps = forward.fixed_noise(tuple(src.x0.shape), 4)
    expected = images.to_pil(forward.q_sample(src.x0, 300, spec, eps))
    assert np.array_equal(np.asarray(x_t), np.asarray(expected))
    # x_0 and ε come as PNG files, written once and reused: lossless, the same pixels
    assert np.array_equal(np.asarray(Image.open(x0_img)), np.asarray(src.image))
    assert np.array_equal(np.asarray(Image.open(eps_img)), np.asarray(images.noise_to_pil(eps)))
    assert forward_tab.forward_api(None, 800, "cosine", 4, "photo-shapes")[1:3] == (x0_img, eps_img)
    assert md == equations.forward_md(spec, 300)
    # same seed -> same ε; another seed -> another x_t
    again = forward_tab.forward_api(None, 300, "cosine", 4, "photo-shapes")[0]
    other = forward_tab.forward_api(None, 300, "cosine", 5, "photo-shapes")[0]
    assert np.array_equal(np.asarray(again), np.asarray(x_t))
    assert not np.array_equal(np.asarray(other), np.asarray(x_t))


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (dict(t=-1), "t must be a whole number in [0, 1000]"),
        (dict(t=1001), "t must be a whole number in [0, 1000]"),
        (dict(t=80, T=50), "t must be a whole number in [0, 50]"),
        (dict(schedule="quadratic"), "expected one of linear, scaled_linear, cosine, sigmoid"),
        (dict(beta_start=0.02, beta_end=0.02), "beta_start < beta_end"),
        (dict(beta_start=0.03, beta_end=0.02), "beta_start < beta_end"),
        (dict(T=0), "T must be between 1 and"),
        (dict(T=0.5), "T must be a whole number"),
        (dict(seed=-2), "seed must be a whole number"),
        (dict(example="cat"), "Unknown example 'cat'"),
    ],
)
def test_forward_handler_refuses_bad_input(kwargs, words):
    args = dict(image=None, t=10, schedule="linear", seed=0, example="digit-3") | kwargs
    with pytest.raises(ValueError) as info:
        forward_tab.forward_api(**args)
    assert words in str(info.value)


def test_prepare_reports_schedule_errors_inline_without_raising():
    out = forward_tab.prepare(None, 10, "linear", 0, "digit-3", 0.02, 0.01, 1000)
    assert out[3].startswith("✕") and "beta_start < beta_end" in out[3]
    assert all(isinstance(o, type(out[0])) for o in (out[0], out[1], out[2], out[4]))  # gr.skip()
    ok = forward_tab.prepare(None, 900, "linear", 0, "digit-3", 1e-4, 0.02, 500)
    assert isinstance(ok[0], Image.Image) and "digit-3" in ok[3]
    assert ok[4]["maximum"] == 500 and ok[4]["value"] == 500  # t clamped to the new T


def test_prepare_refused_upload_clears_the_images(bad_uploads):
    with pytest.warns(UserWarning, match="not an image"):
        out = forward_tab.prepare(str(bad_uploads["fake.png"]), 10, "linear", 0, "digit-3", 1e-4, 0.02, 1000)
    assert out[0] is None and out[2] is None and out[3].startswith("✕")


def test_chain_strip_and_table():
    strip, md = forward_tab.chain_api(None, "linear", 0, "digit-8", 1e-4, 0.02, 200)
    assert isinstance(strip, Image.Image) and strip.width > 9 * 96
    assert forward_tab.chain_api(None, "linear", 0, "digit-8", 1e-4, 0.02, 200)[0] is strip  # cached
    assert "| t | 0 | 25 | 50 |" in md and "same" in md


def test_schedule_data_is_the_schedulers_and_json_safe():
    for name in SCHEDULE_NAMES:
        d = schedule_tab.schedule_data(name, 1e-4, 0.02, 300, t=30)
        c = schedules.curves(ScheduleSpec(name, 1e-4, 0.02, 300))
        assert d["t"][0] == 1 and len(d["t"]) == len(d["alpha_bar"]) == len(d["log_snr"]) == 300
        assert d["alpha_bar"] == c.alpha_bar.tolist() and d["beta"] == c.beta.tolist()
        assert d["alpha_bar_T"] == c.alpha_bar[-1]
        assert d["at_t"]["alpha_bar"] == pytest.approx(c.alpha_bar[29])
        json.dumps(d, allow_nan=False)  # no NaN / Infinity anywhere


def test_alpha_bar_T_warning():
    ab, warning = schedule_tab.alpha_bar_T_report(ScheduleSpec("linear", T=1000))
    assert warning is None and ab < SCHEDULE.warn_alpha_bar_T
    ab, warning = schedule_tab.alpha_bar_T_report(ScheduleSpec("linear", T=50))
    assert ab > 0.5 and "not close to N(0, I)" in warning.replace("NOT", "not") and "T → ∞" in warning
    assert schedule_tab.schedule_data("linear", T=50)["x_T_is_noise"] is False
    assert "⚠" in schedule_tab.status_md(ScheduleSpec("scaled_linear", 1e-4, 0.002, 1000))
    assert "✓" in schedule_tab.status_md(ScheduleSpec("cosine"))
    table = schedule_tab.t_limit_md(ScheduleSpec("linear", T=1000))
    assert "1000 ← current" in table and "| 10 |" in table and "| 4000 |" in table


def test_schedule_views_show_errors_inline():
    out = schedule_tab.view_all("linear", 1e-4, 0.02, 0, [], 10)
    assert out[1].startswith("✕") and "T must be between 1 and" in out[1]
    out = schedule_tab.view_all("cosine", 1e-4, 0.02, 100, ["linear", "sigmoid"], 250)
    assert isinstance(out[0], Image.Image) and out[5]["value"] == 100  # t clamped to T
    chart, fwd, post = schedule_tab.view_t("linear", 1e-4, 0.02, 1000, [], 0)
    assert "nothing has been added" in fwd and "no step to undo" in post
    with pytest.raises(ValueError):
        schedule_tab.view_t("linear", 1e-4, 0.02, 1000, ["nope"], 10)


def test_schedule_chart_marker_changes_with_t():
    a = np.asarray(plots.schedule_chart(ScheduleSpec(), [], 100))
    b = np.asarray(plots.schedule_chart(ScheduleSpec(), [], 900))
    assert a.shape == b.shape and not np.array_equal(a, b)


# --------------------------------------------------------------------------------------
# The real app, through gradio_client
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app():
    with served(checkpoint_error="test") as running:
        yield running


@pytest.fixture(scope="module")
def client(app):
    return api_client(app[1])


def _png(path: str) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_endpoints_and_their_parameters(client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    params = {name: [p["parameter_name"] for p in ep["parameters"]] for name, ep in api.items()}
    assert params["/forward"] == ["image", "t", "schedule", "seed", "example", "beta_start", "beta_end", "T"]
    assert params["/chain"] == ["image", "schedule", "seed", "example", "beta_start", "beta_end", "T"]
    assert params["/schedule"] == ["schedule", "beta_start", "beta_end", "T", "t"]
    required = [p["parameter_name"] for p in api["/forward"]["parameters"] if not p["parameter_has_default"]]
    assert required == [], "every /forward parameter has a default"
    assert api["/forward"]["returns"][0]["component"] == "Image"
    # UI-only events stay private
    for hidden in (
        "/forward_view",
        "/forward_prepare",
        "/forward_histogram",
        "/schedule_view",
        "/forward_reseed",
    ):
        assert hidden not in api


def test_forward_through_the_api_equals_the_closed_form(client):
    x_t, x0, eps, md = client.predict(
        t=617, schedule="cosine", seed=3, example="photo-landscape", api_name="/forward"
    )
    src = forward_tab.resolve_source(None, "photo-landscape")
    noise = forward.fixed_noise(tuple(src.x0.shape), 3)
    expected = images.to_uint8(forward.q_sample(src.x0, 617, ScheduleSpec("cosine"), noise))
    assert np.array_equal(_png(x_t), expected)  # PNG: lossless
    assert _png(x0).shape == expected.shape
    assert (
        "x_{617}" in md
        and equations.tex_number(equations.forward_numbers(ScheduleSpec("cosine"), 617).sqrt_alpha_bar) in md
    )


def test_forward_through_the_api_with_an_upload_and_defaults(client, photo):
    from gradio_client import handle_file

    x_t, x0, _, _ = client.predict(image=handle_file(str(photo)), t=0, api_name="/forward")
    assert _png(x0).shape == (85, 256, 3)
    assert np.array_equal(_png(x_t), _png(x0))  # t = 0 is the image itself
    # image=None falls back to the default example
    x_t, x0, _, md = client.predict(api_name="/forward")
    assert _png(x0).shape[:2] == forward_tab.resolve_source(None).image.size[::-1]
    assert f"x_{{{forward_tab.DEFAULT_T}}}" in md


def test_schedule_and_chain_through_the_api(client):
    d = client.predict(schedule="sigmoid", T=800, t=200, api_name="/schedule")
    c = schedules.curves(ScheduleSpec("sigmoid", T=800))
    assert np.allclose(d["alpha_bar"], c.alpha_bar) and d["T"] == 800 and d["warning"] is None
    assert d["at_t"]["t"] == 200
    warn = client.predict(schedule="linear", T=40, api_name="/schedule")
    assert warn["x_T_is_noise"] is False and "N(0, I)" in warn["warning"]
    strip, md = client.predict(example="digit-5", T=100, api_name="/chain")
    assert _png(strip).shape[1] > 9 * 96 and "| t | 0 |" in md


def _expect_error(client, api_name: str, words: tuple[str, ...], **kwargs) -> None:
    with pytest.raises(Exception) as info:  # noqa: B017 (gradio_client raises AppError)
        client.predict(**kwargs, api_name=api_name)
    message = str(info.value)
    assert_clean(message)
    assert any(w in message for w in words), message
    # the server keeps serving
    assert client.predict(schedule="cosine", T=10, api_name="/schedule")["T"] == 10


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (dict(t=-1), ("t must be a whole number in [0, 1000]",)),
        (dict(t=1001), ("t must be a whole number in [0, 1000]",)),
        (dict(t=500, T=100), ("t must be a whole number in [0, 100]",)),
        (dict(t=2.5), ("whole number",)),
        (dict(t="ten"), ("whole number",)),
        (dict(schedule="quadratic"), ("expected one of linear, scaled_linear, cosine, sigmoid",)),
        (dict(beta_start=0.02, beta_end=0.01), ("beta_start < beta_end",)),
        (dict(beta_start=0.01, beta_end=0.01), ("beta_start < beta_end",)),
        (dict(T=0), ("T must be between 1 and",)),
        (dict(T=-3), ("T must be between 1 and",)),
        (dict(seed=-1), ("seed must be a whole number",)),
        (dict(example="cat"), ("Unknown example",)),
    ],
)
def test_forward_bad_input_gives_a_clean_error_and_the_server_survives(client, kwargs, words):
    _expect_error(client, "/forward", words, **kwargs)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("notes.txt", ("not an image",)),
        ("fake.png", ("not an image",)),
        ("empty.png", ("empty",)),
        ("zero-px.png", ("no pixels", "damaged", "not an image")),
        ("huge.png", ("limit",)),
    ],
)
def test_bad_files_through_the_api(client, bad_uploads, name, words):
    from gradio_client import handle_file

    _expect_error(client, "/forward", words, image=handle_file(str(bad_uploads[name])))
    _expect_error(client, "/chain", words, image=handle_file(str(bad_uploads[name])))


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (dict(schedule="quadratic"), ("expected one of",)),
        (dict(beta_end=0.00001), ("beta_start < beta_end",)),
        (dict(T=0), ("T must be between 1 and",)),
        (dict(T=5000), ("T must be between 1 and",)),
        (dict(t=1001), ("t must be a whole number",)),
    ],
)
def test_schedule_bad_input_through_the_api(client, kwargs, words):
    _expect_error(client, "/schedule", words, **kwargs)
