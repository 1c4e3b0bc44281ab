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


# pytest-xdist groups (pyproject: -n 2 --dist loadgroup). The browser tests run on one
# worker (one app, one Chromium), the other end-to-end tests on the other (their own app),
# the rest fill in around them. Both groups go first: they are the long poles.
BROWSER_GROUP, APP_GROUP = "e2e-browser", "e2e-app"


def xdist_group_of(item: pytest.Item) -> str | None:
    if "e2e" not in item.path.parts:
        return None
    return BROWSER_GROUP if "browser" in item.fixturenames else APP_GROUP


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    order = {BROWSER_GROUP: 0, APP_GROUP: 1, None: 2}
    for item in items:
        group = xdist_group_of(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: order[xdist_group_of(item)])  # stable: file order within each
