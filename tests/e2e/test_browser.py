"""The page in Chromium: it loads, the forward t slider moves x_t, the reverse chain
streams, stops and replays, and what is drawn is not blank."""

from __future__ import annotations

import io
import re
import time

import numpy as np
import pytest
from PIL import Image

from .helpers import app_config, cpu_busy

pytestmark = pytest.mark.e2e

TITLE = "Order From Chaos — diffusion, step by step"


def img_src(page, elem_id: str) -> str | None:
    img = page.locator(f"#{elem_id} img")
    return img.first.get_attribute("src") if img.count() else None


def fetch_image(page, src: str) -> np.ndarray:
    r = page.request.get(src)
    assert r.ok, f"{src}: {r.status}"
    return np.asarray(Image.open(io.BytesIO(r.body())).convert("L"), dtype=np.float64)


def element_pixels(page, selector: str) -> np.ndarray:
    shot = page.locator(selector).screenshot()
    return np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=np.float64)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def settled_src(page, elem_id: str, previous: str | None, quiet: float = 1.0, timeout: float = 30.0) -> str:
    """Wait until the image's src differs from `previous` and then stops changing for
    `quiet` seconds (a drag produces intermediate frames); return the final src."""
    src = wait_for(
        lambda: (s := img_src(page, elem_id)) != previous and s, timeout, what=f"#{elem_id} to change"
    )
    stable_since = time.monotonic()
    deadline = stable_since + timeout
    while time.monotonic() - stable_since < quiet:
        assert time.monotonic() < deadline, f"#{elem_id} never settled"
        time.sleep(0.1)
        now = img_src(page, elem_id)
        if now != src:
            src, stable_since = now, time.monotonic()
    return src


def slider_value(page, elem_id: str) -> float:
    return float(page.locator(f"#{elem_id} input[type=range]").input_value())


def drag_slider(page, elem_id: str, fraction: float) -> None:
    """Drag the slider's thumb with the mouse from where it is to `fraction` of the track."""
    track = page.locator(f"#{elem_id} input[type=range]")
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    lo, hi = float(track.get_attribute("min")), float(track.get_attribute("max"))
    start = (slider_value(page, elem_id) - lo) / (hi - lo) if hi > lo else 0.0
    y = box["y"] + box["height"] / 2
    inset = min(8.0, box["width"] / 4)  # the thumb's centre never reaches the very ends

    def x(f: float) -> float:
        return box["x"] + inset + (box["width"] - 2 * inset) * f

    page.mouse.move(x(start), y)
    page.mouse.down()
    page.mouse.move(x(fraction), y, steps=8)
    page.mouse.up()


def set_number(page, elem_id: str, value: float) -> None:
    """Type a value into a slider's or number's text box, as a user would."""
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")
    box.blur()


def open_tab(page, label_start: str) -> None:
    page.get_by_role("tab", name=re.compile("^" + re.escape(label_start))).click()


def require(app, elem_id: str, what: str) -> None:
    """Skip unless the app has a component with this elem_id (tabs land one by one)."""
    ids = {c.get("props", {}).get("elem_id") for c in app_config(app)["components"]}
    if elem_id not in ids:
        pytest.skip(f"{what} has not landed yet (no #{elem_id})")


def test_page_loads_with_title_intro_and_tabs(page):
    assert page.title() == TITLE
    intro = page.locator("#intro").inner_text()
    assert "Order From Chaos" in intro and "noise" in intro
    tabs = page.get_by_role("tab").all_inner_texts()
    assert len(tabs) == 6 and tabs[0].startswith("1") and tabs[-1].startswith("6")
    assert page.probe.errors == [], page.probe.errors
    # Everything the page needs comes from the app itself (fonts, scripts, KaTeX).
    assert page.probe.blocked == [], page.probe.blocked
    # ... and the guard that would list anything else is in place: a fetch beyond loopback fails
    # and is listed, while the app's own address still answers.
    failed = page.evaluate("() => fetch('https://example.com/x.js').then(() => false, () => true)")
    assert failed and page.probe.blocked == ["https://example.com/x.js"], page.probe.blocked
    assert page.evaluate("() => fetch('/config').then((r) => r.ok)")


def test_screenshot_is_not_blank(page):
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("L"), dtype=np.float64)
    assert shot.std() > 10, f"the page looks blank (pixel std {shot.std():.1f})"
    assert (shot < 128).mean() > 0.01, "no dark pixels at all: no text drawn"


