"""The app in-process with the tiny class-conditional UNet, and a real gradio_client on it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def cond_client(tiny_cond_denoiser):
    from gradio_client import Client

    from diffusion_demo.ui import build_demo

    demo = build_demo(denoiser=tiny_cond_denoiser)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", ssr_mode=False, quiet=True)
    try:
        yield Client(url, verbose=False)
    finally:
        demo.close()
