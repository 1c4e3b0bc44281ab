"""Loading the checkpoint, device/dtype choice, compile warm-up, clear errors when it is broken."""

from __future__ import annotations

import shutil
import time

import pytest
import torch

from diffusion_demo.models import unet


def test_missing_checkpoint_says_how_to_rebuild(tmp_path):
    with pytest.raises(unet.CheckpointError, match="python -m diffusion_demo train"):
        unet.load(tmp_path / "nothing-here")


def test_corrupt_weights_are_a_clear_error(tiny_checkpoint, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_checkpoint, broken)
    (broken / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(unet.CheckpointError, match="could not be read"):
        unet.load(broken)


def test_loads_on_cpu_in_eval_mode_without_grad(tiny_denoiser):
    assert tiny_denoiser.device.type == "cpu"
    assert not tiny_denoiser.unet.training
    assert not any(p.requires_grad for p in tiny_denoiser.unet.parameters())
    assert tiny_denoiser.sample_shape == (1, 28, 28)


def test_autocast_choice_is_fp32_or_bf16_and_eps_is_float32(tiny_checkpoint):
    den = unet.load(tiny_checkpoint, autocast="auto")
    assert den.autocast in (None, torch.bfloat16)
    assert den.eps(torch.randn(2, 1, 28, 28), 10).dtype == torch.float32


def _fake_eps(den, seconds):
    """den.eps that takes seconds[autocast].pop(0) (a scripted timing), returning zeros."""

    def eps(x_t, t):
        time.sleep(seconds[den.autocast].pop(0))
        return torch.zeros_like(x_t)

    return eps


@pytest.mark.parametrize(
    ("bf16_times", "fp32_times", "expected"),
    [
        # bf16 twice as fast, but a burst of load elsewhere during its first timed call
        ([0.01, 0.12, 0.01, 0.01, 0.01, 0.01], [0.01] + [0.03] * 5, torch.bfloat16),
        # bf16 only ~5% faster: not clearly, so fp32 stays
        ([0.01] + [0.029] * 5, [0.01] + [0.03] * 5, None),
        # bf16 slower (no bf16 units), a burst during fp32's first call
        ([0.01] + [0.06] * 5, [0.01, 0.2, 0.03, 0.03, 0.03, 0.03], None),
    ],
)
def test_autocast_choice_survives_a_burst_of_load(
    tiny_denoiser, monkeypatch, bf16_times, fp32_times, expected
):
    monkeypatch.setattr(
        tiny_denoiser, "eps", _fake_eps(tiny_denoiser, {torch.bfloat16: bf16_times, None: fp32_times})
    )
    before = tiny_denoiser.autocast
    assert unet.choose_autocast(tiny_denoiser) is expected
    assert tiny_denoiser.autocast is before  # only timed: the shared fixture keeps its dtype


def test_gpu_only_marks_the_handler_for_the_app_to_wrap_on_zero_gpu():
    """`gpu` returns the function itself, marked (ui.zerogpu wraps marked handlers on ZeroGPU
    only); it never imports `spaces` (whether that imports decides nothing)."""

    def f(x):
        return x + 1

    assert unet.gpu(f) is f and getattr(f, unet.GPU_MARK) is True
    assert f(1) == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), ("", False), ("false", False), ("0", False), ("true", True), ("1", True), ("True", True)],
)
def test_zero_gpu_is_read_from_the_environment_as_spaces_reads_it(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    else:
        monkeypatch.setenv("SPACES_ZERO_GPU", value)
    assert unet.on_zero_gpu() is expected
    monkeypatch.setenv("DIFFUSION_DEMO_COMPILE", "auto")  # (the suite's conftest turns compiling off)
    # on ZeroGPU: no GPU outside a call to compile for, and no CPU cache to fill there
    assert unet.compile_wanted() is (not expected and hasattr(torch, "compile"))


@pytest.mark.parametrize("value", ["gpu", "cuda:x", "cpu:0", "mps"])
def test_an_unknown_device_is_one_clear_error(monkeypatch, value):
    monkeypatch.setenv("DIFFUSION_DEMO_DEVICE", value)
    with pytest.raises(unet.DeviceError, match=r"expected one of auto, cpu, cuda") as info:
        unet.pick_device()
    assert "\n" not in str(info.value)


def test_device_choice_cpu_and_auto(monkeypatch):
    monkeypatch.setenv("DIFFUSION_DEMO_DEVICE", "cpu")
    assert unet.pick_device() == torch.device("cpu")
    monkeypatch.setenv("DIFFUSION_DEMO_DEVICE", "auto")
    assert unet.pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.delenv("DIFFUSION_DEMO_DEVICE")
    assert unet.pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
@pytest.mark.parametrize("value", ["cuda", "cuda:0"])
def test_cuda_forced_without_a_gpu_is_one_clear_error(monkeypatch, value):
    monkeypatch.setenv("DIFFUSION_DEMO_DEVICE", value)
    with pytest.raises(unet.DeviceError, match="finds no CUDA GPU") as info:
        unet.pick_device()
    assert "\n" not in str(info.value)
