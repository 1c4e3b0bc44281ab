"""Play by itself and the keys, in headless Chromium on the real app (fixture `app`).

- `autoplay=1` starts the tab's main action once the deep link is applied (the reverse
  chain's status shows a running step within 3 s); on the schedule lab it is ignored with
  the deep-link note.
- ▶ Play sweeps t in the browser: the shown t changes ≥ 10 times a second, the x_t drawn
  over the image changes with it and equals the server's x_t, and the whole sweep costs a
  handful of requests (counted with page.on("request")); ❚❚ Pause / the sweep's end sets the
  real slider (the formula follows). `loop=1` keeps playing past the end of a sweep.
- Keys: ← / → move t, Space runs and Esc stops the reverse chain, ? opens the help; a user
  typing in a box keeps their keys.

Screenshots (projector mode and embeds, 1280×720 and 1920×1080) go to the folder printed
by test_screenshots_while_playing.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from diffusion_demo.config import FORWARD_TAB, PLAYBACK

from .test_browser import cpu_busy, img_src, slider_value, status_text, wait_for
from .test_deeplinks import open_view

pytestmark = pytest.mark.e2e

SWEEP_S = 2 * PLAYBACK.sweep_s  # up to T, down to 0 and back to the start
RUNNING = re.compile(r"step \d+/\d+")


@pytest.fixture
def view(warm_context, browser, app):
    """view(query, size) -> a page of the shared warm context, closed after the test. (The 2D
    autoplay that once drew nothing there was keys.js's race, since fixed: runAction reopens
    the accordion whenever it is closed.)"""
    opened = []

    def make(query: str = "", size: tuple[int, int] = (1280, 1000), init_script: str | None = None):
        _, page = open_view(browser, app, query, init_script=init_script, context=warm_context)
        page.set_viewport_size({"width": size[0], "height": size[1]})
        opened.append(page)
        return page

    yield make
    for page in opened:
        page.close()


def play_state(page) -> str:
    return page.evaluate("() => window.ofcKeys.state()")


def count_t_changes(page, ms: int) -> dict:
    """Sample the t slider's shown value on every animation frame for `ms` milliseconds."""
    return page.evaluate(
        """(ms) => new Promise((done) => {
          const range = document.querySelector('#forward-t input[type=range]');
          const label = () => (document.getElementById('forward-play-t') || {}).textContent || '';
          let last = range.value, changes = 0, labels = new Set(), values = [];
          const end = performance.now() + ms;
          (function tick() {
            if (range.value !== last) { changes++; last = range.value; values.push(Number(last)); }
            labels.add(label());
            if (performance.now() < end) requestAnimationFrame(tick);
            else done({changes, labels: labels.size, values});
          })();
        })""",
        ms,
    )


def canvas_digest(page) -> list[int]:
    """A fingerprint of the x_t drawn over the image: per-row sums of its bytes."""
    return page.evaluate(
        """() => { const c = document.getElementById('forward-play-canvas');
          if (!c) return [];
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, rows = [];
          for (let y = 0; y < c.height; y++) {
            let s = 0;
            for (let i = y * c.width * 4; i < (y + 1) * c.width * 4; i++) s += d[i];
            rows.push(s);
          }
          return rows; }"""
    )


def wait_ready(page, tab: str) -> float:
    """When the deep link has selected `tab` and its panel is drawn (monotonic time)."""
    wait_for(
        lambda: page.evaluate(
            "(t) => { const s = document.querySelector('#tabs [role=tab][aria-selected=true]');"
            " return !!s && s.dataset.tabId === t; }",
            tab,
        ),
        timeout=120,
        what=f"the {tab} tab to be selected",
    )
    return time.monotonic()


def idle_focus(page) -> None:
    """Put the focus on nothing in particular (as after a click on the page's background)."""
    page.evaluate("() => { if (document.activeElement) document.activeElement.blur(); }")


def stop_reverse(page, app) -> None:
    """Esc stops the run; the worker must be idle before the next test uses the app."""
    idle_focus(page)
    page.keyboard.press("Escape")
    wait_for(lambda: "stopped:" in status_text(page), timeout=60, what="the status to say the run stopped")
    wait_for(lambda: cpu_busy(app.proc.pid, 1.0) < 0.5, timeout=60, what="the app to idle after Esc")


