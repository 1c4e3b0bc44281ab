"""Deep links, embed/theme/projector modes, copy-link and downloads in headless Chromium.

Every test opens the real app (`python app.py`, fixture `app`) at a URL with a query and
checks what the page shows: the selected tab, the widgets' values, the example image,
what is hidden in embed mode, the files the download buttons produce (decoded), and
that a copied link, opened again, restores the same view.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from PIL import Image

from diffusion_demo.config import GUIDANCE
from diffusion_demo.diffusion.samplers import SAMPLERS
from diffusion_demo.media import export, images

from .conftest import new_page
from .helpers import app_config, fn_index, loopback_only

pytestmark = pytest.mark.e2e

LOAD_TIMEOUT_MS = 120_000
# Generous: the tests share two cores with other work; a passing wait returns at once.
TIMEOUT_MS = 120_000
CAPTION = export.EXPORT.caption_px


def open_view(
    browser, app, query: str = "", clipboard: bool = False, init_script: str | None = None, context=None
):
    """A page on app.url + query (loopback only, page errors collected) and what closes it: a
    page of `context`, or (None) a context of its own, with the clipboard if asked. `init_script`
    runs in the page before its own scripts."""
    own = context is None
    if own:
        context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
        if clipboard:
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app.url.rstrip("/"))
    page = new_page(context, TIMEOUT_MS)
    if init_script:
        page.add_init_script(init_script)
    goto(page, app.url + query)
    return (context if own else page), page


def goto(page, url: str) -> None:
    page.goto(url)
    # #share-bar is hidden in embed mode: wait for it to exist, not to be visible.
    page.wait_for_selector("#share-bar", state="attached", timeout=LOAD_TIMEOUT_MS)


@pytest.fixture
def view(warm_context, browser, app):
    """view(query) -> page; the pages (or contexts) are closed after the test."""
    opened = []

    def make(query: str = "", clipboard: bool = False):
        closer, page = open_view(browser, app, query, clipboard, context=None if clipboard else warm_context)
        opened.append(closer)
        return page

    yield make
    for c in opened:
        c.close()


def wait_for(predicate, timeout: float = TIMEOUT_MS / 1000, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except Exception as exc:  # the element may not be rendered yet
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def value_of(page, selector: str) -> str:
    return page.locator(selector).first.input_value()


def wait_value(page, selector: str, expected: str, timeout: float = TIMEOUT_MS / 1000) -> None:
    wait_for(lambda: value_of(page, selector) == expected, timeout, f"{selector} == {expected!r}")


def selected_tab(page) -> str | None:
    return page.evaluate(
        '() => document.querySelector(\'#tabs [role="tab"][aria-selected="true"]\')?.dataset.tabId ?? null'
    )


def checked_radio(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id} input[type=radio]:checked").first.get_attribute("value")


def chosen_sampler(page, elem_id: str) -> str:
    """The id of the sampler a Sampler menu shows (the menu shows its label)."""
    shown = page.locator(f"#{elem_id} input").first.input_value()
    return next((s.id for s in SAMPLERS.values() if s.label == shown), shown)


def set_number(page, selector: str, value) -> None:
    box = page.locator(selector).first
    box.fill(str(value))
    box.press("Enter")
    box.blur()


def fetch_gray(page, src: str) -> np.ndarray:
    r = page.request.get(src)
    assert r.ok, f"{src}: {r.status}"
    return np.asarray(Image.open(io.BytesIO(r.body())).convert("L"), dtype=np.float64)


def download(page, button: str, tmp_path: Path, timeout_ms: int = 180_000) -> Path:
    """Click a download button and save what the browser downloads."""
    page.locator(button).scroll_into_view_if_needed()
    with page.expect_download(timeout=timeout_ms) as info:
        page.locator(button).click()
    d = info.value
    out = tmp_path / d.suggested_filename
    d.save_as(out)
    return out


def gif_frames(path: Path) -> list[np.ndarray]:
    img = Image.open(path)
    assert img.format == "GIF"
    frames = []
    for i in range(img.n_frames):
        img.seek(i)
        frames.append(np.asarray(img.convert("L")))
    return frames


def mp4_frames(path: Path, tries: int = 3) -> np.ndarray:
    import imageio.v3 as iio

    for attempt in range(tries):  # imageio-ffmpeg allows ffmpeg 10 s for its header
        try:
            return iio.imread(path, index=None)
        except OSError:
            if attempt == tries - 1:
                raise
            time.sleep(1.0)
    raise AssertionError("unreachable")


def digit_work_image(name: str) -> np.ndarray:
    img = images.fit(images.load_image(images.examples()[name]), export.EXPORT.forward_size)
    return np.asarray(img.convert("L"), dtype=np.float64)


# --------------------------------------------------------------------------------------
# Deep links restore the view
# --------------------------------------------------------------------------------------


def test_forward_link_sets_tab_t_seed_schedule_and_example(view):
    page = view("?tab=forward&t=617&schedule=cosine&seed=3&example=digit-3")
    wait_for(lambda: selected_tab(page) == "forward", what="the forward tab")
    wait_value(page, "#forward-t input[type=number]", "617")
    assert value_of(page, "#forward-t input[type=range]") == "617"
    wait_value(page, "#forward-seed input", "3")
    wait_value(page, "#forward-example input", "digit-3")
    # the example image is shown: x_0 is the digit (the same pixels as the shipped file)
    expected = digit_work_image("digit-3")

    def x0_is_the_digit():
        src = page.locator("#forward-x0 img").first.get_attribute("src")
        got = fetch_gray(page, src) if src else None
        return got is not None and got.shape == expected.shape and np.abs(got - expected).mean() < 4

    # the formula is at t = 617 and the (collapsed) schedule panel holds cosine
    wait_for(lambda: "617" in page.locator("#forward-formula").inner_text(), what="the formula at t = 617")
    page.locator("#schedule-panel").get_by_text("Variance schedule").first.click()
    wait_value(page, "#schedule input", "cosine")
    # x_0 shows the link's example, not the default photo: a prepare fired by the link's
    # schedule once read the example of before the link and finished last (ui.common.follow)
    wait_for(x0_is_the_digit, timeout=30, what="x_0 to show digit-3")
    page.wait_for_timeout(1000)  # and nothing sets it back later
    assert x0_is_the_digit() and "digit-3" in page.locator("#forward-source").inner_text()
    assert page.probe.errors == [] and page.probe.blocked == []


def test_reverse_link_sets_sampler_steps_seed_samples_eta(view):
    # η is DDIM's: with DDPM the link's η = 0.5 is dropped (and said), never a race with the
    # sampler's greying of the slider to 0
    page = view("?tab=reverse&sampler=ddpm&steps=37&seed=5&samples=4&eta=0.5")
    wait_for(lambda: selected_tab(page) == "reverse", what="the reverse tab")
    wait_for(lambda: chosen_sampler(page, "reverse-sampler") == "ddpm", what="sampler ddpm")
    wait_value(page, "#reverse-steps input[type=number]", "37")
    wait_value(page, "#reverse-seed input", "5")
    wait_value(page, "#reverse-samples input[type=number]", "4")
    page.get_by_text("η applies to DDIM only").first.wait_for(state="visible")
    wait_value(page, "#reverse-eta input[type=number]", "0")
    page.wait_for_timeout(1000)  # nothing sets it back to 0.5 later
    assert page.locator("#reverse-eta input[type=number]").input_value() == "0"
    assert page.probe.errors == []
    page = view("?tab=reverse&sampler=ddim&eta=0.5")
    wait_for(lambda: chosen_sampler(page, "reverse-sampler") == "ddim", what="sampler ddim")
    wait_value(page, "#reverse-eta input[type=number]", "0.5")
    assert page.probe.errors == []


@pytest.mark.parametrize(
    "query, tab, expected",
    [
        (
            "?tab=roundtrip&t=300&example=digit-7&seed=2&sampler=ddpm&steps=20",
            "roundtrip",
            {
                "#roundtrip-t input[type=number]": "300",
                "#roundtrip-example input": "digit-7",
                "#roundtrip-seed input": "2",
                "#roundtrip-steps input[type=number]": "20",
            },
        ),
        (
            "?tab=toy2d&dataset=rings&t=20&seed=4",
            "toy2d",
            {
                "#toy-dataset input": "Rings (concentric circles)",
                "#toy-t input[type=number]": "20",
                "#toy-seed input": "4",
            },
        ),
        # the schedule lab shows the forward tab's t; a T above the default widens its range
        (
            "?tab=schedule&T=2000&t=1500",
            "schedule",
            {"#schedule-t input[type=number]": "1500", "#forward-t input[type=number]": "1500"},
        ),
    ],
)
def test_links_of_the_other_tabs(view, query, tab, expected):
    page = view(query)
    wait_for(lambda: selected_tab(page) == tab, what=f"the {tab} tab")
    for selector, value in expected.items():
        if selector.startswith("#forward"):
            continue  # another tab: checked below through the tab bar
        wait_value(page, selector, value)
    if tab == "roundtrip":
        assert chosen_sampler(page, "roundtrip-sampler") == "ddpm"
    if tab == "schedule":
        # the schedule tab widens its slider when the panel's T changes (a server event)
        rng = page.locator("#schedule-t input[type=range]").first
        wait_for(lambda: rng.get_attribute("max") == "2000", what="the schedule lab's t range [0, 2000]")
        assert value_of(page, "#schedule-t input[type=number]") == "1500"
        page.locator("#tab-forward-button").click()
        wait_value(page, "#forward-t input[type=number]", "1500")
    assert page.probe.errors == []


def test_invalid_values_are_ignored_with_a_warning(view):
    page = view("?tab=reverse&steps=abc&seed=7&bogus=1&sampler=lms")
    toast = page.locator('[data-testid*="toast"]').filter(has_text="Some link parameters were ignored")
    toast.first.wait_for(state="visible")
    text = toast.first.inner_text()
    assert "steps=abc" in text and "bogus=1 (unknown parameter)" in text and "sampler=lms" in text
    wait_value(page, "#reverse-seed input", "7")  # the valid one still applies
    assert value_of(page, "#reverse-steps input[type=number]") == "50"
    assert chosen_sampler(page, "reverse-sampler") == "ddim"
    assert selected_tab(page) == "reverse"
    assert page.probe.errors == []


# --------------------------------------------------------------------------------------
# Embed, theme, projector
# --------------------------------------------------------------------------------------

CHROME = ("#intro", "#tabs > .tab-wrapper", "footer", "#share-bar")


def test_embed_shows_only_the_panel(view):
    page = view("?tab=reverse&embed=1")
    page.locator("#reverse-generate").wait_for(state="visible")
    for selector in (*CHROME, "#schedule-panel"):
        assert page.locator(selector).count() >= 1, f"{selector} is missing from the DOM"
        assert not page.locator(selector).first.is_visible(), f"{selector} is visible in embed mode"
    classes = page.evaluate("() => document.documentElement.className").split()
    # (narrow-screen: set by width alone, for the sketchpads' zoom bar; see ui.theme)
    assert [c for c in classes if c != "narrow-screen"] == ["embed", "embed-tab-reverse"]
    # the schedule lab needs its panel: kept there
    goto(page, page.url.replace("tab=reverse", "tab=schedule"))
    page.locator("#schedule-chart").wait_for(state="visible")
    assert page.locator("#schedule-panel").is_visible()
    for selector in CHROME:
        assert not page.locator(selector).first.is_visible()
    # without embed everything is back
    goto(page, page.url.split("?")[0] + "?tab=schedule")
    for selector in CHROME:
        page.locator(selector).first.wait_for(state="visible")


def body_is_dark(page) -> bool:
    return page.evaluate("() => document.body.classList.contains('dark')")


def test_theme_parameter_and_toggle(view):
    page = view("?theme=dark")
    wait_for(lambda: body_is_dark(page), what="dark mode")
    page.locator("#intro").wait_for(state="visible")
    # Gradio's own ?__theme=dark is overridden by ours
    goto(page, page.url.split("?")[0] + "?__theme=dark&theme=light")
    page.locator("#intro").wait_for(state="visible")
    assert not body_is_dark(page)
    page.locator("#theme-toggle").click()
    wait_for(lambda: body_is_dark(page), what="the toggle to switch to dark")
    assert "theme=dark" in page.url
    page.locator("#theme-toggle").click()
    wait_for(lambda: not body_is_dark(page), what="the toggle to switch back")
    assert "theme=light" in page.url


def font_px(page, selector: str) -> float:
    return page.evaluate(f"() => parseFloat(getComputedStyle(document.querySelector({selector!r})).fontSize)")


def test_projector_mode_enlarges_text(view):
    page = view("?tab=reverse")
    page.locator("#reverse-generate").wait_for(state="visible")
    normal = font_px(page, "#reverse-generate")
    label_normal = font_px(page, "#reverse-steps label, #reverse-steps span")
    page.locator("#projector-toggle").click()
    wait_for(
        lambda: "projector" in page.evaluate("() => document.documentElement.className"), what="projector"
    )
    assert "projector=1" in page.url
    wait_for(lambda: font_px(page, "#reverse-generate") > normal, what="a larger button font")
    assert font_px(page, "#reverse-steps label, #reverse-steps span") > label_normal
    text_md = page.evaluate("() => getComputedStyle(document.body).getPropertyValue('--text-md').trim()")
    assert text_md == "22px"
    # the same from the URL, in dark mode: white text on black
    goto(page, page.url.split("?")[0] + "?tab=reverse&projector=1&theme=dark")
    page.locator("#reverse-generate").wait_for(state="visible")
    colour = page.evaluate(
        "() => getComputedStyle(document.body).getPropertyValue('--body-text-color').trim()"
    )
    assert colour.lower() in ("#fff", "#ffffff", "white")
    assert font_px(page, "#reverse-generate") > normal


# --------------------------------------------------------------------------------------
# Copy link
# --------------------------------------------------------------------------------------


def copied_link(page, replacing: str | None = None) -> str:
    """Click "Copy link" and read the link it writes; `replacing`: the link the box showed
    before (a second copy of another view), which must not be read back as the new one."""
    page.locator("#copy-link").click()
    box = page.locator("#share-link textarea, #share-link input").first
    wait_for(
        lambda: box.input_value().startswith("http") and box.input_value() != replacing,
        what="the copied link",
    )
    return box.input_value()


def test_copy_link_restores_the_same_view(view):
    page = view("?tab=reverse&sampler=ddpm&steps=37&seed=5", clipboard=True)
    wait_value(page, "#reverse-seed input", "5")
    set_number(page, "#reverse-seed input", 9)  # the user changes something
    set_number(page, "#reverse-samples input[type=number]", 4)
    link = copied_link(page)
    clip = page.evaluate("() => navigator.clipboard.readText()")
    assert clip == link
    query = parse_qs(urlsplit(link).query)
    assert query == {
        "tab": ["reverse"],
        "sampler": ["ddpm"],
        "steps": ["37"],
        "seed": ["9"],
        "samples": ["4"],
        "eta": ["0"],
        "digit": ["any"],
        "guidance": [f"{GUIDANCE.default_w:g}"],
    }
    assert link.startswith(page.url.split("?")[0])
    again = view("?" + urlsplit(link).query)
    wait_for(lambda: selected_tab(again) == "reverse", what="the reverse tab")
    wait_for(lambda: chosen_sampler(again, "reverse-sampler") == "ddpm", what="sampler ddpm")
    wait_value(again, "#reverse-steps input[type=number]", "37")
    wait_value(again, "#reverse-seed input", "9")
    wait_value(again, "#reverse-samples input[type=number]", "4")


def test_copy_link_follows_the_tab_the_user_selected(view):
    page = view("?tab=forward&example=digit-5&seed=2")
    wait_value(page, "#forward-seed input", "2")
    set_number(page, "#forward-t input[type=number]", 617)
    wait_value(page, "#forward-t input[type=range]", "617")
    link = copied_link(page)
    assert parse_qs(urlsplit(link).query) == {
        "tab": ["forward"],
        "t": ["617"],
        "seed": ["2"],
        "example": ["digit-5"],
    }  # the default schedule (linear) is left out, as the default β and T are
    page.locator("#tab-schedule-button").click()
    wait_for(lambda: selected_tab(page) == "schedule", what="the schedule tab")
    link = copied_link(page, replacing=link)
    assert parse_qs(urlsplit(link).query) == {"tab": ["schedule"], "t": ["617"]}
    again = view("?" + urlsplit(link).query)
    wait_for(lambda: selected_tab(again) == "schedule", what="the schedule tab")
    wait_value(again, "#schedule-t input[type=number]", "617")


def test_a_tab_picked_while_the_link_loads_stays_picked(warm_context, app):
    """The deep link's answer selects the link's tab when it lands: a tab the user picked
    before then (a slow first load, a busy server) stays selected, with the link's values set."""
    deeplink, held = fn_index(app_config(app), "deeplink"), []

    def hold(route):
        if (route.request.post_data_json or {}).get("fn_index") == deeplink and not held:
            held.append(route)  # answered below, after the user's click
        else:
            route.fallback()

    page = new_page(warm_context, TIMEOUT_MS)
    try:
        page.route("**/gradio_api/queue/join*", hold)
        goto(page, app.url + "?tab=forward&seed=2")
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while not held and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert held, "the page never sent its deep link"
        page.locator("#tab-schedule-button").click()
        wait_for(lambda: selected_tab(page) == "schedule", what="the schedule tab")
        held[0].fallback()
        wait_value(page, "#forward-seed input", "2")  # the link's answer has landed
        page.wait_for_timeout(500)
        assert selected_tab(page) == "schedule"
    finally:
        page.close()


