"""Whole pictures in Chromium (issue #27): on every tab, in every mode (normal, projector,
embed at 1280×720; normal at 1920×1080) and in lecture mode, no image's label or buttons lie
on the picture it draws (the <img>'s content box under object-fit), no picture spills out of
its frame, every status line's text is inside the window after a run, and each tab shows a
picture on arrival (the round trip its x_0 and x_t, the fill-in tab its digit and mask).

One page load per tab and mode: the runs that fill the frames are short (a deep link with
two steps; an untrained model draws noise, which is fine for layout), and the 1920×1080
measurement reuses the normal page. Screenshots go to $LAYOUT_SHOTS (or a temporary folder).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diffusion_demo.config import GUIDANCE
from diffusion_demo.media.chains import grid_uint8
from diffusion_demo.ui.tabs.roundtrip import load_digit

from .helpers import error_toasts, loopback_only, shots_folder
from .layout_js import IMAGES, STATUS
from .test_stage import open_tab

pytestmark = pytest.mark.e2e

SIZES = {"normal": ((1280, 720), (1920, 1080)), "projector": ((1280, 720),), "embed": ((1280, 720),)}
LAST_W = len(GUIDANCE.compare_ws) - 1
# tab -> (the control to wait for, deep-link values that keep its runs short, the pictures it shows
# on arrival, its runs as (button, element that shows when it is done, text it then holds))
TABS = {
    "forward": ("forward-t", "", ("forward-xt", "forward-x0"), ()),
    "schedule": ("schedule-t", "", ("schedule-chart",), ()),
    "reverse": (
        "reverse-generate",
        "&steps=2&samples=4",
        ("reverse-quality",),
        (
            ("reverse-generate", "#reverse-status", "done"),
            ("reverse-compare", "#compare-dpmsolver img", ""),
            ("reverse-compare-w", f"#compare-w{LAST_W} img", ""),
        ),
    ),
    "roundtrip": (
        "roundtrip-run",
        "&roundtrip_t=40&roundtrip_steps=2",
        ("roundtrip-x0", "roundtrip-xt"),
        (
            ("roundtrip-run", "#roundtrip-status", "Started at"),
            ("roundtrip-curve-run", "#roundtrip-curve img", ""),
        ),
    ),
    "toy2d": ("toy-t", "", ("toy-forward",), ()),
    "inpaint": (
        "inpaint-run",
        "&inpaint_steps=2&jumps=1",
        ("inpaint-input",),
        (("inpaint-run", "#inpaint-status", "Done"),),
    ),
}
STATUSES = ("reverse-status", "roundtrip-status", "inpaint-status")
RUN_MS = 180_000

LOADED = """(ids) => ids.every((id) => { const img = document.querySelector('#' + id + ' img');
  return img && img.complete && img.naturalWidth > 0; })"""
ALL_LOADED = "() => [...document.querySelectorAll('.gradio-container img')].every((i) => i.complete)"
# The picture's pixels (the first channel), as drawn at its natural size.
PIXELS = """(id) => { const img = document.querySelector('#' + id + ' img');
  const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  return { w: c.width, h: c.height, red: Array.from({ length: c.width * c.height }, (_, i) => d[4 * i]) }; }"""


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return shots_folder(tmp_path_factory, "LAYOUT_SHOTS", "layout-shots")


@pytest.fixture(scope="module")
def layout_page(browser, app):
    """One page for the module (loopback only), loaded once: each test selects its tab, runs
    it once, and measures it in every mode and size (the modes are the classes that ?projector=1
    and ?embed=1 put on <html>, switched in place as the page's Projector button does)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    loopback_only(context)
    page = context.new_page()
    page.set_default_timeout(RUN_MS)
    query = "&".join(q.lstrip("&") for _, q, _, _ in TABS.values() if q)
    open_tab(page, app, f"?{query}", "forward-t")
    yield page
    context.close()


def _overlap(a: dict, b: dict) -> bool:
    return min(a["r"], b["r"]) - max(a["l"], b["l"]) > 0.5 and min(a["b"], b["b"]) - max(a["t"], b["t"]) > 0.5


def picture_problems(page, where: str) -> tuple[list[str], set[str]]:
    """What covers or cuts a picture on the page now, and the ids of the pictures measured."""
    problems, seen = [], set()
    for image in page.evaluate(IMAGES):
        seen.add(image["id"])
        picture, block = image["picture"], image["block"]
        for extra in image["extras"]:
            if _overlap(extra["box"], picture):
                problems.append(f"{where} #{image['id']}: {extra['what']} overlaps the picture")
        inside = (
            picture["l"] >= block["l"] - 1
            and picture["r"] <= block["r"] + 1
            and picture["t"] >= block["t"] - 1
            and picture["b"] <= block["b"] + 1
        )
        if not inside:
            problems.append(f"{where} #{image['id']}: the picture {picture} spills out of its frame {block}")
    return problems, seen


def status_problems(page, where: str) -> list[str]:
    """Status lines (of the shown tab) whose text leaves the window or is clipped."""
    page.evaluate("window.scrollTo(0, 0)")
    problems = []
    for elem_id in STATUSES:
        if not page.locator(f"#{elem_id}").is_visible():
            continue
        got = page.evaluate(STATUS, elem_id)
        clip = got["clip"]
        left, right = max(0, clip["l"]), min(got["width"], clip["r"])
        top, bottom = max(0, clip["t"]), min(got["height"], clip["b"])
        outside = [
            r
            for r in got["lines"]
            if r["l"] < left - 1 or r["r"] > right + 1 or r["t"] < top - 1 or r["b"] > bottom + 1
        ]
        if outside or got["ellipsis"]:
            problems.append(
                f"{where} #{elem_id}: text outside the window or cut ({outside[:1]}, "
                f"window {got['width']}×{got['height']}, ellipsis {got['ellipsis']}): {got['text'][-60:]!r}"
            )
    return problems


def settle(page) -> None:
    page.wait_for_function(ALL_LOADED)
    page.wait_for_timeout(400)  # layout after the last image


MODE_JS = """([mode, tab]) => { const root = document.documentElement;
  root.classList.remove('projector', 'embed', ...[...root.classList].filter((c) => c.startsWith('embed-tab-')));
  if (mode === 'projector') root.classList.add('projector');
  if (mode === 'embed') root.classList.add('embed', 'embed-tab-' + tab); }"""


def show(page, mode: str, tab: str, control: str, size: tuple[int, int]) -> None:
    """The tab in this mode and window size, once its layout has settled."""
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.evaluate(MODE_JS, [mode, tab])
    page.evaluate("window.scrollTo(0, 0)")
    open_tab_settled(page, control)
    settle(page)


def open_tab_settled(page, control: str) -> None:
    """Until the control's box is the same in three readings 150 ms apart (fonts, images, the
    Explain sections folding)."""
    last, still = None, 0
    for _ in range(200):
        now = page.evaluate(
            "(id) => JSON.stringify(document.getElementById(id).getBoundingClientRect())", control
        )
        still = still + 1 if now == last else 0
        if still >= 2:
            return
        last = now
        page.wait_for_timeout(150)


@pytest.mark.parametrize("tab", list(TABS))
def test_pictures_are_whole_and_statuses_on_screen(layout_page, shots, tab):
    page = layout_page
    control, _, arrival, runs = TABS[tab]
    show(page, "normal", tab, "tabs", (1280, 720))
    page.locator(f'#tabs [role="tab"][data-tab-id="{tab}"]').click()
    page.locator(f"#{control}").wait_for(state="visible")
    # every tab shows something before any run
    page.wait_for_function(LOADED, arg=list(arrival), timeout=30_000)
    show(page, "normal", tab, control, (1280, 720))
    page.screenshot(path=str(shots / f"{tab}-normal-1280x720.png"))
    problems = picture_problems(page, "normal 1280×720 before a run")[0]
    for button, done, text in runs:
        page.locator(f"#{button}").click()
        page.wait_for_function(
            "([sel, text]) => { const e = document.querySelector(sel);"
            " return e && (!text || (e.innerText || '').includes(text)); }",
            arg=[done, text],
        )
    # a run the next button replaced ends quietly (its API call still says why)
    problems += [f"an error toast after the runs: {text!r}" for text in error_toasts(page)]
    page.mouse.move(1, 1)
    seen = set()
    for mode, sizes in SIZES.items():
        for width, height in sizes:
            show(page, mode, tab, control, (width, height))
            page.screenshot(path=str(shots / f"{tab}-{mode}-{width}x{height}-run.png"))
            found, measured = picture_problems(page, f"{mode} {width}×{height} after the runs")
            problems += found + status_problems(page, f"{mode} {width}×{height}")
            seen |= measured
    show(page, "normal", tab, control, (1280, 720))
    assert set(arrival) <= seen, f"pictures not measured: {set(arrival) - seen}"
    assert not problems, "\n".join(problems)


def test_lecture_scene_opens_with_its_pictures(layout_page, app, shots):
    """Scene 5 ("Off the manifold and back": tab=roundtrip&t=300&example=digit-7) opens with
    its digit x_0 and its x_t, whole, in projector mode: the deep link's digit, not the default.
    (Last in the module: it loads another page.)"""
    page = layout_page
    page.set_viewport_size({"width": 1280, "height": 720})
    page.evaluate(MODE_JS, ["normal", ""])
    open_tab(page, app, "?lecture=1&scene=5&projector=1", "roundtrip-run")
    page.locator("#lecture-counter").filter(has_text="5 /").wait_for()
    page.wait_for_function(LOADED, arg=["roundtrip-x0", "roundtrip-xt"], timeout=30_000)
    expected = grid_uint8(load_digit("digit-7", None)[0][None])

    def shows_the_seven() -> bool:
        got = page.evaluate(PIXELS, "roundtrip-x0")
        red = np.array(got["red"]).reshape(got["h"], got["w"])
        return red.shape == expected.shape and np.abs(red - expected.astype(int)).max() <= 1

    for _ in range(50):  # the deep link's digit replaces the default one within moments
        if shows_the_seven():
            break
        page.wait_for_timeout(200)
    settle(page)
    page.screenshot(path=str(shots / "lecture-scene5-projector-1280x720.png"))
    assert shows_the_seven(), "x_0 is not the scene's digit-7"
    problems, seen = picture_problems(page, "lecture scene 5")
    assert {"roundtrip-x0", "roundtrip-xt"} <= seen
    assert not problems, "\n".join(problems)
