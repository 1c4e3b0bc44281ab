"""The compiled UNet (AOTInductor) and its on-disk cache: used only where it is exact, never
trusted when stale or corrupt, optional when the folder is unwritable; the CLI's rule."""

from __future__ import annotations

import os
import stat

import torch

from diffusion_demo.config import COMPILE
from diffusion_demo.models import unet
from diffusion_demo.serving import compiled

from ..tolerances import assert_same_within_rounding, float64


def _fake_package(den, calls):
    def run(x, t, y=None):
        calls.append((x.shape[0], t.shape[0], None if y is None else y.tolist()))
        return den.unet(x, t, class_labels=y).sample if y is not None else den.unet(x, t).sample

    return run


def test_the_package_gets_a_timestep_and_a_label_per_row_in_bounded_chunks(tiny_cond_checkpoint):
    den = unet.load(tiny_cond_checkpoint, autocast="fp32")
    calls: list = []
    den.compiled = _fake_package(den, calls)
    x = torch.randn(130, 1, 28, 28)
    t = torch.randint(0, 1000, (130,))
    with torch.inference_mode():
        got = den.eps(x, t)  # no labels: the null label for every row
        one = den.eps(x[:1], 500, torch.tensor([3]))  # one row: padded to the package's minimum
    assert [c[:2] for c in calls[:3]] == [(44, 44), (44, 44), (42, 42)]
    assert all(set(c[2]) == {10} for c in calls[:3])
    assert calls[3][:2] == (COMPILE.min_rows, COMPILE.min_rows) and one.shape[0] == 1
    den.compiled = None
    with torch.inference_mode():  # chunks of 44 rows vs one call of 130: within float32 rounding
        assert_same_within_rounding(got, den.eps(x, t), float64(den).eps(x, t))


def test_the_package_is_handed_dense_inputs_even_for_one_timestep_for_all(tiny_cond_checkpoint):
    # An AOTInductor package reads its inputs as dense memory: an expanded scalar t (stride 0)
    # gave every row but the first a garbage timestep (the CLI's samples were 66% right).
    den = unet.load(tiny_cond_checkpoint, autocast="fp32")
    seen: list = []

    def dense_only(*args):
        seen.append([a.is_contiguous() for a in args])
        return _fake_package(den, [])(*args)

    den.compiled = dense_only
    x = torch.randn(12, 1, 28, 28)[::2]
    with torch.inference_mode():
        got = den.eps(x, torch.tensor(700), torch.arange(12)[::2] % 10)
    assert seen and all(all(flags) for flags in seen)
    den.compiled = None
    y = torch.arange(12)[::2] % 10
    with torch.inference_mode():  # padded to the package's minimum rows vs 6 rows: float32 rounding
        assert_same_within_rounding(got, den.eps(x, 700, y), float64(den).eps(x, 700, y))


def test_outside_inference_mode_the_eager_unet_runs(tiny_checkpoint):
    den = unet.load(tiny_checkpoint, autocast="fp32")
    calls: list = []
    den.compiled = _fake_package(den, calls)
    with torch.no_grad():
        den.eps(torch.randn(2, 1, 28, 28), 10)
    assert calls == []


def test_the_cache_key_changes_with_what_the_code_depends_on(
    tiny_checkpoint, tiny_cond_checkpoint, monkeypatch
):
    den = unet.load(tiny_checkpoint, autocast="fp32")
    key = compiled.cache_key(den)
    assert compiled.cache_key(unet.load(tiny_checkpoint, autocast="fp32")) == key  # stable
    assert compiled.cache_key(unet.load(tiny_cond_checkpoint, autocast="fp32")) != key  # other weights
    assert compiled.cache_key(unet.load(tiny_checkpoint, autocast="bf16")) != key  # other dtype
    monkeypatch.setattr(torch, "__version__", "0.0.0")
    assert compiled.cache_key(den) != key  # another torch
    monkeypatch.undo()
    monkeypatch.setattr(compiled, "cpu_flags", lambda: "sse2")
    assert compiled.cache_key(den) != key  # another CPU


def test_a_corrupt_or_stale_package_is_deleted_and_rebuilt(tiny_checkpoint, tmp_path, monkeypatch, caplog):
    """A truncated file, or one that loads but computes something else, is never used."""
    monkeypatch.setenv("DIFFUSION_DEMO_CACHE", str(tmp_path))
    den = unet.load(tiny_checkpoint, autocast="fp32")
    path = compiled.package_path(den)
    path.write_bytes(b"not a package")
    assert compiled.load_checked(den, path) is None and not path.exists()
    assert "unusable" in caplog.text
    # a package that loads but disagrees with the eager UNet (stale weights): refused too
    monkeypatch.setattr(
        torch._inductor, "aoti_load_package", lambda p: lambda *a: torch.zeros(4, 1, 28, 28) + 5
    )
    path.write_bytes(b"x")
    assert compiled.load_checked(den, path) is None and not path.exists()
    # ensure() rebuilds it (the build itself is the slow test below)
    built = []
    monkeypatch.setattr(compiled, "build", lambda d, p: built.append(p) or p.write_bytes(b"y") or 1.0)
    monkeypatch.setattr(
        torch._inductor,
        "aoti_load_package",
        lambda p: lambda *a: compiled._Forward(den.unet, None, False)(*a),
    )
    assert "compiled (AOTInductor) and cached" in compiled.ensure(den, child=False)
    assert built == [path] and den.compiled is not None


def test_an_unwritable_cache_folder_means_compiling_without_it(
    tiny_checkpoint, tmp_path, monkeypatch, caplog
):
    if os.geteuid() == 0:
        locked = tmp_path / "file-not-folder"
        locked.write_text("a file where the folder should be")  # root ignores permissions
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    monkeypatch.setenv("DIFFUSION_DEMO_CACHE", str(locked / "sub"))
    den = unet.load(tiny_checkpoint, autocast="fp32")
    monkeypatch.setattr(compiled, "build", lambda d, p: p.write_bytes(b"y") or 1.0)
    monkeypatch.setattr(
        torch._inductor,
        "aoti_load_package",
        lambda p: lambda *a: compiled._Forward(den.unet, None, False)(*a),
    )
    what = compiled.ensure(den, child=False)
    assert "is not writable" in caplog.text and "diffusion-demo-compiled-" in what


def test_the_cli_compiles_only_runs_long_enough_to_repay_it(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFUSION_DEMO_CACHE", str(tmp_path))
    monkeypatch.setenv("DIFFUSION_DEMO_COMPILE", "auto")
    den = unet.load(tiny_checkpoint, autocast="fp32")
    done = []
    monkeypatch.setattr(compiled, "ensure", lambda d, child=True: done.append(child) or "ok")
    assert compiled.compile_if_worth_it(den, 16 * 50) is None  # DDIM-50 of 16: eager is quicker
    assert compiled.compile_if_worth_it(den, 64 * 50) is None  # long enough to load, but nothing cached
    compiled.package_path(den).write_bytes(b"cached")
    assert compiled.compile_if_worth_it(den, 64 * 50) == "ok"  # cached: loading pays
    assert compiled.compile_if_worth_it(den, 16 * 1000) == "ok"  # DDPM-1000 of 16 pays for a build
    monkeypatch.setenv("DIFFUSION_DEMO_COMPILE", "0")
    assert compiled.compile_if_worth_it(den, 500 * 1000) is None
    assert done == [False, False]