# --------------------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------------------


def test_forward_gif_and_mp4_downloads(view, tmp_path):
    page = view("?tab=forward&example=digit-3&schedule=cosine&seed=3")
    wait_value(page, "#forward-example input", "digit-3")
    wait_value(page, "#forward-seed input", "3")
    expected = digit_work_image("digit-3")
    gif = download(page, "#forward-download-gif", tmp_path)
    assert gif.name == "forward_digit-3_cosine_T1000_seed3.gif"
    frames = gif_frames(gif)
    h, w = expected.shape
    assert len(frames) == 40 and frames[0].shape == (h + CAPTION, w)
    assert np.abs(frames[0][:h] - expected).max() <= 1  # frame 0 is x_0 itself
    assert frames[-1][:h].std() > 60  # frame 39 is t = T: noise
    # the file box shows the file too (the fallback link)
    page.locator("#forward-download-file").get_by_text("forward_digit-3").first.wait_for(state="visible")
    mp4 = download(page, "#forward-download-mp4", tmp_path)
    video = mp4_frames(mp4)
    hold = round(export.EXPORT.hold_last_s * export.EXPORT.fps)
    assert video.shape[0] == 40 + hold
    assert video.shape[1:3] == (h + CAPTION + (h + CAPTION) % 2, w + w % 2)
    assert page.probe.errors == []


