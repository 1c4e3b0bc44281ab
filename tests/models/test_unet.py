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


def test_gpu_decorator_is_a_no_op_without_spaces():
    def f(x):
        return x + 1

    try:
        import spaces  # noqa: F401
    except ImportError:
        assert unet.gpu(f) is f
    else:
        assert unet.gpu(f) is not f
