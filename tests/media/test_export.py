"""GIF / MP4 / PNG-strip writers and the `export` CLI (forward, reverse, roundtrip, the registry)."""

from __future__ import annotations

import argparse

import imageio.v2 as imageio
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from diffusion_demo.cli import export as export_cli
from diffusion_demo.cli.main import main
from diffusion_demo.config import GUIDANCE
from diffusion_demo.media import export


def ramp_frames(n: int, h: int, w: int) -> list[np.ndarray]:
    """n clearly different gray frames (Pillow would merge identical consecutive GIF frames)."""
    base = np.linspace(0, 200, w, dtype=np.float32)[None, :].repeat(h, 0)
    return [((base + 50 * k) % 256).astype(np.uint8) for k in range(n)]


def mp4_frames(path) -> tuple[dict, list[np.ndarray]]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    frames = [np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in reader]
    return meta, frames


# --- writers ------------------------------------------------------------------------------


def test_gif_decodes_with_the_frame_count_size_and_timing(tmp_path):
    frames = ramp_frames(6, 21, 30)
    frames[2] = Image.fromarray(frames[2])  # PIL images and arrays mix
    path = export.write_gif(tmp_path / "a.gif", frames, fps=10, hold_last_s=0.5)
    img = Image.open(path)
    assert img.n_frames == 6 and img.size == (30, 21)
    durations = []
    for k in range(img.n_frames):
        img.seek(k)
        durations.append(img.info["duration"])
        np.testing.assert_array_equal(np.asarray(img.convert("L")), np.asarray(frames[k]))  # lossless gray
    assert durations[:-1] == [100] * 5 and durations[-1] == 600


