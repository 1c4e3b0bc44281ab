"""Downloads (/export_* endpoints) through gradio_client against the real app in-process.

The files are decoded and checked: frame counts, sizes, and content where it is known
exactly (the forward chain's first frame is x_0 itself).
"""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from diffusion_demo.config import DOWNLOADS
from diffusion_demo.media import export, images
from diffusion_demo.media.export_files import check_format, safe_name, schedule_file
from tests.ui.conftest import served

from ..clients import api_client

CAPTION = export.EXPORT.caption_px
HOLD = round(export.EXPORT.hold_last_s * export.EXPORT.fps)  # MP4 repeats the last frame


@pytest.fixture(scope="module")
def app(tiny_denoiser, tmp_path_factory):
    cache = tmp_path_factory.mktemp("gradio-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_TEMP_DIR", str(cache))
        with served(tiny_denoiser) as (demo, url):
            yield demo, url, cache


def new_client(url: str, where: Path):
    return api_client(url, download_files=str(where))


@pytest.fixture(scope="module")
def client(app, tmp_path_factory):
    c = new_client(app[1], tmp_path_factory.mktemp("downloads"))
    yield c
    c.close()


def gif_frames(path: str) -> list[np.ndarray]:
    img = Image.open(path)
    assert img.format == "GIF"
    out = []
    for i in range(img.n_frames):
        img.seek(i)
        out.append(np.asarray(img.convert("L")))
    return out


def mp4_frames(path: str, tries: int = 3) -> np.ndarray:
    """All frames of an MP4 (N, H, W, 3), decoded by imageio's ffmpeg. imageio-ffmpeg gives
    ffmpeg 10 s to print the stream header: on a loaded machine that can be too short, so
    the read is retried (an invalid file fails every time)."""
    import imageio.v3 as iio

    for attempt in range(tries):
        try:
            return iio.imread(path, index=None)
        except OSError:
            if attempt == tries - 1:
                raise
            time.sleep(1.0)
    raise AssertionError("unreachable")