def test_forward_t_slider_moves_x_t(page, app):
    require(app, "forward-t", "the forward tab")
    page.locator("#forward-t").wait_for(state="visible")
    wait_for(lambda: img_src(page, "forward-xt"), what="the first x_t")
    before = img_src(page, "forward-xt")
    drag_slider(page, "forward-t", 0.8)
    after = settled_src(page, "forward-xt", before)
    t = slider_value(page, "forward-t")
    assert 700 <= t <= 900, t
    # x_t at t near 800 has lost most of x_0; at t = 0 it is x_0 itself.
    x0 = fetch_image(page, img_src(page, "forward-x0"))
    xt = fetch_image(page, after)
    set_number(page, "forward-t", 0)
    clean = settled_src(page, "forward-xt", after)
    x_clean = fetch_image(page, clean)
    assert x_clean.shape == x0.shape
    assert np.abs(x_clean - x0).mean() < 3, "x_t at t = 0 should be x_0"
    assert np.abs(xt - x0).mean() > 20, "x_t at t ≈ 800 should be far from x_0"
    assert page.probe.errors == []


def status_text(page) -> str:
    """The status Markdown's own text (not Gradio's status-tracker overlay, which can show
    "Error" for a moment after Stop: the cancelled event ends without success)."""
    return page.locator("#reverse-status [data-testid=markdown]").inner_text()


def test_reverse_streams_stops_and_replays(page, app):
    require(app, "reverse-generate", "the reverse tab")
    open_tab(page, "3")
    page.locator("#reverse-generate").wait_for(state="visible")
    set_number(page, "reverse-steps", 1000)
    wait_for(lambda: slider_value(page, "reverse-steps") == 1000, what="steps = 1000")

    # The page's own load-time work (the 2D tab draws its first views, seconds on a busy
    # machine) must be over, or it would be counted below as the chain running after Stop.
    wait_for(lambda: cpu_busy(app.proc.pid, 1.0) < 0.5, timeout=120, what="the app to idle after page load")

    # 1. Generate: frames stream (x_t's src changes several times while it runs).
    page.locator("#reverse-generate").click()
    seen: list[str] = []

    def frames():
        src = img_src(page, "reverse-xt")
        if src and (not seen or seen[-1] != src):
            seen.append(src)
        return len(seen) >= 4

    wait_for(frames, timeout=60, what="4 streamed x_t frames")
    noisy = element_pixels(page, "#reverse-xt img")
    assert noisy.std() > 10, "the streamed x_t frame is blank"

    # 2. Stop: the frames stop, the status stays part-way and says the steps so far can be
    #    replayed, the worker goes idle.
    page.locator("#reverse-stop").click()
    wait_for(lambda: "stopped:" in status_text(page), what="the status to say the run stopped")
    time.sleep(1.0)
    frozen_src, frozen_status = img_src(page, "reverse-xt"), status_text(page)
    time.sleep(2.0)
    assert img_src(page, "reverse-xt") == frozen_src, "frames kept coming after Stop"
    assert status_text(page) == frozen_status
    match = re.search(r"step (\d+)/1000", frozen_status)
    assert match and int(match[1]) < 1000, frozen_status
    busy = cpu_busy(app.proc.pid, 2.0)
    assert busy < 0.5, f"the app still uses {busy:.2f} cores after Stop"
    assert "Error" not in page.locator("#reverse-status").inner_text()  # no overlay over the status
    # the steps run before Stop are replayable
    scrub = page.locator("#reverse-scrub input[type=range]")
    wait_for(lambda: scrub.is_enabled(), what="the scrubber after Stop")
    stored = int(re.search(r"revisit the (\d+) stored steps", frozen_status)[1])
    assert stored >= 2 and float(scrub.get_attribute("max")) == stored - 1
    drag_slider(page, "reverse-scrub", 0.0)
    wait_for(lambda: "Replaying step 1," in status_text(page), what="the replay of step 1 of the stopped run")

    # 3. A short run to the end, then replay its first step with the scrubber.
    set_number(page, "reverse-steps", 20)
    wait_for(lambda: slider_value(page, "reverse-steps") == 20, what="steps = 20")
    page.locator("#reverse-generate").click()
    wait_for(lambda: "done" in status_text(page), timeout=60, what="the short run to finish")
    wait_for(lambda: scrub.is_enabled(), what="the scrubber to become usable")
    assert float(scrub.get_attribute("max")) == 19
    last_src = img_src(page, "reverse-xt")
    drag_slider(page, "reverse-scrub", 0.0)
    wait_for(lambda: "Replaying step 1," in status_text(page), what="the replay of step 1")
    replayed = settled_src(page, "reverse-xt", last_src)
    # Step 1 of 20 is still mostly noise; the last step is a clean sample: they differ.
    assert np.abs(fetch_image(page, replayed) - fetch_image(page, last_src)).mean() > 5
    assert page.probe.errors == []


