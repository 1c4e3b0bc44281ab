"""Shared fixtures: a tiny random UNet keeps the tests fast; threads pinned to avoid oversubscription."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Gradio's file cache, one per test process: the two pytest-xdist workers both run apps in
# process, each sweeping its cache (Blocks(delete_cache=...)); one removed a file that the
# other served (same image, same hashed path), which then answered 403 for it.
os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="gradio-tests-")
atexit.register(shutil.rmtree, os.environ["GRADIO_TEMP_DIR"], ignore_errors=True)
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# torch.compile warm-up costs a minute of CPU per app start: tested once, in test_model.py.
os.environ.setdefault("DIFFUSION_DEMO_COMPILE", "0")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> str:
    """A tiny, untrained, unconditional DDPMPipeline folder written by the real train/export
    code: diffusers' own pipelines can sample it (the equality tests), as they could the first model."""
    from diffusion_demo.training.train import build_unet, export

    out = tmp_path_factory.mktemp("tiny-ckpt")
    torch.manual_seed(0)
    export(build_unet(tiny=True, conditional=False).eval(), out, {"tiny": True})
    return str(out)


@pytest.fixture(scope="session")
def tiny_cond_checkpoint(tmp_path_factory) -> str:
    """The same, class-conditional (labels 0-9 and the null label 10), like the shipped model."""
    from diffusion_demo.training.train import build_unet, export

    out = tmp_path_factory.mktemp("tiny-cond-ckpt")
    torch.manual_seed(0)
    export(build_unet(tiny=True).eval(), out, {"tiny": True})
    return str(out)


@pytest.fixture(scope="session")
def tiny_cond_denoiser(tiny_cond_checkpoint):
    from diffusion_demo.models import unet

    return unet.load(tiny_cond_checkpoint, autocast="fp32")


@pytest.fixture(scope="session")
def tiny_denoiser(tiny_checkpoint):
    from diffusion_demo.models import unet

    return unet.load(tiny_checkpoint, autocast="fp32")


# pytest-xdist (pyproject: -n 2 --dist loadgroup): each test is its own unit (but the three of
# the corrupt-checkpoint app, an xdist_group so that one worker starts it), handed to whichever
# worker is free, in this order: the end-to-end tests, then the other slow ones (the AOTInductor
# build alone is ~45 s), then the short unit tests, which fill in at the end so that neither
# worker waits long for the other. Each worker starts its own app and Chromium when it first needs
# them. Not `--dist load`: it sends each worker a long run of consecutive tests, so one got every
# end-to-end test (842 s). Not a group for the browser tests: that worker would carry ~60%.
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # stable: file order within each class
    items.sort(key=lambda item: ("e2e" not in item.path.parts, item.get_closest_marker("slow") is None))
