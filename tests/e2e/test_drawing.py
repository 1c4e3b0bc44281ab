"""Drawing in Chromium: strokes on the round trip's sketchpad, drawn with the mouse, come back
from level t as a digit; an untouched canvas is refused with a message."""

from __future__ import annotations

import pytest

from .test_browser import open_tab, require, wait_for

pytestmark = pytest.mark.e2e


def status(page) -> str:
    return page.locator("#roundtrip-status [data-testid=markdown]").inner_text()


def draw_a_one(page) -> None:
    """A vertical stroke and a small flag, drawn with the mouse on the sketchpad's canvas."""
    canvas = page.locator("#roundtrip-sketch canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + 0.42 * w, y + 0.25 * h)
    page.mouse.down()
    page.mouse.move(x + 0.52 * w, y + 0.18 * h, steps=6)
    page.mouse.move(x + 0.52 * w, y + 0.82 * h, steps=20)
    page.mouse.up()


def test_a_drawing_made_with_the_mouse_comes_back(page, app):
    require(app, "roundtrip-sketch-run", "the drawing round trip")
    open_tab(page, "4")
    run = page.locator("#roundtrip-sketch-run")
    run.wait_for(state="visible")
    # untouched: a clear message, nothing run
    run.click()
    wait_for(
        lambda: page.get_by_text("The canvas is empty").count() > 0,
        timeout=30,
        what="the empty-canvas message",
    )
    draw_a_one(page)
    run.click()
    wait_for(
        lambda: "RMS distance to your drawing" in status(page), timeout=120, what="the drawing's round trip"
    )
    assert "t =" in status(page)
    assert page.probe.errors == []
