"""A class at once through real gradio_client clients: shared network calls, the same images
as alone, a place in line when the machine is full, the per-address cap."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from PIL import Image

from diffusion_demo.config import ENGINE

from ..clients import api_client
from .conftest import served

STEPS, SAMPLES = 8, 2


def _reverse(client, seed: int, steps: int = STEPS):
    return client.submit("ddim", steps, SAMPLES, seed, 0.0, "any", 1.0, api_name="/reverse")


def _wait_running(engine, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while engine.status()["running"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)


def _pixels(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"), dtype=np.int16)


@pytest.fixture(scope="module")
def app(tiny_cond_denoiser):
    with served(tiny_cond_denoiser) as (demo, url):
        yield demo, url


@pytest.mark.slow  # seconds of work: not in the fast tier
def test_six_students_share_the_network_and_get_what_they_would_alone(app):
    demo, url = app
    engine = demo.engine
    engine.settings = dataclasses.replace(ENGINE, gather_s=0.3)
    clients = [api_client(url) for _ in range(6)]
    ticks = engine.ticks
    jobs = [_reverse(c, seed=100 + i) for i, c in enumerate(clients)]
    together = [job.result(timeout=120) for job in jobs]
    shared_ticks = engine.ticks - ticks
    assert shared_ticks < 6 * STEPS  # the chains shared calls (alone: 6 × 8)
    engine.settings = ENGINE
    for i, result in enumerate(together):
        alone = _reverse(clients[0], seed=100 + i).result(timeout=60)
        diff = np.abs(_pixels(result[0]) - _pixels(alone[0])).max()
        assert diff <= 1, f"student {i}: batched and alone differ by {diff} grey levels"
        assert "step 8/8" in result[3]
    assert engine.status()["running"] == 0 and engine.status()["waiting"] == 0


@pytest.mark.slow  # seconds of work: not in the fast tier
def test_a_full_machine_tells_a_waiting_student_where_they_stand(app):
    demo, url = app
    demo.engine.settings = dataclasses.replace(ENGINE, max_rows=SAMPLES, status_every_s=0.1)
    try:
        first, second = api_client(url), api_client(url)
        long_job = _reverse(first, seed=1, steps=250)
        _wait_running(demo.engine)
        waiting = _reverse(second, seed=2)
        result = waiting.result(timeout=120)
        statuses = [out[3] for out in waiting.outputs() if isinstance(out, (list, tuple))]
        assert any("0 runs ahead of yours" in s for s in statuses if s), statuses[:3]
        assert "step 8/8" in result[3]
        long_job.result(timeout=120)
    finally:
        demo.engine.settings = ENGINE


@pytest.mark.slow  # seconds of work: not in the fast tier
def test_one_address_may_not_fill_the_machine(app):
    from gradio_client.exceptions import AppError

    demo, url = app
    demo.engine.settings = dataclasses.replace(ENGINE, max_per_address=1)
    try:
        first, second = api_client(url), api_client(url)
        long_job = _reverse(first, seed=1, steps=250)
        _wait_running(demo.engine)
        with pytest.raises(AppError, match="Too many runs from one address at once"):
            _reverse(second, seed=2).result(timeout=60)
        long_job.result(timeout=120)  # the first run is unaffected
        assert "step 8/8" in _reverse(second, seed=2).result(timeout=60)[3]  # and then it is free again
    finally:
        demo.engine.settings = ENGINE


def test_the_2d_training_is_one_at_a_time_per_page_and_capped_per_address(monkeypatch):
    """/toy2d_train costs both cores for up to half a minute: a second one from the same page
    (or a fifth from one address) is refused with a message while the first runs."""
    import gradio as gr

    from diffusion_demo.ui import runtime, sharing

    limit = sharing.InFlight("A 2D training", per_session=1, per_address=2)

    def train():
        yield "step 1"
        yield "done"

    handler = sharing.limited(train, limit)
    requests = {}

    def as_session(name: str, host: str = "10.0.0.1"):
        req = requests.setdefault(name, gr.Request(session_hash=name))
        req.client = type("C", (), {"host": host})()
        monkeypatch.setattr(runtime, "current_request", lambda: req)
        monkeypatch.setattr(sharing, "current_request", lambda: req)

    as_session("tab-1")
    first = handler()
    assert next(first) == "step 1"
    with pytest.raises(ValueError, match="already running for this page"):
        next(handler())
    as_session("tab-2")
    second = handler()
    next(second)
    as_session("tab-3")
    with pytest.raises(ValueError, match="2 are already running from your address"):
        next(handler())
    as_session("tab-4", host="10.9.9.9")
    assert list(handler()) == ["step 1", "done"]  # another address is not affected
    assert list(first) == ["done"]  # the first finishes: its page may train again
    as_session("tab-1")
    assert list(handler()) == ["step 1", "done"]
    second.close()
