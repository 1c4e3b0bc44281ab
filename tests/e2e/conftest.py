"""End-to-end fixtures: the real app in a subprocess, a gradio_client, a Chromium page.

Every app here runs `python app.py --port <free port>` on 127.0.0.1 under
network_guard.py (outbound non-loopback connections refused), so the whole e2e suite
also proves that the app starts and generates offline.
"""

from __future__ import annotations

import faulthandler
import os
import sys
from pathlib import Path

import pytest

from ..clients import api_client
from .helpers import CHROMIUM, CHROMIUM_ARGS, loopback_only, start_app, stop_app, write_checkpoint

# CI sets this: a missing browser is then a failure, never a silent skip.
REQUIRE_BROWSER = os.environ.get("DIFFUSION_DEMO_REQUIRE_BROWSER") == "1"
# A test still running after this long prints every thread's stack (a hang is diagnosable).
STACKS_AFTER_S = float(os.environ.get("E2E_STACKS_AFTER_S", "300"))


@pytest.fixture(autouse=True)
def _dump_stacks_if_stuck():
    faulthandler.dump_traceback_later(STACKS_AFTER_S, repeat=False, file=sys.stderr)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="session")
def e2e_checkpoint(tmp_path_factory) -> Path:
    """A full-size but untrained UNet: the shipped model's speed without its training hour.

    Full size on purpose: a long /reverse run must take long enough (tens of seconds)
    for the cancel/disconnect tests to tell "freed within one step" from "ran to the end".
    """
    return write_checkpoint(tmp_path_factory.mktemp("e2e-ckpt"), tiny=False)


@pytest.fixture(scope="session")
def app(tmp_path_factory, e2e_checkpoint):
    """The app with a working checkpoint, network cut."""
    running = start_app(tmp_path_factory.mktemp("app"), e2e_checkpoint)
    yield running
    stop_app(running)


@pytest.fixture(scope="session")
def corrupt_checkpoint(tmp_path_factory) -> Path:
    """A checkpoint folder whose files exist but hold garbage."""
    out = write_checkpoint(tmp_path_factory.mktemp("corrupt-ckpt"), tiny=True)
    weights = out / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(b"\x00garbage, not safetensors" * 100)
    return out


@pytest.fixture(scope="session")
def broken_app(tmp_path_factory, corrupt_checkpoint):
    """The app started with a corrupt checkpoint: must run, with a clear message."""
    running = start_app(tmp_path_factory.mktemp("broken-app"), corrupt_checkpoint)
    yield running
    stop_app(running)


def make_client(url: str):
    # Generous HTTP timeouts: on a loaded 2-core machine the first /config can take seconds.
    return api_client(url, download_files=False, httpx_kwargs={"timeout": 120})


@pytest.fixture(scope="session")
def client(app):
    c = make_client(app.url)
    yield c
    c.close()


@pytest.fixture(scope="session")
def broken_client(broken_app):
    c = make_client(broken_app.url)
    yield c
    c.close()


@pytest.fixture(scope="session")
def endpoints(client) -> dict:
    """{api_name: info} of every named endpoint, as the API page lists them."""
    return client.view_api(return_format="dict", print_info=False)["named_endpoints"]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if REQUIRE_BROWSER:
            pytest.fail(f"{CHROMIUM} is missing but DIFFUSION_DEMO_REQUIRE_BROWSER=1")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageProbe:
    """What the page did besides rendering: JS errors and refused non-loopback requests."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.blocked: list[str] = []


@pytest.fixture(scope="session")
def warm_context(browser):
    """One browser context for the pages of the tests that need no first visit: after the
    first load the app's scripts come from its cache (a load ~0.8 s shorter on 2 cores).
    Each test opens and closes its own pages in it; a first visit gets a context of its own."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    yield context
    context.close()


def new_page(context, timeout_ms: float):
    """A page of `context`: requests beyond 127.0.0.1 refused and listed in page.probe.blocked,
    uncaught page errors in page.probe.errors."""
    probe = PageProbe()
    pg = context.new_page()
    loopback_only(pg, probe.blocked)
    pg.on("pageerror", lambda exc: probe.errors.append(str(exc)))
    pg.probe = probe
    pg.set_default_timeout(timeout_ms)
    return pg


def open_page(context, app):
    """A new page of `context` on `app`, loaded, with its first tab's pictures."""
    pg = new_page(context, 30_000)
    pg.goto(app.url)
    pg.wait_for_selector("#intro", timeout=60_000)
    # The tabs and the first tab's images render after the intro: wait for them too.
    pg.wait_for_selector("#tabs [role=tab]", timeout=60_000)
    pg.locator("#tabs [role=tabpanel] img").first.wait_for(timeout=60_000)
    return pg


@pytest.fixture
def page(warm_context, app):
    pg = open_page(warm_context, app)
    yield pg
    pg.close()


@pytest.fixture
def broken_page(warm_context, broken_app):
    pg = open_page(warm_context, broken_app)
    yield pg
    pg.close()
