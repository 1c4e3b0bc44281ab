"""`python -m diffusion_demo`: sample in each format, clear errors with exit code 2, train delegation."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from diffusion_demo.cli.main import CLI, main
from diffusion_demo.config import ROOT
from diffusion_demo.diffusion.sampling import ReverseRequest, sample


def run_sample(ckpt: str, out, *extra: str) -> int:
    return main(["sample", "--checkpoint", ckpt, "--quiet", "--out", str(out), *extra])


def test_npy_has_shape_range_dtype_and_matches_the_ui_sample(tiny_checkpoint, tiny_denoiser, tmp_path):
    out = tmp_path / "s.npy"
    args = ["--sampler", "ddim", "--steps", "3", "--num-samples", "5", "--seed", "4", "--dtype", "fp32"]
    assert run_sample(tiny_checkpoint, out, *args) == 0
    x = np.load(out)
    assert x.shape == (5, 28, 28) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.std() > 0
    ref = sample(tiny_denoiser, ReverseRequest("ddim", 3, 5, seed=4))
    np.testing.assert_allclose(x, ((ref[:, 0] + 1) / 2).numpy(), atol=1e-5)


def test_more_samples_than_the_ui_allows_in_several_batches(tiny_checkpoint, tmp_path):
    out = tmp_path / "many.npy"
    args = ["--sampler", "ddpm", "--steps", "2", "--num-samples", "40", "--batch-size", "16"]
    assert run_sample(tiny_checkpoint, out, *args) == 0
    x = np.load(out)
    assert x.shape == (40, 28, 28)
    # batches use different seeds: no two samples are the same
    flat = x.reshape(40, -1)
    assert len({row.tobytes() for row in flat}) == 40


def test_png_is_a_grid_of_the_samples(tiny_checkpoint, tmp_path):
    out = tmp_path / "grid.png"
    assert run_sample(tiny_checkpoint, out, "--steps", "2", "--num-samples", "5", "--scale", "3") == 0
    img = Image.open(out)
    cols, rows = math.ceil(math.sqrt(5)), 2  # images.grid: nearly square, 1 px gaps
    assert img.size == ((cols * 29 + 1) * 3, (rows * 29 + 1) * 3)


def test_gif_has_a_frame_per_step(tiny_checkpoint, tmp_path):
    out = tmp_path / "chain.gif"
    assert (
        run_sample(
            tiny_checkpoint, out, "--sampler", "ddim", "--steps", "6", "--num-samples", "4", "--scale", "1"
        )
        == 0
    )
    img = Image.open(out)
    assert img.n_frames == 7  # x_T and one per step
    assert img.size == (2 * 29 + 1, 2 * 29 + 1)
    assert img.info["loop"] == 0


def test_gif_is_throttled_to_max_frames(tiny_checkpoint, tmp_path):
    out = tmp_path / "chain.gif"
    args = ["--sampler", "ddpm", "--steps", "30", "--num-samples", "2", "--max-frames", "5"]
    assert run_sample(tiny_checkpoint, out, *args) == 0
    assert Image.open(out).n_frames == 5


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sampler", "lms"], "invalid choice: 'lms'"),
        (["--steps", "0"], "steps must be a whole number in [1, 1000]"),
        (["--steps", "1001"], "steps must be a whole number in [1, 1000]"),
        (["--steps", "ten"], "invalid int value"),
        (["--num-samples", "0"], "num_samples must be a whole number in [1, 100000]"),
        (["--seed", "-1"], "seed must be a whole number"),
        (["--eta", "1.5"], "eta must be a number in [0, 1]"),
        (["--batch-size", "0"], "--batch-size must be in [1, 256]"),
        (["--scale", "0"], "--scale must be in [1, 16]"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(tiny_checkpoint, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        run_sample(tiny_checkpoint, tmp_path / "x.npy", *args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "usage:" in err
    assert not (tmp_path / "x.npy").exists()


def test_unknown_extension_is_refused_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sample", "--checkpoint", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.jpg")])
    assert exc.value.code == 2
    assert "unknown extension '.jpg', expected one of .png, .gif, .npy" in capsys.readouterr().err


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_forced_without_a_gpu_exits_2_with_one_line(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DIFFUSION_DEMO_DEVICE", "cuda")
    with pytest.raises(SystemExit) as exc:
        run_sample(tiny_checkpoint, tmp_path / "x.npy")
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "DIFFUSION_DEMO_DEVICE=cuda" in err and "no CUDA GPU" in err and "Traceback" not in err
    assert not (tmp_path / "x.npy").exists()
    with pytest.raises(SystemExit) as exc:  # training reads the same setting
        main(["train", "--tiny", "--steps", "1", "--limit-digits", "8", "--out", str(tmp_path / "t")])
    assert exc.value.code == 2 and "DIFFUSION_DEMO_DEVICE=cuda" in capsys.readouterr().err


def test_missing_checkpoint_gives_the_checkpoint_error_message(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sample", "--checkpoint", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.png")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "checkpoint is missing" in err and "python -m diffusion_demo train" in err


def test_missing_out_and_missing_command_are_argparse_errors(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sample"])
    assert exc.value.code == 2 and "--out" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("sample", "train", "classifier", "evaluate", "export"):
        assert command in out


def test_train_is_delegated_to_the_training_cli(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--help"])
    assert exc.value.code == 0
    usage = capsys.readouterr().out
    assert "--limit-digits" in usage and "--refine-from" in usage
    out = tmp_path / "tiny"
    args = [
        "train",
        "--tiny",
        "--steps",
        "2",
        "--batch-size",
        "4",
        "--limit-digits",
        "16",
        "--finetune-steps",
        "0",
        "--refine-steps",
        "0",
        "--polish-steps",
        "0",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    assert (out / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    card = json.loads((out / "training.json").read_text())
    assert card["steps"] == 2  # the two steps asked for, no phase after them
    # phase 3 alone needs a phase 3
    for extra in (["--unconditional"], ["--refine-steps", "0"]):
        with pytest.raises(SystemExit) as exc:
            main(["train", "--tiny", "--refine-from", str(out), "--out", str(tmp_path / "p3"), *extra])
        assert exc.value.code == 2
        assert "--refine-from runs phase 3" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "train",
                "--tiny",
                "--polish-from",
                str(out),
                "--polish-steps",
                "0",
                "--out",
                str(tmp_path / "p4"),
            ]
        )
    assert exc.value.code == 2 and "--polish-from runs phase 4" in capsys.readouterr().err


@pytest.mark.slow
def test_module_entry_point_runs_headless(tiny_checkpoint, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "s.npy"
    ok = subprocess.run(
        [sys.executable, "-m", "diffusion_demo", "sample", "--checkpoint", tiny_checkpoint, "--steps", "2",
         "--num-samples", "3", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "wrote" in ok.stdout and np.load(out).shape == (3, 28, 28)
    assert "%" in ok.stderr  # the tqdm bar
    bad = subprocess.run(
        [sys.executable, "-m", "diffusion_demo", "sample", "--out", str(tmp_path / "x.bmp")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert bad.returncode == 2 and "expected one of .png, .gif, .npy" in bad.stderr


def test_cli_limit_is_above_the_ui_limit():
    from diffusion_demo.config import REVERSE

    assert CLI.max_samples > REVERSE.max_samples and CLI.batch_size <= 64


# --- --digit and --guidance (a class-conditional checkpoint) --------------------------------


@pytest.mark.parametrize("ext", [".npy", ".png", ".gif"])
def test_sample_writes_each_format_with_a_digit(tiny_cond_checkpoint, tiny_cond_denoiser, tmp_path, ext):
    out = tmp_path / f"sevens{ext}"
    args = [
        "--steps",
        "3",
        "--num-samples",
        "4",
        "--seed",
        "2",
        "--digit",
        "7",
        "--guidance",
        "3",
        "--dtype",
        "fp32",
    ]
    assert run_sample(tiny_cond_checkpoint, out, *args) == 0
    assert out.stat().st_size > 0
    if ext == ".npy":  # the same images as the UI's chain with those settings
        ref = sample(tiny_cond_denoiser, ReverseRequest("ddim", 3, 4, seed=2, digit="7", guidance=3.0))
        np.testing.assert_allclose(np.load(out), ((ref[:, 0] + 1) / 2).numpy(), atol=1e-5)


def test_sample_defaults_are_the_uis(tiny_cond_checkpoint, tiny_cond_denoiser, tmp_path):
    out = tmp_path / "default.npy"
    assert run_sample(tiny_cond_checkpoint, out, "--steps", "3", "--num-samples", "3", "--dtype", "fp32") == 0
    ref = sample(tiny_cond_denoiser, ReverseRequest("ddim", 3, 3))  # digit "any", the default w
    np.testing.assert_allclose(np.load(out), ((ref[:, 0] + 1) / 2).numpy(), atol=1e-5)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--digit", "12"], "invalid choice: '12'"),
        (["--guidance", "-1"], "guidance must be a number in [0, 8]"),
        (["--guidance", "nan"], "guidance must be a number in [0, 8]"),
        (["--guidance", "1e9"], "guidance must be a number in [0, 8]"),
        (["--guidance", "lots"], "invalid float value"),
    ],
)
def test_bad_digit_or_guidance_exit_2(tiny_cond_checkpoint, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        run_sample(tiny_cond_checkpoint, tmp_path / "x.npy", *args)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.npy").exists()


def test_a_digit_on_an_unconditional_checkpoint_is_a_clear_error(tiny_checkpoint, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        run_sample(tiny_checkpoint, tmp_path / "x.npy", "--digit", "3", "--steps", "2")
    assert exc.value.code == 2
    assert "needs the class-conditional model" in capsys.readouterr().err
