"""Loading the checkpoint, device/dtype choice, compile warm-up, clear errors when it is broken."""

from __future__ import annotations

import shutil
import time

import pytest
import torch

from diffusion_demo.models import unet


def test_missing_checkpoint_says_how_to_rebuild(tmp_path):
    with pytest.raises(unet.CheckpointError, match="python -m diffusion_demo.training.train"):
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


@pytest.mark.slow
def test_compiled_unet_matches_eager(tiny_checkpoint):
    den = unet.load(tiny_checkpoint, autocast="fp32")
    den.compiled_batch = 2
    x = torch.randn(2, 1, 28, 28)
    with torch.inference_mode():
        eager = den.eps(x, 321)
        den.warm_up_compile()
        assert den.compiled is not None
        compiled = den.eps(x, 321)
    torch.testing.assert_close(compiled, eager, atol=1e-4, rtol=1e-4)


def test_compiled_unet_is_used_only_for_its_batch_under_inference_mode(tiny_checkpoint):
    """The frozen graph was compiled for one batch size under inference_mode; anything else
    must run the eager UNet instead of triggering a (slow) recompilation."""
    den = unet.load(tiny_checkpoint, autocast="fp32")
    calls = []

    def compiled(x, t):
        calls.append(x.shape[0])
        return den.unet(x, t)

    den.compiled, den.compiled_batch = compiled, 2
    x2, x3 = torch.randn(2, 1, 28, 28), torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        den.eps(x2, 10)  # grad disabled but not inference mode: eager
    with torch.inference_mode():
        den.eps(x3, 10)  # other batch size: eager
        den.eps(x2, 10)  # the compiled case
    assert calls == [2]


def test_a_conditional_model_compiles_for_the_grid_and_the_guided_grid(tiny_cond_checkpoint):
    """Guidance sends [x, x] through the UNet: the compiled graph serves both batch sizes,
    and an unlabelled call gets the null label (the unconditional model)."""
    den = unet.load(tiny_cond_checkpoint, autocast="fp32")
    calls = []

    def compiled(x, t, class_labels):
        calls.append((x.shape[0], class_labels.tolist()))
        return den.unet(x, t, class_labels=class_labels)

    den.compiled, den.compiled_batch = compiled, 2
    assert den.null_label == 10 and den.compiled_batches == (2, 4)
    with torch.inference_mode():
        den.eps(torch.randn(2, 1, 28, 28), 10)
        den.eps(torch.randn(4, 1, 28, 28), 10, torch.tensor([1, 2, 10, 10]))
        den.eps(torch.randn(3, 1, 28, 28), 10)  # other batch size: eager
    assert calls == [(2, [10, 10]), (4, [1, 2, 10, 10])]


@pytest.mark.slow
def test_a_chain_after_the_warm_up_never_recompiles(tiny_cond_checkpoint):
    """The frozen graph must serve every step of a chain: x_T (a normal tensor), later
    steps (inference tensors), any t, guided ([x, x]: twice the batch) or not, any digit.
    A recompilation would stall a request for seconds and fall back to a slower graph."""
    import torch._dynamo

    from diffusion_demo.diffusion.sampling import ReverseRequest, reverse_chain

    den = unet.load(tiny_cond_checkpoint, autocast="fp32")
    den.compiled_batch = 2
    den.warm_up_compile()
    with torch._dynamo.config.patch(error_on_recompile=True):
        for sampler, digit, w in (("ddpm", "any", 2.0), ("ddim", "3", 1.0), ("dpmsolver", "each", 0.0)):
            request = ReverseRequest(sampler=sampler, steps=4, num_samples=2, digit=digit, guidance=w)
            records = list(reverse_chain(den, request))
            assert len(records) == 4


def test_the_cli_compiles_only_runs_long_enough_to_repay_it(tiny_checkpoint, monkeypatch):
    den = unet.load(tiny_checkpoint, autocast="fp32")
    compiled_for = []
    monkeypatch.setattr(den, "warm_up_compile", lambda: compiled_for.append(den.compiled_batch) or 1.5)
    monkeypatch.setenv("DIFFUSION_DEMO_COMPILE", "auto")
    assert unet.compile_if_worth_it(den, 16, 16 * 50) is None  # DDIM-50 of 16: eager is quicker
    assert unet.compile_if_worth_it(den, 16, 16 * 1000) == 1.5  # DDPM-1000 of 16 pays for it
    assert compiled_for == [16]
    monkeypatch.setenv("DIFFUSION_DEMO_COMPILE", "0")
    assert unet.compile_if_worth_it(den, 64, 500 * 1000) is None