def test_export_endpoints_are_public_with_format_first(client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    params = {name: [p["parameter_name"] for p in ep["parameters"]] for name, ep in api.items()}
    assert params["/export_forward"] == [
        "format",
        "image",
        "schedule",
        "seed",
        "example",
        "beta_start",
        "beta_end",
        "T",
    ]
    assert params["/export_schedule"] == ["format", "schedule", "beta_start", "beta_end", "T", "compare", "t"]
    assert params["/export_reverse"] == ["format"]  # the run itself is this session's state
    assert params["/export_inpaint"] == ["format"]  # likewise
    assert params["/export_roundtrip"] == ["format", "image", "t", "seed", "example", "sampler", "steps"]
    assert params["/export_toy2d"][:4] == ["format", "dataset", "seed", "points"]
    for name in (
        "/export_forward",
        "/export_schedule",
        "/export_reverse",
        "/export_inpaint",
        "/export_roundtrip",
        "/export_toy2d",
    ):
        assert api[name]["returns"][0]["component"] == "File"
    # one public endpoint per view; the buttons' own events stay private
    assert sorted(n for n in api if n.startswith("/export")) == [
        "/export_forward",
        "/export_inpaint",
        "/export_reverse",
        "/export_roundtrip",
        "/export_schedule",
        "/export_toy2d",
    ]


def test_forward_gif_has_every_frame_and_starts_at_x0(client):
    path = client.predict("gif", None, "cosine", 3, "digit-3", 1e-4, 0.02, 1000, api_name="/export_forward")
    assert Path(path).name == "forward_digit-3_cosine_T1000_seed3.gif"
    frames = gif_frames(path)
    source = images.fit(images.load_image(images.examples()["digit-3"]), export.EXPORT.forward_size)
    assert len(frames) == DOWNLOADS.forward_frames
    assert frames[0].shape == (source.height + CAPTION, source.width)
    x0 = np.asarray(source.convert("L"), dtype=np.int16)
    # frame 0 is t = 0: the image itself (gray digits are written without a palette)
    assert np.abs(frames[0][: source.height].astype(np.int16) - x0).max() <= 1
    # the last frame is t = T: noise, nothing of the digit left
    last = frames[-1][: source.height].astype(np.float64)
    assert last.std() > 60
    assert abs(np.corrcoef(last.ravel(), x0.ravel())[0, 1]) < 0.1
    # the caption band is drawn (white text on black)
    band = frames[5][source.height :]
    assert band.min() == 0 and band.max() > 200


def test_forward_mp4_and_png_strip(client):
    mp4 = client.predict(
        "mp4", None, "linear", 0, "photo-shapes", 1e-4, 0.02, 1000, api_name="/export_forward"
    )
    video = mp4_frames(mp4)
    n = DOWNLOADS.forward_frames
    assert video.shape[0] == n + HOLD
    assert video.shape[1] % 2 == 0 and video.shape[2] % 2 == 0 and video.shape[3] == 3
    png = client.predict(
        "png", None, "linear", 0, "photo-shapes", 1e-4, 0.02, 1000, api_name="/export_forward"
    )
    strip = Image.open(png)
    assert strip.format == "PNG"
    frame_w = video.shape[2]  # width of one frame (already even for a 256 px image)
    k = DOWNLOADS.forward_strip_frames
    assert k * frame_w < strip.width < k * (frame_w + 8)


def test_forward_uploaded_image(client, tmp_path):
    from gradio_client import handle_file

    src = tmp_path / "tiny.png"
    Image.fromarray(np.tile(np.arange(64, dtype=np.uint8) * 4, (32, 1))).save(src)
    path = client.predict(
        "gif", handle_file(str(src)), "linear", 1, "", 1e-4, 0.02, 50, api_name="/export_forward"
    )
    frames = gif_frames(path)
    assert Path(path).name.startswith("forward_tiny_linear_T50_seed1")
    assert frames[0].shape[1] == export.EXPORT.forward_size  # the longer side is resized to 256


@pytest.mark.parametrize(
    "args, message",
    [
        (("webm", None, "linear", 0, "digit-3", 1e-4, 0.02, 1000), "format must be one of gif, mp4, png"),
        (("gif", None, "quadratic", 0, "digit-3", 1e-4, 0.02, 1000), "Unknown schedule"),
        (("gif", None, "linear", -1, "digit-3", 1e-4, 0.02, 1000), "seed must be a whole number"),
        (("gif", None, "linear", 0, "nope", 1e-4, 0.02, 1000), "Unknown example 'nope'"),
        (("gif", None, "linear", 0, "digit-3", 0.5, 0.02, 1000), "beta_start"),
    ],
)
def test_forward_bad_input_is_a_clear_error(client, args, message):
    with pytest.raises(Exception, match=message) as info:
        client.predict(*args, api_name="/export_forward")
    assert "Traceback" not in str(info.value)


def test_schedule_png_and_svg(client):
    png = client.predict(
        "png", "linear", 1e-4, 0.02, 1000, "cosine, sigmoid", 300, api_name="/export_schedule"
    )
    assert Path(png).name == "schedule_linear_vs_cosine-sigmoid_T1000.png"
    img = Image.open(png)
    assert img.format == "PNG" and img.width > 600 and img.height > 300
    svg = client.predict("svg", "cosine", 1e-4, 0.02, 500, "", None, api_name="/export_schedule")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    text = Path(svg).read_text()
    assert "<path" in text and len(text) > 10_000
    with pytest.raises(Exception, match="Unknown schedule 'quadratic' in compare"):
        client.predict("png", "linear", 1e-4, 0.02, 1000, "quadratic", None, api_name="/export_schedule")
    with pytest.raises(Exception, match=r"t must be a whole number in \[0, 500\]"):
        client.predict("svg", "linear", 1e-4, 0.02, 500, "", 900, api_name="/export_schedule")
    with pytest.raises(Exception, match="format must be one of png, svg"):
        client.predict("gif", "linear", 1e-4, 0.02, 1000, "", None, api_name="/export_schedule")


def test_reverse_export_uses_this_sessions_last_run(app, client, tmp_path):
    fresh = new_client(app[1], tmp_path)
    with pytest.raises(Exception, match="Nothing to export yet: press Generate first"):
        fresh.predict("gif", api_name="/export_reverse")
    fresh.close()

    client.predict("ddim", 5, 4, 0, 0.0, api_name="/reverse")
    gif = client.predict("gif", api_name="/export_reverse")
    frames = gif_frames(gif)
    assert len(frames) == 5  # one stored replay frame per step (5 steps)
    width = frames[0].shape[1]
    assert width == 256  # frames.show(): the UI's replay width
    assert Path(gif).name == "reverse_5frames_step5.gif"
    mp4 = client.predict("mp4", api_name="/export_reverse")
    video = mp4_frames(mp4)
    assert video.shape[0] == 5 + HOLD and video.shape[2] == 256
    # a second run replaces what is exported
    client.predict("ddpm", 3, 1, 1, 0.0, api_name="/reverse")
    assert len(gif_frames(client.predict("gif", api_name="/export_reverse"))) == 3


def test_roundtrip_export_follows_the_sampler_steps(app, client, tiny_denoiser):
    from diffusion_demo.diffusion.roundtrip import start_timestep
    from diffusion_demo.diffusion.sampling import make_scheduler

    gif = client.predict("gif", None, 300, 0, "digit-7", "ddim", 10, api_name="/export_roundtrip")
    start = start_timestep(tiny_denoiser.scheduler_config, "ddim", 10, 300)
    visited = [int(s) for s in make_scheduler(tiny_denoiser.scheduler_config, "ddim", 10).timesteps]
    back = len([s for s in visited if s <= start])
    frames = gif_frames(gif)
    assert len(frames) == 2 + back  # x_0, x_t, then one frame per step back
    assert frames[0].shape == (256 + CAPTION, 256)
    assert Path(gif).name == "roundtrip_digit-7_t300_ddim10_seed0.gif"
    # x_0 is the digit: dark background, bright strokes
    digit = frames[0][:256]
    assert digit.mean() < 100 and digit.max() > 200
    mp4 = client.predict("mp4", None, 0, 0, "digit-3", "ddim", 10, api_name="/export_roundtrip")
    assert mp4_frames(mp4).shape[0] == 1 + HOLD  # t = 0: nothing to undo, only x_0
    with pytest.raises(Exception, match="Unknown example 'photo-flower'"):
        client.predict("gif", None, 300, 0, "photo-flower", "ddim", 10, api_name="/export_roundtrip")


@pytest.mark.slow
def test_toy2d_animation_gif_and_mp4(client):
    gif = client.predict("gif", "moons", 0, "", "linear", 1e-4, 0.02, 1000, api_name="/export_toy2d")
    frames = gif_frames(gif)
    assert len(frames) >= 2 * DOWNLOADS.toy2d_frames - 2  # forward + reverse (t = 0, T kept)
    assert frames[0].shape == (320, 320)
    mp4 = client.predict("mp4", "moons", 0, "", "linear", 1e-4, 0.02, 1000, api_name="/export_toy2d")
    assert mp4_frames(mp4).shape[0] == len(frames) + round(export.EXPORT.hold_last_s * DOWNLOADS.toy2d_fps)


def test_files_are_written_inside_gradios_cache_and_swept(app, monkeypatch, tmp_path):
    cache = app[2]
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    path = Path(schedule_file("svg"))
    assert path.is_relative_to(cache / "diffusion-demo-exports")
    old = path.parent
    stale = time.time() - DOWNLOADS.keep_s - 10
    os.utime(old, (stale, stale))
    fresh = Path(schedule_file("png")).parent
    assert not old.exists() and fresh.exists() and fresh != old


def test_format_check_and_safe_names():
    assert check_format(".GIF", "forward") == "gif"
    with pytest.raises(ValueError, match="format must be one of png, svg; got None"):
        check_format(None, "schedule")
    assert safe_name("../../etc/passwd") == "etc-passwd"
    assert safe_name("") == "x"


# --------------------------------------------------------------------------------------
# The same 2D animation from the command line (cli/export.py's toy2d sub-command)
# --------------------------------------------------------------------------------------


def test_cli_export_toy2d_help_lists_every_option(capsys):
    from diffusion_demo.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["export", "toy2d", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--dataset",
        "--point",
        "--points-file",
        "--seed",
        "--schedule",
        "--beta-start",
        "--beta-end",
        "--T",
        "--frames",
        "--size",
        "--no-train",
        "--out",
        "--fps",
        "--hold",
        "--per-row",
        "--no-captions",
        "--quiet",
    ):
        assert option in text, option
    assert "moons" in text and "swiss_roll" in text


@pytest.mark.slow
def test_cli_export_toy2d_writes_the_animation(tmp_path, capsys):
    from diffusion_demo.cli.main import main

    out = tmp_path / "x.gif"
    assert (
        main(["export", "toy2d", "--dataset", "moons", "--frames", "4", "--size", "64", "--out", str(out)])
        == 0
    )
    frames = gif_frames(str(out))
    assert frames[0].shape == (64, 64) and 6 <= len(frames) <= 8  # ~4 each way (t = 0 and T kept)
    assert f"wrote {out}" in capsys.readouterr().out
    # a custom set from --point, written as an MP4
    mp4 = tmp_path / "custom.mp4"
    args = ["export", "toy2d", "--dataset", "custom", "--point", "0,0", "--point", "1,1", "--point", "2,0"]
    assert main([*args, "--frames", "3", "--size", "48", "--quiet", "--out", str(mp4)]) == 0
    assert mp4_frames(str(mp4)).shape[1:3] == (48, 48)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dataset", "custom"], "--dataset custom needs points"),
        (["--point", "1,2"], "--point / --points-file need --dataset custom"),
        (["--dataset", "moons", "--frames", "1"], "n_frames must be in [2, 200]"),
        (["--dataset", "moons", "--size", "4"], "size must be in [8, 1024]"),
    ],
)
def test_cli_export_toy2d_bad_arguments_exit_2(tmp_path, capsys, args, message):
    from diffusion_demo.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["export", "toy2d", *args, "--out", str(tmp_path / "x.gif")])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