def test_autoplay_starts_the_reverse_chain(view, app):
    page = view("?tab=reverse&steps=1000&autoplay=1")
    ready = wait_ready(page, "reverse")
    wait_for(lambda: RUNNING.search(status_text(page)), timeout=30, what="a running step in the status")
    took = time.monotonic() - ready
    assert took < 3.0, f"the first running step showed {took:.1f} s after the page was ready"
    stop_reverse(page, app)
    assert page.probe.errors == [], page.probe.errors


def test_autoplay_on_the_schedule_lab_is_ignored_with_a_note(view):
    page = view("?tab=schedule&autoplay=1&loop=maybe")
    toast = page.locator('[data-testid*="toast"]').filter(has_text="Some link parameters were ignored")
    toast.first.wait_for(state="visible")
    text = toast.first.inner_text()
    assert "autoplay=1 (the schedule tab has nothing to play)" in text, text
    assert "loop=maybe (expected one of" in text, text
    wait_ready(page, "schedule")
    page.locator("#schedule-t").wait_for(state="visible")
    assert page.probe.errors == [], page.probe.errors


def test_play_sweeps_t_in_the_browser_with_a_handful_of_requests(view, client):
    page = view("?tab=forward")
    wait_ready(page, "forward")
    page.locator("#forward-xt img").wait_for(state="visible")
    start_t = slider_value(page, "forward-t")
    assert start_t == FORWARD_TAB.t
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    page.locator("#forward-play").click()
    wait_for(lambda: play_state(page) == "playing", timeout=30, what="the sweep to start")
    begun = time.monotonic()
    assert "Pause" in page.locator("#forward-play").inner_text()

    # 1. smooth: the shown t (thumb, number box, the label over x_t) changes ≥ 10 times a second
    seen = count_t_changes(page, 2000)
    assert seen["changes"] >= 20, f"t changed only {seen['changes']} times in 2 s"
    assert seen["labels"] >= 20, seen["labels"]
    # 2 s of a 0 → T sweep in PLAYBACK.sweep_s: ~400 of T = 1000, whichever way it goes
    assert max(seen["values"]) - min(seen["values"]) > 250, seen["values"]
    first = canvas_digest(page)
    time.sleep(0.3)
    assert first and canvas_digest(page) != first, "the drawn x_t did not change while t moved"

    # 2. what the browser draws is the server's x_t (within one grey level)
    t = 700
    drawn = page.evaluate("(t) => window.ofcKeys.pixels(t)", t)
    server = client.predict(None, t, "linear", 0, FORWARD_TAB.example, api_name="/forward")[0]
    want = np.asarray(Image.open(server["path"]).convert("RGB"))
    got = np.array(drawn["rgb"], dtype=np.int16).reshape(drawn["height"], drawn["width"], 3)
    assert got.shape == want.shape
    assert np.abs(got - want.astype(np.int16)).max() <= 1

    # 3. without loop=1 the sweep ends where it began, by itself, after up → down → back
    wait_for(lambda: play_state(page) == "idle", timeout=SWEEP_S + 10, what="the sweep to end")
    took = time.monotonic() - begun
    assert SWEEP_S - 1.5 < took < SWEEP_S + 5, f"the sweep took {took:.1f} s"
    assert slider_value(page, "forward-t") == start_t
    wait_for(lambda: page.locator("#forward-play-canvas").count() == 0, timeout=10, what="the overlay to go")
    assert "Play" in page.locator("#forward-play").inner_text()
    # one download for the whole sweep, no request per frame (a few more for Gradio's own polling)
    posts = [r for r in requests if r.startswith("POST")]
    assert len(requests) <= 8 and len(posts) <= 3, requests

    # 4. ❚❚ Pause sets the real slider once: the formula and x_t follow
    page.locator("#forward-play").click()
    wait_for(lambda: play_state(page) == "playing", timeout=30, what="the second sweep")
    time.sleep(1.5)
    before = img_src(page, "forward-xt")
    page.locator("#forward-play").click()
    paused = slider_value(page, "forward-t")
    assert paused != start_t and play_state(page) == "idle"
    wait_for(
        lambda: f"t={int(paused)}" in formula_text(page), timeout=30, what=f"the formula at t = {paused}"
    )
    wait_for(lambda: img_src(page, "forward-xt") != before, timeout=30, what="the server's x_t")
    assert page.probe.errors == [], page.probe.errors