def test_another_users_long_run_does_not_hold_a_student_up(page, app, client):
    """The network is shared (the batching engine): a student's Generate, pressed while
    another user's 1000-step run is going, says at once that it is waiting, then starts
    within a step and finishes beside it; Stop in the student's page leaves the other run."""
    require(app, "reverse-generate", "the reverse tab")
    open_tab(page, "3")
    page.locator("#reverse-generate").wait_for(state="visible")
    set_number(page, "reverse-steps", 10)
    wait_for(lambda: slider_value(page, "reverse-steps") == 10, what="steps = 10")

    other = client.submit(sampler="ddpm", steps=1000, num_samples=16, seed=0, eta=0.0, api_name="/reverse")
    try:
        wait_for(lambda: len(other.outputs()) >= 1, timeout=60, what="the other user's run to start")
        page.locator("#reverse-generate").click()
        wait_for(lambda: "done" in status_text(page), timeout=60, what="the student's run beside the other")
        assert "step 10/10" in status_text(page)
        assert not other.done(), "the student's run must not wait for the other one to end"

        set_number(page, "reverse-steps", 1000)
        wait_for(lambda: slider_value(page, "reverse-steps") == 1000, what="steps = 1000")
        page.locator("#reverse-generate").click()
        wait_for(
            lambda: "step " in status_text(page) and "/1000" in status_text(page),
            timeout=30,
            what="a long run",
        )
        page.locator("#reverse-stop").click()
        wait_for(lambda: "stopped" in status_text(page), timeout=30, what="the student's Stop")
        assert not other.done(), "Stop in one browser must not end another user's run"
    finally:
        other.cancel()
    assert page.probe.errors == []


def test_a_refused_run_leaves_no_waiting_note(page, app):
    """The waiting note is written in the browser at the click; a run the server refuses
    (a seed below 0, typed into the box) says why in a toast and the status goes back."""
    require(app, "reverse-generate", "the reverse tab")
    open_tab(page, "3")
    page.locator("#reverse-generate").wait_for(state="visible")
    seed = page.locator("#reverse-seed input")
    seed.fill("-5")
    seed.press("Enter")
    page.locator("#reverse-generate").click()
    toast = page.get_by_test_id("toast-body")
    toast.first.wait_for(state="visible", timeout=30_000)
    assert "seed must be a number ≥ 0" in toast.first.inner_text()  # the refusal names its parameter
    wait_for(lambda: status_text(page).strip() == "Press Generate.", what="the status to return to idle")
    assert page.probe.errors == []


@pytest.mark.xdist_group("broken_app")  # one worker starts the corrupt-checkpoint app
def test_corrupt_checkpoint_page_explains_and_forward_still_works(broken_page, broken_app):
    page = broken_page
    require(broken_app, "reverse-status", "the reverse tab")
    if "forward-t" in {c.get("props", {}).get("elem_id") for c in app_config(broken_app)["components"]}:
        page.locator("#forward-t").wait_for(state="visible")
        wait_for(lambda: img_src(page, "forward-xt"), what="the first x_t")
        before = img_src(page, "forward-xt")
        drag_slider(page, "forward-t", 0.6)
        wait_for(lambda: img_src(page, "forward-xt") != before, what="x_t to change")
    open_tab(page, "3")
    status = page.locator("#reverse-status")
    status.wait_for(state="visible")
    text = status.inner_text()
    assert "could not be read" in text and "python -m diffusion_demo train" in text, text
    page.locator("#reverse-generate").click()
    toast = page.get_by_test_id("toast-body")
    toast.first.wait_for(state="visible", timeout=30_000)
    message = toast.first.inner_text()
    assert "could not be read" in message, message
    assert page.probe.errors == []
