"""Every link of docs/deeplinks.md and docs/embedding.md opens without a server error.

The links are read from the two pages, so a new one is covered when it is written. After
each page settles: no HTTP answer >= 500, no error toast, no uncaught page error, nothing
in the app's log that looks like an error (h11's "Too much data for declared
Content-Length", one load in 20, was Gradio rewriting a cached picture while serving it:
ui.runtime.atomic_image_cache). docs/embedding.md's iframe of each default lecture scene
also opens on its scene's tab, without the tab bar, with no warning (and is saved as a
screenshot in $E2E_SHOTS). The deep-link race's two links (T above 1000 with t above the
old maximum) are opened REPEAT times each.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from diffusion_demo.ui import lecture

from .helpers import ROOT, error_toasts, loopback_only, shots_folder
from .test_deeplinks import LOAD_TIMEOUT_MS, selected_tab

pytestmark = pytest.mark.e2e

DOCS = (ROOT / "docs" / "deeplinks.md", ROOT / "docs" / "embedding.md")
# A link in the docs: the app's address, or a bare `/?…` / `?…`, with a tab or a lecture.
LINK = re.compile(r"(?:http://127\.0\.0\.1:7860)?/?\?((?:tab|lecture)=[^\s`\"'<>)\]]*)")
RACY = ("tab=schedule&schedule=sigmoid&T=2000&t=1500", "tab=forward&T=2000&t=1500")
# First visits each, in a fresh context (the pass over every link opens them in a warm one): with
# the race and h11's fixed, a guard, not a hunt (20 loads each were run when the race was fixed).
# Sigmoid T = 2000 is the suite's dearest load (~12 s of CPU on 2 cores, Chromium's and the app's).
REPEAT = 1
# After the share bar is there: quiet (no request in flight) this long means the deep link's
# load event and the changes it set off are done; a page still busy after the timeout (a chain
# started by autoplay) is checked as it is.
QUIET_S = 0.5
SETTLE_TIMEOUT_S = 20.0
# An autoplay link (a chain, or a loop that never ends) is checked after this long: its first
# frames and many requests have been answered by then; waiting the full timeout only burns CPU.
AUTOPLAY_SETTLE_S = 8.0
# The default lecture's scenes by their iframe query in docs/embedding.md (test_lecture checks
# that the page holds one for every scene).
SCENE_EMBEDS = {f"{scene.query}&embed=1": scene for scene in lecture.load("1").scenes}
# Lines of the app's log that mean a server error (Gradio prints a handler's traceback).
SERVER_ERROR = re.compile(r"Traceback \(most recent call last\)|^\S*Error: |^ERROR", re.M)


def doc_links(pages: tuple[Path, ...] = DOCS) -> list[str]:
    """The queries of every link on the pages, in order, without placeholders (`…`, `<name>`)."""
    found: list[str] = []
    for page in pages:
        for query in LINK.findall(page.read_text(encoding="utf-8")):
            query = query.rstrip(".,;:")
            if (
                query
                and not query.endswith("=")
                and "…" not in query
                and "<" not in query
                and query not in found
            ):
                found.append(query)
    return found


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return shots_folder(tmp_path_factory, "E2E_SHOTS", "doc-link-shots")


def test_the_docs_hold_the_links_the_checks_need():
    links = doc_links()
    assert RACY[0] in links and len(links) >= 15, links
    assert set(SCENE_EMBEDS) <= set(doc_links(DOCS[1:])), "embedding.md lacks a scene's iframe"
    assert any(q.startswith("lecture=") for q in links) and any("embed=1" in q for q in links), links


def server_errors(page, app, query: str, answers: list[str]) -> list[str]:
    """Open `query` in `page`; what went wrong on the server's side while it loaded and settled."""
    before, seen = len(app.log()), len(answers)
    page.goto(app.url + "?" + query)
    page.wait_for_selector("#share-bar", state="attached", timeout=LOAD_TIMEOUT_MS)
    settle(page, timeout_s=AUTOPLAY_SETTLE_S if "autoplay=1" in query else SETTLE_TIMEOUT_S)
    problems = answers[seen:] + [f"error toast: {text!r}" for text in error_toasts(page)]
    log = app.log()[before:]
    return problems + [f"app log: {m.group(0)}" for m in SERVER_ERROR.finditer(log)]