def test_reverse_gif_download_of_the_last_run(view, tmp_path):
    page = view("?tab=reverse&sampler=ddim&steps=5&samples=4&seed=1")
    wait_value(page, "#reverse-steps input[type=number]", "5")
    wait_value(page, "#reverse-samples input[type=number]", "4")
    page.locator("#reverse-generate").click()
    wait_for(lambda: "done" in page.locator("#reverse-status").inner_text(), timeout=240, what="the run")
    gif = download(page, "#reverse-download-gif", tmp_path)
    frames = gif_frames(gif)
    assert len(frames) == 5 and frames[0].shape[1] == 256
    # the last frame is what the page shows as x_t at the end of the run: the page gets the
    # native-size grid (a 2×2 grid of 28 px digits) and draws it large with square pixels
    img = page.locator("#reverse-xt img").first
    shown = fetch_gray(page, img.get_attribute("src"))
    assert shown.shape == (2 * 28 + 3, 2 * 28 + 3)
    natural, rendering = img.evaluate("e => [e.naturalWidth, getComputedStyle(e).imageRendering]")
    assert img.bounding_box()["width"] > 3 * natural and rendering == "pixelated"
    last = frames[-1][: frames[-1].shape[0] - CAPTION].astype(np.float64)
    upscaled = Image.fromarray(shown.astype(np.uint8)).resize(last.shape[::-1], Image.Resampling.NEAREST)
    assert np.abs(last - np.asarray(upscaled, dtype=np.float64)).mean() < 8  # GIF's palette
    assert page.probe.errors == []


