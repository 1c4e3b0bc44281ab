"""The app in-process on a free local port (`served`), and a real gradio_client on it with
the tiny class-conditional UNet (`cond_client`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from ..clients import api_client


@contextlib.contextmanager
def served(denoiser=None, checkpoint_error: str | None = None) -> Iterator[tuple[object, str]]:
    """build_demo(...) launched in this process: (demo, url); closed on exit."""
    from diffusion_demo.ui import build_demo

    demo = build_demo(denoiser=denoiser, checkpoint_error=checkpoint_error)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", ssr_mode=False, quiet=True)
    try:
        yield demo, url
    finally:
        demo.close()


@pytest.fixture(scope="module")
def cond_client(tiny_cond_denoiser):
    with served(tiny_cond_denoiser) as (_, url):
        yield api_client(url)
