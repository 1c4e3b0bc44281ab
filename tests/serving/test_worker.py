"""The compiled UNet in a worker process: built there once, then loaded from the cache; equal
to the eager UNet for any batch; the engine falls back to the app's own UNet if it dies."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading

import pytest
import torch

from diffusion_demo.config import ENGINE
from diffusion_demo.diffusion.sampling import ReverseRequest, sample
from diffusion_demo.models import unet
from diffusion_demo.serving import compiled, worker
from diffusion_demo.serving.engine import Engine

from ..tolerances import assert_same_within_rounding, float64


@pytest.mark.slow
def test_the_worker_builds_the_package_and_serves_exact_batches(tiny_cond_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFUSION_DEMO_CACHE", str(tmp_path))
    den = unet.load(tiny_cond_checkpoint, autocast="fp32")
    oracle = float64(den)  # tests/tolerances.py: how far float32 rounding moves each result
    net = worker.UNetWorker(den)
    try:
        assert "compiled (AOTInductor) and cached" in net.wait_ready(600)  # built in the child (~30 s)
        for n in (1, 2, 16, 63, 64, 130):  # every size, mixed t and y: no recompiling, no limit
            x, t, y = torch.randn(n, 1, 28, 28), torch.randint(0, 1000, (n,)), torch.randint(0, 11, (n,))
            with torch.inference_mode():  # compiled vs eager kernels: within float32 rounding
                assert_same_within_rounding(net.eps(x, t, y), den.eps(x, t, y), oracle.eps(x, t, y))
        # the app's process finds the same package in the cache (a second start)
        again = unet.load(tiny_cond_checkpoint, autocast="fp32")
        assert "loaded from the cache" in compiled.ensure(again, child=False)
        # one timestep for the whole batch (a scalar, expanded to a stride-0 row) and strided
        # inputs: the package reads dense memory, so each must be made contiguous first
        x = torch.randn(20, 1, 28, 28)[::2]
        y = torch.randint(0, 11, (20,))[::2]
        with torch.inference_mode():
            for t in (torch.tensor(700), 700, torch.tensor([700]).expand(10)):
                want, exact = den.eps(x, t, y), oracle.eps(x, t, y)
                assert_same_within_rounding(again.eps(x, t, y), want, exact)
                assert_same_within_rounding(net.eps(x, t, y), want, exact)
        assert net.alive
        # the engine uses it, and falls back to the app's own UNet when it dies
        engine = Engine(den, dataclasses.replace(ENGINE, gather_s=0.0))
        engine.network = net
        request = ReverseRequest(steps=4, num_samples=2, seed=3, digit="5")
        with engine.open("a", "x") as chain:
            got = sample(chain, request)
        assert_same_within_rounding(got, sample(den, request), sample(oracle, request), ops=request.steps)
        net._proc.kill()
        net._proc.wait(10)
        with engine.open("a", "x") as chain:
            torch.testing.assert_close(sample(chain, request), sample(den, request), atol=1e-5, rtol=1e-5)
        assert engine.network is None
    finally:
        net.close()


class _Flaky:
    def __init__(self, alive: bool) -> None:
        self.alive, self.calls = alive, 0

    def eps(self, x, t, labels=None):
        self.calls += 1
        raise RuntimeError("the worker could not run this batch")


def test_a_dead_worker_hands_the_network_back_to_the_app(tiny_denoiser):
    engine = Engine(tiny_denoiser)
    engine.network = _Flaky(alive=False)
    request = ReverseRequest(steps=3, num_samples=1)
    with engine.open("a", "x") as chain:
        torch.testing.assert_close(sample(chain, request), sample(tiny_denoiser, request))
    assert engine.network is None


def test_a_live_worker_s_error_goes_to_the_chain_that_caused_it(tiny_denoiser):
    engine = Engine(tiny_denoiser)
    engine.network = flaky = _Flaky(alive=True)
    errors = []

    def run() -> None:
        with engine.open("a", "x") as chain:
            try:
                sample(chain, ReverseRequest(steps=3, num_samples=1))
            except RuntimeError as exc:
                errors.append(str(exc))

    th = threading.Thread(target=run)
    th.start()
    th.join(30)
    assert errors == ["the worker could not run this batch"] and flaky.calls == 1
    assert engine.network is flaky


def test_app_py_can_start_the_worker_before_torch_and_diffusers_are_imported():
    """app.py imports this module first thing and starts the worker at once: the module must
    not pull in torch or diffusers (~3 s here), or the worker starts that much later."""
    code = (  # the module app.py imports, and the child's own entry point (cli/worker.py)
        "import sys, diffusion_demo.serving.worker, diffusion_demo.cli.worker; "
        "print(sorted({'torch', 'diffusers'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow  # seconds of work: not in the fast tier
def test_a_worker_that_cannot_load_or_dies_early_says_so_quickly(tmp_path):
    broken = worker.UNetWorker(path=str(tmp_path / "no-such-checkpoint"))
    with pytest.raises(worker.WorkerGone, match="CheckpointError"):
        broken.wait_ready(120)  # it loads first, then connects and reports the failure
    killed = worker.UNetWorker(path=str(tmp_path / "no-such-checkpoint"))
    killed._proc.kill()
    with pytest.raises(worker.WorkerGone, match="ended before it connected"):
        killed.wait_ready(120)
