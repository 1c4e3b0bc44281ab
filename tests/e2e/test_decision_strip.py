"""The decision strips in Chromium: after a run the reverse tab's strip reads the first sample,
pointing at another sample of a grid switches it, and replaying a step moves its box; the round
trip's strip says which digit the way back chose."""

from __future__ import annotations

import pytest

from .test_browser import drag_slider, img_src, open_tab, set_number, slider_value, wait_for

pytestmark = pytest.mark.e2e


def text(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id} [data-testid=markdown]").inner_text()


def run_with_steps(page, tab: str, prefix: str, button: str, steps: int) -> None:
    """Open tab `tab`, set #<prefix>-steps to `steps` as a user would, and press #<button>."""
    open_tab(page, tab)
    page.locator(f"#{button}").wait_for(state="visible")
    set_number(page, f"{prefix}-steps", steps)
    wait_for(lambda: slider_value(page, f"{prefix}-steps") == steps, what=f"steps = {steps}")
    page.locator(f"#{button}").click()


def test_the_reverse_strip_follows_the_pointer_and_the_replay(page, app):
    run_with_steps(page, "3", "reverse", "reverse-generate", 8)
    wait_for(
        lambda: "Sample 1:" in text(page, "reverse-decision-text"), timeout=90, what="the strip of sample 1"
    )
    first = img_src(page, "reverse-decision")
    assert first
    # Gradio's <img loading="lazy"> has no box until it is near the viewport: scroll to it as a
    # reader would, then it must be drawn (CI once read it before it loaded).
    page.locator("#reverse-decision").scroll_into_view_if_needed()
    page.locator("#reverse-decision img").wait_for(state="visible", timeout=15_000)
    # point at the second sample of the first row of x̂_0's 4 × 4 grid
    grid = page.locator("#reverse-x0 img")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    side = min(box["width"], box["height"])  # object-fit: contain, centred
    left, top = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    page.mouse.move(left + side * 0.375, top + side * 0.125)
    wait_for(
        lambda: "Sample 2:" in text(page, "reverse-decision-text"), what="the strip of the pointed sample"
    )
    assert slider_value(page, "reverse-decision-sample") == 2
    second = wait_for(lambda: (s := img_src(page, "reverse-decision")) != first and s, what="a new strip")
    # replaying the first step boxes it: the strip is drawn again
    drag_slider(page, "reverse-scrub", 0.0)
    wait_for(lambda: img_src(page, "reverse-decision") not in (first, second), what="the replayed step's box")
    assert "Sample 2:" in text(page, "reverse-decision-text")
    assert page.probe.errors == []


def test_the_round_trip_strip_names_the_digit_the_way_back_chose(page, app):
    run_with_steps(page, "4", "roundtrip", "roundtrip-run", 20)
    wait_for(lambda: "x_0 was read as" in text(page, "roundtrip-decision-text"), timeout=90, what="the strip")
    assert img_src(page, "roundtrip-decision")
    assert page.probe.errors == []