def settle(page, quiet_s: float = QUIET_S, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    """Wait until the page has had no request in flight for `quiet_s` (the deep link's load
    event and every change it set off have been answered), or `timeout_s` (a chain started by
    autoplay streams for longer; what it did so far is checked)."""
    deadline, quiet_since = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        if page.in_flight:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
        page.wait_for_timeout(100)


def fresh_page(browser):
    """A new context (an empty cache: a first visit, as a new user's) with its page, loopback only,
    and the list the page's server-side failures are added to."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    loopback_only(context)
    page = context.new_page()
    answers: list[str] = []
    page.on("response", lambda r: answers.append(f"HTTP {r.status} {r.url}") if r.status >= 500 else None)
    page.on("pageerror", lambda exc: answers.append(f"page error: {exc}"))
    page.in_flight = set()  # requests not yet answered, but the page's long-lived heartbeat stream

    def sent(r):
        if "heartbeat" not in r.url:
            page.in_flight.add(r)

    page.on("request", sent)
    for done in ("requestfinished", "requestfailed"):
        page.on(done, lambda r: page.in_flight.discard(r))
    return context, page, answers


def scene_problems(page, query: str, shots: Path) -> list[str]:
    """An embedded lecture scene: on its tab, no tab bar, the panel on the first screen, no warning."""
    scene = SCENE_EMBEDS[query]
    n = list(SCENE_EMBEDS).index(query) + 1
    page.screenshot(path=str(shots / f"embed-scene{n}-{scene.tab}-1280x720.png"))
    problems = []
    if (tab := selected_tab(page)) != scene.tab:
        problems.append(f"scene {n} opened on tab {tab}, not {scene.tab}")
    if page.locator("#tabs > .tab-wrapper").is_visible():
        problems.append(f"scene {n}: the tab bar shows in an embed")
    box = page.locator(f"#tab-{scene.tab}").bounding_box()
    if box is None or box["y"] >= 720 / 2:
        problems.append(f"scene {n}: its tab's panel starts at {box} (not in the first half screen)")
    if (toasts := page.locator('[data-testid="toast-body"]')).count():
        problems.append(f"scene {n}: a toast: {toasts.first.inner_text()[:200]!r}")
    return problems


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_documented_link_opens_without_a_server_error(browser, app, shots, doc):
    """One page opens every link of `doc` in turn (the app's scripts cached after the first
    load); the links that start a chain (autoplay) come last, so that their runs slow no other load."""
    failures: dict[str, list[str]] = {}
    context, page, answers = fresh_page(browser)
    try:
        for query in sorted(doc_links((doc,)), key=lambda q: "autoplay" in q):
            problems = server_errors(page, app, query, answers)
            if query in SCENE_EMBEDS:
                problems += scene_problems(page, query, shots)
            if problems:
                failures.setdefault(query, []).extend(problems)
    finally:
        context.close()
    assert not failures, "\n".join(f"?{q}: {p[:3]}" for q, p in failures.items())


@pytest.mark.parametrize("query", RACY)
def test_a_link_raising_T_and_t_opens_cleanly_every_time(browser, app, query):
    """The deep-link race, REPEAT loads in a fresh context: a first visit, as a new user's (the
    race is the server's: the load event's t against the slider's raised maximum)."""
    failures = []
    context, page, answers = fresh_page(browser)
    try:
        for n in range(REPEAT):
            failures += [f"load {n + 1}: {p}" for p in server_errors(page, app, query, answers)]
    finally:
        context.close()
    assert not failures, "\n".join(failures[:6])