def test_schedule_svg_download(view, tmp_path):
    page = view("?tab=schedule&schedule=sigmoid&t=300")
    page.locator("#schedule-chart").wait_for(state="visible")
    svg = download(page, "#schedule-download-svg", tmp_path)
    assert svg.name == "schedule_sigmoid_T1000.svg"
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text


# --------------------------------------------------------------------------------------
# Embedding (what docs/embedding.md shows), with a host page served on loopback
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def host():
    """A host page server on loopback: PAGES[name] is served at <url>/<name>. A real server,
    not a routed URL: Chromium's local-network checks let only a page that is itself on
    loopback frame or fetch the app."""
    import http.server
    import threading

    pages: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            body = pages.get(self.path.split("?")[0].lstrip("/"))
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((body or "not found").encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}", pages=pages)
    server.shutdown()
    server.server_close()


def host_page(browser, host, name: str, html: str, query: str = ""):
    """A browser page on the host server's page `name` (the app is a third party there)."""
    host.pages[name] = html
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    blocked: list[str] = []
    loopback_only(context, blocked)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{host.url}/{name}{query}")
    return context, page, blocked


def test_iframe_embed_of_a_deep_link(browser, app, host):
    src = app.url + "?tab=reverse&seed=5&embed=1&theme=dark"
    html = f'<!DOCTYPE html><h1 id="host">Slide 12</h1><iframe id="demo" src="{src}" width="800" height="600"></iframe>'
    context, page, blocked = host_page(browser, host, "slide.html", html)
    try:
        frame = page.frame_locator("#demo")
        frame.locator("#reverse-generate").wait_for(state="visible", timeout=LOAD_TIMEOUT_MS)
        wait_for(
            lambda: frame.locator("#reverse-seed input").input_value() == "5", what="seed 5 in the iframe"
        )
        assert frame.locator("#tabs [role=tab][aria-selected=true]").get_attribute("data-tab-id") == "reverse"
        for selector in CHROME:
            assert not frame.locator(selector).first.is_visible(), selector
        inner = page.frames[1]
        assert inner.evaluate("() => document.body.classList.contains('dark')")
        assert page.locator("#host").is_visible() and blocked == []
    finally:
        context.close()