def formula_text(page) -> str:
    return re.sub(r"\s+", "", page.locator("#forward-formula").inner_text())


def test_loop_keeps_playing_past_the_end(view):
    page = view("?tab=forward&autoplay=1&loop=1")
    wait_ready(page, "forward")
    wait_for(lambda: play_state(page) == "playing", timeout=30, what="autoplay to start the sweep")
    time.sleep(SWEEP_S + 1.0)
    assert play_state(page) == "playing", "loop=1: the sweep stopped at its end"
    seen = count_t_changes(page, 1000)
    assert seen["changes"] >= 10, seen
    idle_focus(page)
    page.keyboard.press("Escape")
    assert play_state(page) == "idle"
    assert page.probe.errors == [], page.probe.errors


def test_arrow_keys_move_t_on_the_forward_tab(view):
    page = view("?tab=forward&t=500")
    wait_ready(page, "forward")
    wait_for(lambda: slider_value(page, "forward-t") == 500, what="t = 500 from the link")
    before = img_src(page, "forward-xt")
    idle_focus(page)
    page.keyboard.press("ArrowRight")
    notch = 1000 // PLAYBACK.notches
    assert slider_value(page, "forward-t") == 500 + notch
    wait_for(lambda: f"t={500 + notch}" in formula_text(page), what="the formula at the new t")
    wait_for(lambda: img_src(page, "forward-xt") != before, what="x_t at the new t")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert slider_value(page, "forward-t") == 500 - notch
    wait_for(lambda: f"t={500 - notch}" in formula_text(page), what="the formula after ←")
    # Space plays and pauses (also with the focus on ▶ Play itself: one toggle per press)
    page.keyboard.press("Space")
    wait_for(lambda: play_state(page) == "playing", timeout=30, what="Space to start the sweep")
    page.locator("#forward-play").focus()
    page.keyboard.press("Space")
    assert play_state(page) == "idle"
    time.sleep(0.5)
    assert play_state(page) == "idle", "Space toggled twice"
    assert page.probe.errors == [], page.probe.errors


def test_keys_are_not_taken_from_a_typing_user(view):
    page = view("?tab=forward&t=500")
    wait_ready(page, "forward")
    wait_for(lambda: slider_value(page, "forward-t") == 500, what="t = 500 from the link")
    seed = page.locator("#forward-seed input")
    seed.click()
    seed.fill("12")
    for key in ("ArrowRight", "ArrowLeft", "Space", "?", "Escape"):
        seed.press(key)
    assert seed.evaluate("(el) => document.activeElement === el")
    assert slider_value(page, "forward-t") == 500
    assert play_state(page) == "idle"
    assert page.locator("#keys-help-overlay").is_hidden()
    assert page.locator("#forward-play-canvas").count() == 0


def test_space_runs_and_escape_stops_the_reverse_chain(view, app):
    page = view("?tab=reverse&steps=1000")
    wait_ready(page, "reverse")
    page.locator("#reverse-generate").wait_for(state="visible")
    wait_for(lambda: cpu_busy(app.proc.pid, 1.0) < 0.5, timeout=120, what="the app to idle after page load")
    assert not RUNNING.search(status_text(page))
    idle_focus(page)
    page.keyboard.press("Space")
    wait_for(lambda: RUNNING.search(status_text(page)), timeout=30, what="Space to start a run")
    frames: list[str | None] = []

    def stored_a_few() -> bool:  # as in test_browser: a few streamed frames, hence stored steps
        src = img_src(page, "reverse-xt")
        if src and (not frames or frames[-1] != src):
            frames.append(src)
        return len(frames) >= 4

    wait_for(stored_a_few, timeout=60, what="a few frames to replay later")
    stop_reverse(page, app)
    frozen = status_text(page)
    time.sleep(1.5)
    assert status_text(page) == frozen, "the run went on after Esc"
    # ← / → step through the stored steps of the stopped run
    scrub = page.locator("#reverse-scrub input[type=range]")
    wait_for(lambda: scrub.is_enabled(), what="the replay slider after the stop")
    last = slider_value(page, "reverse-scrub")
    idle_focus(page)
    page.keyboard.press("ArrowLeft")
    assert slider_value(page, "reverse-scrub") == last - 1
    wait_for(lambda: "Replaying step" in status_text(page), what="the replay of the step before")
    assert page.probe.errors == [], page.probe.errors