def test_colour_gif(tmp_path):
    rgb = [np.stack([f, 255 - f, f // 2], axis=2) for f in ramp_frames(3, 10, 12)]
    img = Image.open(export.write_gif(tmp_path / "c.gif", rgb))
    assert img.n_frames == 3 and img.size == (12, 10)
    img.seek(1)
    diff = np.abs(np.asarray(img.convert("RGB"), np.int16) - rgb[1]).mean()
    assert diff < 8  # palette quantisation only


def test_mp4_is_valid_h264_yuv420p_with_every_frame(tmp_path):
    frames = ramp_frames(7, 21, 31)  # odd sizes: padded to 22 x 32
    path = export.write_mp4(tmp_path / "a.mp4", frames, fps=10, progress=False)
    meta, back = mp4_frames(path)
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert meta["size"] == (32, 22) and meta["fps"] == 10
    assert len(back) == 7
    # the content survives the lossy codec (padding is black, bottom/right)
    assert np.abs(back[3][:21, :31, 0].astype(int) - frames[3]).mean() < 12
    assert back[3][21:, :, :].max() < 40
    # imageio's own reader agrees on the frame count
    with imageio.get_reader(path, format="FFMPEG") as r:
        assert r.count_frames() == 7


def test_mp4_hold_repeats_the_last_frame(tmp_path):
    path = export.write_mp4(
        tmp_path / "h.mp4", ramp_frames(3, 16, 16), fps=10, hold_last_s=0.5, progress=False
    )
    assert len(mp4_frames(path)[1]) == 3 + 5


def test_png_strip_wraps_into_rows(tmp_path):
    frames = ramp_frames(10, 6, 8)
    img = Image.open(export.write_strip(tmp_path / "s.png", frames, per_row=4))
    assert img.size == (4 * 8 + 3 * 2, 3 * 6 + 2 * 2)
    a = np.asarray(img.convert("L"))
    np.testing.assert_array_equal(a[:6, :8], frames[0])
    np.testing.assert_array_equal(a[8:14, 10:18], frames[5])
    assert (a[:, 8:10] == 255).all()  # white gaps between frames


def test_write_dispatches_on_the_extension(tmp_path):
    frames = ramp_frames(3, 8, 8)
    assert Image.open(export.write(tmp_path / "x.GIF", frames)).n_frames == 3
    assert Image.open(export.write(tmp_path / "sub" / "x.png", frames)).size == (3 * 8 + 2 * 2, 8)
    with pytest.raises(ValueError, match=r"unknown extension '\.webm', expected one of \.gif, \.mp4, \.png"):
        export.write(tmp_path / "x.webm", frames)


@pytest.mark.parametrize(
    "frames, message",
    [
        ([], "no frames"),
        ([np.zeros((4, 4), np.uint8), np.zeros((4, 5), np.uint8)], "same size"),
        ([np.zeros((4, 4), np.float32)], "uint8"),
        ([np.zeros((4, 4, 2), np.uint8)], r"\(H, W\)"),
    ],
)
def test_bad_frames_are_refused(tmp_path, frames, message):
    with pytest.raises(ValueError, match=message):
        export.write_gif(tmp_path / "x.gif", frames)


def test_bad_fps_is_refused(tmp_path):
    with pytest.raises(ValueError, match="fps"):
        export.write_mp4(tmp_path / "x.mp4", ramp_frames(2, 4, 4), fps=0)


# --- the export CLI -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def digit_png(tmp_path_factory):
    """A drawn 28 x 28 "0": white ring on black, like an MNIST digit."""
    from PIL import ImageDraw

    img = Image.new("L", (28, 28), 0)
    ImageDraw.Draw(img).ellipse((7, 4, 21, 24), outline=255, width=3)
    path = tmp_path_factory.mktemp("img") / "digit.png"
    img.save(path)
    return path


def test_forward_export_in_all_three_formats(digit_png, tmp_path, capsys):
    common = ["export", "forward", "--image", str(digit_png), "--schedule", "cosine", "--seed", "3"]
    common += ["--frames", "8", "--size", "56", "--hold", "0", "--quiet"]
    assert main([*common, "--out", str(tmp_path / "f.gif")]) == 0
    gif = Image.open(tmp_path / "f.gif")
    assert gif.n_frames == 8 and gif.size == (56, 56 + export.EXPORT.caption_px)
    assert main([*common, "--out", str(tmp_path / "f.mp4")]) == 0
    assert len(mp4_frames(tmp_path / "f.mp4")[1]) == 8
    assert main([*common, "--out", str(tmp_path / "f.png"), "--per-row", "4", "--no-captions"]) == 0
    assert Image.open(tmp_path / "f.png").size == (4 * 56 + 3 * 2, 2 * 56 + 2)
    assert "wrote" in capsys.readouterr().out


def test_forward_export_first_frame_is_the_image_and_last_is_noise(digit_png, tmp_path):
    args = ["export", "forward", "--image", str(digit_png), "--frames", "5", "--size", "28", "--quiet"]
    assert main([*args, "--no-captions", "--out", str(tmp_path / "f.gif")]) == 0
    gif = Image.open(tmp_path / "f.gif")
    first = np.asarray(gif.convert("L"), np.float32)
    gif.seek(4)
    last = np.asarray(gif.convert("L"), np.float32)
    original = np.asarray(Image.open(digit_png).convert("L"), np.float32)
    assert np.abs(first - original).max() <= 2
    assert np.corrcoef(last.ravel(), original.ravel())[0, 1] < 0.2  # x_T carries (almost) no signal


def test_reverse_export(tiny_checkpoint, tmp_path):
    args = ["export", "reverse", "--checkpoint", tiny_checkpoint, "--steps", "5", "--num-samples", "4"]
    args += ["--scale", "2", "--quiet", "--hold", "0"]
    assert main([*args, "--out", str(tmp_path / "r.gif")]) == 0
    gif = Image.open(tmp_path / "r.gif")
    assert gif.n_frames == 6 and gif.size == (2 * 59, 2 * 59 + export.EXPORT.caption_px)
    assert main([*args, "--out", str(tmp_path / "r.mp4")]) == 0
    meta, frames = mp4_frames(tmp_path / "r.mp4")
    assert len(frames) == 6 and meta["size"] == (118, 118 + export.EXPORT.caption_px)


def test_roundtrip_export(tiny_checkpoint, digit_png, tmp_path, capsys):
    args = ["export", "roundtrip", "--checkpoint", tiny_checkpoint, "--image", str(digit_png), "--seed", "0"]
    assert main([*args, "--t", "20", "--max-frames", "40", "--quiet", "--out", str(tmp_path / "rt.gif")]) == 0
    # DDPM-1000 from t = 20: 10 forward frames (0 … 20), then the 20 reverse steps
    assert Image.open(tmp_path / "rt.gif").n_frames == 10 + 20
    assert (
        main([*args, "--t", "500", "--sampler", "ddim", "--steps", "50", "--out", str(tmp_path / "rt.png")])
        == 0
    )
    out = capsys.readouterr().out
    assert "starting at t = 481" in out  # DDIM-50 visits 980, 960, …: the start snaps down
    assert "(10 frames" in out  # a PNG strip is a 10-frame figure by default


def test_roundtrip_refuses_t_out_of_range(tiny_checkpoint, digit_png, tmp_path, capsys):
    for t in ("0", "1001", "2000"):
        with pytest.raises(SystemExit) as exc:
            main(["export", "roundtrip", "--checkpoint", tiny_checkpoint, "--image", str(digit_png), "--t", t,
                  "--out", str(tmp_path / "x.gif")])  # fmt: skip
        # one range, whichever side is crossed
        assert exc.value.code == 2 and "--t must be a whole number in [1, 1000]" in capsys.readouterr().err


def test_export_errors_exit_2(tmp_path, digit_png, capsys):
    cases = [
        (
            ["forward", "--image", str(digit_png), "--out", str(tmp_path / "x.avi")],
            "expected one of .gif, .mp4, .png",
        ),
        (
            ["forward", "--image", str(tmp_path / "none.png"), "--out", str(tmp_path / "x.gif")],
            f"--image: file not found: {tmp_path / 'none.png'}",
        ),
        (
            ["roundtrip", "--image", "none.png", "--out", str(tmp_path / "x.gif")],
            "--image: file not found: none.png",
        ),
        (
            ["inpaint", "--image", "none.png", "--out", str(tmp_path / "x.gif")],
            "--image: file not found: none.png",
        ),
        (
            ["forward", "--image", str(digit_png), "--schedule", "quadratic", "--out", "x.gif"],
            "invalid choice",
        ),
        (
            ["forward", "--image", str(digit_png), "--frames", "1", "--out", str(tmp_path / "x.gif")],
            "--frames",
        ),
        (["forward", "--image", str(digit_png), "--fps", "0", "--out", str(tmp_path / "x.gif")], "fps"),
        (["forward", "--image", str(digit_png), "--size", "0", "--out", str(tmp_path / "x.gif")], "--size"),
        (["reverse", "--scale", "0", "--out", str(tmp_path / "x.gif")], "--scale must be in [1, 16]"),
        (
            ["reverse", "--checkpoint", str(tmp_path / "no"), "--out", str(tmp_path / "x.gif")],
            "checkpoint is missing",
        ),
        (["reverse", "--num-samples", "0", "--out", str(tmp_path / "x.gif")], "num_samples"),
    ]
    for args, message in cases:
        with pytest.raises(SystemExit) as exc:
            main(["export", *args])
        assert exc.value.code == 2, args
        assert message in capsys.readouterr().err, args


def test_export_help_lists_every_option(capsys):
    expected = {
        "forward": [
            "--image",
            "--schedule",
            "--seed",
            "--frames",
            "--chain",
            "--size",
            "--T",
            "--out",
            "--fps",
        ],
        "reverse": [
            "--sampler",
            "--steps",
            "--seed",
            "--eta",
            "--num-samples",
            "--checkpoint",
            "--max-frames",
        ],
        "roundtrip": ["--image", "--t", "--sampler", "--steps", "--seed", "--out", "--hold", "--no-captions"],
    }
    for kind, options in expected.items():
        with pytest.raises(SystemExit) as exc:
            main(["export", kind, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        for option in options:
            assert option in out, (kind, option)
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    out = capsys.readouterr().out
    assert all(kind in out for kind in expected)


def test_a_registered_export_gets_the_common_options(tmp_path, monkeypatch):
    monkeypatch.setattr(export_cli, "EXPORTS", dict(export_cli.EXPORTS))

    def add_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("--points", type=int, default=3)

    @export_cli.register("toy", "a toy export", add_arguments)
    def toy(args: argparse.Namespace) -> export.Frames:
        return export.Frames([Image.fromarray(f) for f in ramp_frames(args.points, 10, 10)], [], fps=5)

    assert main(["export", "toy", "--points", "4", "--out", str(tmp_path / "t.gif")]) == 0
    gif = Image.open(tmp_path / "t.gif")
    assert gif.n_frames == 4 and gif.info["duration"] == 200  # the command's own fps


# The former plugins (toy2d, inpaint) are plain imports of cli/export.py now: there is no
# plugin loading left to fail, so these check that every sub-command is registered and parses.
EVERY_EXPORT = ("forward", "reverse", "roundtrip", "toy2d", "inpaint")


def test_every_export_sub_command_is_registered():
    assert set(EVERY_EXPORT) <= set(export_cli.EXPORTS)
    assert "toy2d" in export_cli.EXPORTS and "inpaint" in export_cli.EXPORTS


@pytest.mark.parametrize("kind", EVERY_EXPORT)
def test_every_export_sub_command_parses_with_the_common_options(kind, tmp_path):
    from diffusion_demo.cli.main import build_parser

    args = build_parser().parse_args(["export", kind, "--out", str(tmp_path / "x.gif")])
    assert args.export_command is export_cli.EXPORTS[kind] and args.func is export_cli.run
    assert args.hold == export.EXPORT.hold_last_s and args.fps is None and not args.no_captions


def test_an_unknown_export_kind_is_reported(tmp_path, capsys, digit_png):
    with pytest.raises(SystemExit) as exc:
        main(["export", "no_such_kind", "--out", str(tmp_path / "x.gif")])
    assert exc.value.code == 2 and "invalid choice: 'no_such_kind'" in capsys.readouterr().err
    # ... and the other exports still work
    args = ["export", "forward", "--image", str(digit_png), "--frames", "2", "--size", "28", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "f.gif")]) == 0


def test_inpaint_export_writes_the_fill_in_chain(tiny_checkpoint, digit_png, tmp_path, capsys):
    args = ["export", "inpaint", "--checkpoint", tiny_checkpoint, "--image", str(digit_png), "--mask", "top"]
    args += ["--steps", "4", "--jumps", "1", "--num-samples", "2", "--quiet", "--hold", "0"]
    assert main([*args, "--out", str(tmp_path / "i.gif")]) == 0
    gif = Image.open(tmp_path / "i.gif")
    assert 2 <= gif.n_frames <= 1 + 4  # the masked input, then up to one frame per step
    assert "wrote" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main([*args, "--mask", "nope", "--out", str(tmp_path / "x.gif")])
    assert exc.value.code == 2 and "neither a preset" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["inpaint", "roundtrip"])
def test_a_target_digit_is_steered_to_with_the_apps_default_w(
    kind, tiny_cond_checkpoint, digit_png, tmp_path
):
    """--digit is never silently ignored: with a digit, w defaults to the app's (/inpaint,
    /roundtrip_sketch), so the files differ from a run without --digit; --digit any is w = 0."""
    args = ["export", kind, "--checkpoint", tiny_cond_checkpoint, "--image", str(digit_png), "--steps", "3"]
    # fp32: bf16 autocast (the default on AMX CPUs) differed between two runs in one process here
    args += ["--quiet", "--hold", "0", "--no-captions", "--dtype", "fp32"]
    args += ["--mask", "top", "--jumps", "1", "--num-samples", "2"] if kind == "inpaint" else ["--t", "300"]

    def export_with(name: str, *extra: str) -> bytes:
        assert main([*args, *extra, "--out", str(tmp_path / name)]) == 0
        return (tmp_path / name).read_bytes()

    plain = export_with("plain.png")
    assert export_with("any0.png", "--digit", "any", "--guidance", "0") == plain
    steered = export_with("d3.png", "--digit", "3")
    assert steered != plain
    assert export_with("d3w.png", "--digit", "3", "--guidance", f"{GUIDANCE.default_w:g}") == steered
