"""Faults: Stop, a vanishing client, a full queue, a long job never blocks the next one.

"Promptly" is a generous bound (NEXT_JOB_S), checked only when the cancelled job would
have run far longer than that: each test measures the job's own speed first, so it can
tell "freed within a step" from "ran to the end" on any machine.
"""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest

from ..clients import api_client, http_client
from .helpers import app_config, cpu_busy, fn_index

pytestmark = pytest.mark.e2e

# Seconds within which the next job must have finished once the long one is stopped.
NEXT_JOB_S = 10.0
# The long job must have at least this long left when it is stopped: were it not stopped,
# it would still be running when the next job is done and the app's CPU is measured
# (NEXT_JOB_S + 3 s at most). The estimate is low: w doubles each step on t <= 500.
MIN_LEFT_S = 2 * NEXT_JOB_S
# Guided "one of each" runs two batches of 16 through the UNet per step: the slowest
# request there is, so even a fast machine has far more than MIN_LEFT_S left (CI: ~30 s).
LONG = dict(sampler="ddim", steps=1000, num_samples=16, seed=0, eta=0.0, digit="each", guidance=3.0)
SHORT = dict(sampler="ddim", steps=2, num_samples=1, seed=1, eta=0.0)
STEP_RE = re.compile(r"step (\d+)/(\d+).*?([\d.]+) s")


@pytest.fixture(scope="module")
def reverse(endpoints):
    if "/reverse" not in endpoints:
        pytest.skip("the reverse tab (/reverse) has not landed yet")
    return endpoints["/reverse"]


def remaining_seconds(status_markdown: str) -> float:
    """From the reverse tab's status line: the time the rest of the run would take."""
    match = STEP_RE.search(status_markdown)
    assert match, status_markdown
    done, total, elapsed = int(match[1]), int(match[2]), float(match[3])
    return (total - done) * elapsed / done


def short_call_seconds(client) -> float:
    start = time.perf_counter()
    out = client.predict(**SHORT, api_name="/reverse")
    assert "step 2/2" in out[3], out[3]
    return time.perf_counter() - start


def assert_worker_idle(app) -> None:
    # A generator still running after the cancel would keep a core busy.
    busy = cpu_busy(app.proc.pid, 3.0)
    assert busy < 0.5, f"the app still uses {busy:.2f} cores after the job was stopped"


def test_cancel_frees_the_worker_within_a_step(app, client, reverse):
    job = client.submit(**LONG, api_name="/reverse")
    updates = []
    for update in job:
        updates.append(update)
        if len(updates) == 3:
            break
    left = remaining_seconds(updates[-1][3])
    assert left > MIN_LEFT_S, f"the long job is too quick ({left:.0f} s left) to test a cancel"
    job.cancel()
    took = short_call_seconds(client)
    assert took < NEXT_JOB_S, f"next job took {took:.1f} s after Stop (the long one had {left:.0f} s left)"
    assert_worker_idle(app)


def test_client_disconnect_mid_stream_frees_the_worker(app, client, reverse):
    """A browser tab closed mid-generation: its SSE stream drops, the job must end."""
    config = app_config(app)
    session = uuid.uuid4().hex[:12]
    body = {
        "data": list(LONG.values()),
        "fn_index": fn_index(config, "/reverse"),
        "session_hash": session,
        "event_data": None,
        "trigger_id": None,
    }
    statuses = []
    with http_client(app.url, timeout=60) as http:
        assert http.post("gradio_api/queue/join", json=body).status_code == 200
        with http.stream("GET", "gradio_api/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_generating":
                    statuses.append(msg["output"]["data"][3])
                    if len(statuses) == 3:
                        break  # leaving the block closes the connection mid-stream
    status = next(s for s in reversed(statuses) if isinstance(s, str))
    left = remaining_seconds(status)
    assert left > MIN_LEFT_S, f"the long job is too quick ({left:.0f} s left) to test a disconnect"
    took = short_call_seconds(client)
    assert took < NEXT_JOB_S, f"next job took {took:.1f} s after the client left ({left:.0f} s were left)"
    assert_worker_idle(app)


def test_model_jobs_share_the_network_and_a_session_has_one(app, client, reverse):
    """Runs of two clients go side by side (the batching engine shares each network call);
    a second run from the same session replaces its first, which ends with a message."""
    from gradio_client.exceptions import AppError
    from gradio_client.utils import Status

    other = api_client(app.url)
    mine, theirs = client.submit(**LONG, api_name="/reverse"), other.submit(**LONG, api_name="/reverse")
    newer = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all(j.status().code == Status.ITERATING for j in (mine, theirs)):
                break
            time.sleep(0.1)
        assert all(j.status().code == Status.ITERATING for j in (mine, theirs)), (
            "the two did not run together"
        )
        newer = client.submit(**LONG, api_name="/reverse")  # the same session again
        with pytest.raises(AppError, match="replaced by a newer one"):
            mine.result(timeout=60)
        deadline = time.monotonic() + 60
        while newer.status().code != Status.ITERATING and time.monotonic() < deadline:
            time.sleep(0.1)
        assert newer.status().code == Status.ITERATING and theirs.status().code == Status.ITERATING
    finally:
        for j in (mine, theirs, newer):
            if j is not None:
                j.cancel()
        other.close()
    # (Not a LONG submitted and cancelled at once to end `newer`: its join could reach the
    # server after the short call's and replace that one instead.)
    assert short_call_seconds(client) < NEXT_JOB_S


def test_full_queue_answers_busy_and_recovers(app, client, reverse):
    """Past queue(max_size=...) a request gets HTTP 503 "Queue is full" at once; when the
    waiting jobs go away, the app works again. (The heavy worker's queue: 2D animations,
    seconds each, one at a time; the chains start at once and share the network.)"""
    config = app_config(app)
    session = uuid.uuid4().hex[:12]
    index = fn_index(config, "/toy2d_animation")
    dep = next(d for d in config["dependencies"] if d["id"] == index)
    values = {c["id"]: c.get("props", {}).get("value") for c in config["components"]}
    body = {
        "data": [values[i] for i in dep["inputs"]],
        "fn_index": index,
        "session_hash": session,
        "event_data": None,
        "trigger_id": None,
    }
    refused = None
    with http_client(app.url, timeout=30) as http:
        assert http.post("gradio_api/queue/join", json=body).status_code == 200
        with http.stream("GET", "gradio_api/queue/data", params={"session_hash": session}):
            for _ in range(200):
                r = http.post("gradio_api/queue/join", json=body)
                if r.status_code != 200:
                    refused = r
                    break
        # Leaving the stream (a closed tab) drops every job of this session.
    assert refused is not None, "200 jobs were queued: the queue has no size limit"
    assert refused.status_code == 503
    assert "Queue is full" in refused.json()["detail"]
    assert short_call_seconds(client) < NEXT_JOB_S
    # the animation that was running when the stream closed finishes (it is not a generator),
    # the ones still queued are dropped: the worker is idle again within seconds
    deadline = time.monotonic() + 40
    while cpu_busy(app.proc.pid, 2.0) >= 0.5 and time.monotonic() < deadline:
        pass
    assert_worker_idle(app)