def test_question_mark_opens_the_help(view):
    page = view("?tab=forward")
    wait_ready(page, "forward")
    overlay = page.locator("#keys-help-overlay")
    assert overlay.is_hidden()
    idle_focus(page)
    page.keyboard.press("?")
    overlay.wait_for(state="visible")
    text = overlay.inner_text()
    for key in ("← / →", "Space", "Esc", "PageDown"):
        assert key in text, text
    page.keyboard.press("Escape")
    overlay.wait_for(state="hidden")
    page.locator("#keys-help").click()
    overlay.wait_for(state="visible")
    page.locator("#keys-help-close").click()
    overlay.wait_for(state="hidden")


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["720p", "1080p"])
def test_screenshots_while_playing(view, size):
    """For a human to look at: the sweep's overlay and the help, in projector mode and in an embed."""
    out = Path(tempfile.gettempdir()) / "order-from-chaos-play-screenshots"
    out.mkdir(exist_ok=True)
    for mode in ("projector=1", "embed=1"):
        page = view(f"?tab=forward&{mode}&autoplay=1&loop=1", size)
        wait_ready(page, "forward")
        wait_for(lambda p=page: play_state(p) == "playing", timeout=30, what="the sweep")
        time.sleep(1.0)
        page.locator("#forward-play-canvas").scroll_into_view_if_needed()
        box = page.locator("#forward-play-canvas").bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50, box
        name = f"play-{mode.split('=')[0]}-{size[0]}x{size[1]}"
        page.screenshot(path=str(out / f"{name}.png"))
        idle_focus(page)
        page.keyboard.press("?")
        page.screenshot(path=str(out / f"{name}-help.png"))
    print(f"\nscreenshots: {out}")


def record_texts(page, elem_id: str) -> None:
    """From now on, every text the element shows is appended to window.__texts (in order)."""
    page.evaluate(
        """(id) => { const el = document.getElementById(id); window.__texts = [el.innerText];
          new MutationObserver(() => { const t = el.innerText;
            if (t !== window.__texts[window.__texts.length - 1]) window.__texts.push(t); })
            .observe(el, {subtree: true, childList: true, characterData: true}); }""",
        elem_id,
    )


# The loop's 300 ms status poll stretched to 8 s: as if the run were far quicker than the
# poll (a fast server, a busy page). The loop must still see the run start and end.
SLOW_POLL = """(() => { const later = window.setTimeout; window.__stretched = 0;
  window.setTimeout = function (f, ms, ...rest) {
    if (ms === 300) { window.__stretched += 1; ms = 8000; }
    return later(f, ms, ...rest); }; })();"""


def test_loop_runs_the_round_trip_again_until_escape(view):
    # steps=2: a run of one step, over well within the stretched poll
    page = view("?tab=roundtrip&t=300&steps=2&autoplay=1&loop=1", init_script=SLOW_POLL)
    wait_ready(page, "roundtrip")
    page.locator("#roundtrip-status").wait_for(state="visible")
    record_texts(page, "roundtrip-status")

    def runs() -> int:  # finished round trips seen so far, each after its own running steps
        texts = page.evaluate("() => window.__texts")
        done, running = 0, False
        for t in texts:
            if RUNNING.search(t):
                running = True
            elif "RMS distance" in t and running:
                done, running = done + 1, False
        return done

    wait_for(lambda: runs() >= 1, timeout=120, what="autoplay's round trip")
    first = time.monotonic()
    wait_for(lambda: runs() >= 2, timeout=PLAYBACK.loop_hold_s + 60, what="loop=1 to run it again")
    period = time.monotonic() - first  # one hold and one run
    assert page.evaluate("() => window.__stretched") > 0, "the loop's poll was not stretched"
    idle_focus(page)
    page.keyboard.press("Escape")  # ends the loop (the round trip has no Stop: the run in flight ends)
    settled = runs()
    # A loop that went on would finish the run in flight and another one within two periods.
    time.sleep(2 * period + 3)
    assert runs() <= settled + 1, "the loop went on after Esc"
    assert page.probe.errors == [], page.probe.errors


def test_autoplay_makes_the_2d_animation(view):
    page = view("?tab=toy2d&autoplay=1")
    wait_ready(page, "toy2d")
    gif = page.locator("#toy-gif img, #toy-gif video").first
    gif.wait_for(state="visible", timeout=180_000)
    assert page.probe.errors == [], page.probe.errors
