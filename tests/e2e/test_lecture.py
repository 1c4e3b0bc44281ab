"""Lecture mode in headless Chromium: the scene bar, Next / Previous and the clicker keys,
the scene in the URL (a reload stays), bad lecture links, and docs/embedding.md holding an
iframe snippet of every default scene (test_doc_links opens each at 1280×720).

Screenshots go to $E2E_SHOTS (or a temporary folder, printed) for a human to look at.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

from diffusion_demo.ui import lecture

from .conftest import new_page
from .helpers import ROOT, shots_folder
from .test_deeplinks import selected_tab, value_of, wait_for

pytestmark = pytest.mark.e2e

SCENES = lecture.load("1").scenes
N = len(SCENES)
LOAD_MS = 120_000


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return shots_folder(tmp_path_factory, "E2E_SHOTS", "lecture-shots")


@pytest.fixture
def open_at(warm_context, app):
    """open_at(query, width, height) -> a page on app.url + query, loaded (loopback only)."""
    pages = []

    def make(query: str, width: int = 1280, height: int = 720):
        page = new_page(warm_context, LOAD_MS)
        pages.append(page)
        page.set_viewport_size({"width": width, "height": height})
        page.errors = page.probe.errors
        page.goto(app.url + query)
        page.wait_for_selector("#share-bar", state="attached", timeout=LOAD_MS)
        return page

    yield make
    for page in pages:
        page.close()


def counter(page) -> str:
    return page.locator("#lecture-counter").inner_text().strip()


def wait_scene(page, n: int) -> None:
    """The bar shows scene n (caption and counter), the URL names it, its tab is selected."""
    scene = SCENES[n - 1]
    wait_for(lambda: counter(page) == f"{n} / {N}", what=f"counter {n} / {N}")
    assert page.locator("#lecture-caption").inner_text().startswith(f"{scene.title} — ")
    assert scene.caption in page.locator("#lecture-caption").inner_text()
    wait_for(lambda: parse_qs(urlsplit(page.url).query).get("scene") == [str(n)], what=f"scene={n} in URL")
    wait_for(lambda: selected_tab(page) == scene.tab, what=f"tab {scene.tab}")


def warning_toast(page):
    return page.locator('[data-testid*="toast"]').filter(has_text="Some link parameters were ignored")


def test_lecture_shows_scene_one_and_next_moves_on(open_at, shots):
    page = open_at("?lecture=1")
    wait_scene(page, 1)
    assert page.locator("#lecture-bar").is_visible() and not page.locator("#intro").is_visible()
    assert page.locator("#lecture-prev").is_disabled() and page.locator("#lecture-next").is_enabled()
    wait_for(lambda: value_of(page, "#forward-t input[type=number]") == "300", what="t = 300 (scene 1)")
    box = page.locator("#lecture-bar").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 720 / 4  # the bar sits at the top of the screen
    page.screenshot(path=str(shots / "lecture-scene1-1280x720.png"))
    started = time.monotonic()
    page.locator("#lecture-next").click()
    wait_scene(page, 2)
    print(f"Next -> scene 2 shown in {time.monotonic() - started:.2f} s")
    assert dict(parse_qsl(urlsplit(page.url).query)) == {
        **dict(SCENES[1].items),
        "lecture": "1",
        "scene": "2",
    }
    assert not warning_toast(page).count()


def test_clicker_keys_change_the_scene_and_a_reload_stays(open_at, shots):
    page = open_at("?lecture=1&scene=2&projector=1")
    wait_scene(page, 2)
    page.locator("#schedule-t input[type=range]").first.focus()  # a focused slider must not eat the key
    page.keyboard.press("PageDown")
    wait_scene(page, 3)
    assert parse_qs(urlsplit(page.url).query)["projector"] == ["1"]  # carried from scene to scene
    wait_for(lambda: value_of(page, "#forward-t input[type=number]") == "1000", what="t = T (scene 3)")
    page.screenshot(path=str(shots / "lecture-scene3-projector-1280x720.png"))
    page.reload()
    page.wait_for_selector("#share-bar", state="attached", timeout=LOAD_MS)
    wait_scene(page, 3)
    page.keyboard.press("PageUp")
    wait_scene(page, 2)


def test_the_last_scene_has_no_next_and_leaving_drops_lecture_mode(open_at, shots):
    page = open_at(f"?lecture=default&scene={N}", 1920, 1080)
    wait_scene(page, N)
    assert page.locator("#lecture-next").is_disabled() and page.locator("#lecture-prev").is_enabled()
    page.screenshot(path=str(shots / f"lecture-scene{N}-1920x1080.png"))
    page.keyboard.press("PageDown")  # nothing after the last scene
    page.locator("#lecture-exit").click()
    wait_for(lambda: "lecture" not in parse_qs(urlsplit(page.url).query), what="URL without lecture")
    page.wait_for_selector("#share-bar", state="attached", timeout=LOAD_MS)
    page.locator("#intro").wait_for(state="visible")
    assert not page.locator("#lecture-bar").is_visible()
    wait_for(lambda: selected_tab(page) == SCENES[-1].tab, what="the scene's tab, outside lecture mode")


def test_the_lecture_button_starts_lecture_mode(open_at):
    page = open_at("?theme=dark")
    assert not page.locator("#lecture-bar").is_visible()
    page.locator("#lecture-start").click()
    wait_scene(page, 1)
    assert parse_qs(urlsplit(page.url).query)["theme"] == ["dark"]


@pytest.mark.parametrize(
    ("query", "says", "scene"),
    [
        ("?lecture=no-such-talk", 'lecture=no-such-talk (no scene list named "no-such-talk"', None),
        ("?lecture=/no/such/talk.json", "lecture=/no/such/talk.json (not found: /no/such/talk.json)", None),
        # a file that exists outside the folder the app started in is "not found" just the same
        ("?lecture=/etc/../etc/hostname.json", "(not found: /etc/../etc/hostname.json)", None),
        (f"?lecture=1&scene={N + 5}", f"scene={N + 5} (expected a whole number in [1, {N}]", 1),
    ],
)
def test_a_bad_lecture_link_still_opens_with_a_warning(open_at, shots, query, says, scene):
    page = open_at(query)
    toast = warning_toast(page)
    toast.first.wait_for(state="visible")
    assert says in toast.first.inner_text()
    if scene is None:  # the normal page
        page.locator("#intro").wait_for(state="visible")
        assert not page.locator("#lecture-bar").is_visible()
        wait_for(
            lambda: "lecture" not in page.evaluate("document.documentElement.className"), what="no class"
        )
        page.screenshot(path=str(shots / "lecture-unknown-1280x720.png"))
    else:
        wait_scene(page, scene)


def test_a_malformed_scene_file_is_named_in_the_warning(open_at):
    # inside the folder the app started in (the repository): only there are paths read
    folder = Path(tempfile.mkdtemp(prefix=".lecture-test-", dir=ROOT))
    try:
        bad = folder / "talk.json"
        bad.write_text('{"scenes": [ {"title": "a", } ]}', encoding="utf-8")
        page = open_at(f"?lecture={bad.relative_to(ROOT)}")
        _check_malformed_warning(page)
    finally:
        shutil.rmtree(folder)


def _check_malformed_warning(page) -> None:
    toast = warning_toast(page)
    toast.first.wait_for(state="visible")
    assert "talk.json is not valid JSON (line 1" in toast.first.inner_text()
    assert not page.locator("#lecture-bar").is_visible()


def embed_snippets() -> list[str]:
    """The iframe `src` queries of docs/embedding.md's lecture section."""
    text = (ROOT / "docs" / "embedding.md").read_text(encoding="utf-8")
    section = text.split("## 3. The lecture's scenes", 1)[1].split("\n## ", 1)[0]
    return re.findall(r'src="http://127\.0\.0\.1:7860/\?([^"]+)"', section)


def test_embedding_docs_hold_a_snippet_for_every_default_scene():
    assert embed_snippets() == [f"{s.query}&embed=1" for s in SCENES]