def test_web_component_embed_reads_the_host_pages_query(browser, app, host):
    import re

    from .helpers import http_get

    status, body = http_get(app.url)
    script = re.search(r'src="([^"]*assets/index-[^"]+\.js)"', body.decode())
    assert status == 200 and script, "the app's page names its loader script"
    loader = app.url.rstrip("/") + "/" + script.group(1).lstrip("./")
    html = (
        "<!DOCTYPE html><html><body><h1 id='host'>Lecture notes</h1>"
        f'<script type="module" src="{loader}"></script>'
        f'<gradio-app src="{app.url}"></gradio-app>'
        "<footer id='host-footer'>host footer</footer></body></html>"
    )
    # the deep link and embed=1 are the HOST page's query: the component reads location.search
    context, page, blocked = host_page(browser, host, "notes.html", html, "?tab=roundtrip&t=300&embed=1")
    try:
        page.locator("gradio-app #roundtrip-run").wait_for(state="visible", timeout=LOAD_TIMEOUT_MS)
        wait_value(page, "gradio-app #roundtrip-t input[type=number]", "300")
        assert selected_tab(page) == "roundtrip"
        assert not page.locator("gradio-app #intro").is_visible()
        assert not page.locator("gradio-app footer").first.is_visible()
        # the embed CSS is scoped to the app: the host page's own heading and footer stay
        assert page.locator("#host").is_visible() and page.locator("#host-footer").is_visible()
        assert blocked == []
    finally:
        context.close()
