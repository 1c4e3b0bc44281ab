"""Every link of docs/deeplinks.md and docs/embedding.md opens without a server error.

The links are read from the two pages, so a new one is covered when it is written. After
each page settles: no HTTP answer >= 500, no error toast, no uncaught page error, nothing
in the app's log that looks like an error (h11's "Too much data for declared
Content-Length", one load in 20, was Gradio rewriting a cached picture while serving it:
ui.runtime.atomic_image_cache). The deep-link race's two links (T above 1000 with t above
the old maximum) are opened REPEAT times each.
"""

from __future__ import annotations

import re
import time

import pytest

from .helpers import ROOT, loopback_only
from .test_deeplinks import LOAD_TIMEOUT_MS

pytestmark = pytest.mark.e2e

DOCS = (ROOT / "docs" / "deeplinks.md", ROOT / "docs" / "embedding.md")
# A link in the docs: the app's address, or a bare `/?…` / `?…`, with a tab or a lecture.
LINK = re.compile(r"(?:http://127\.0\.0\.1:7860)?/?\?((?:tab|lecture)=[^\s`\"'<>)\]]*)")
RACY = ("tab=schedule&schedule=sigmoid&T=2000&t=1500", "tab=forward&T=2000&t=1500")
# Loads each beyond the first visit: with the race and h11's fixed, a guard, not a hunt (each
# sigmoid T = 2000 load costs ~9 s on 2 cores; 20 loads each were run when the race was fixed).
REPEAT = 3
# After the share bar is there: quiet (no request in flight) this long means the deep link's
# load event and the changes it set off are done; a page still busy after the timeout (a chain
# started by autoplay) is checked as it is.
QUIET_S = 1.0
SETTLE_TIMEOUT_S = 20.0
# An autoplay link (a chain, or a loop that never ends) is checked after this long: its first
# frames and many requests have been answered by then; waiting the full timeout only burns CPU.
AUTOPLAY_SETTLE_S = 8.0
# Lines of the app's log that mean a server error (Gradio prints a handler's traceback).
SERVER_ERROR = re.compile(r"Traceback \(most recent call last\)|^\S*Error: |^ERROR", re.M)


def doc_links() -> list[str]:
    """The queries of every link on the two pages, in order, without placeholders (`…`, `<name>`)."""
    found: list[str] = []
    for page in DOCS:
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


def test_the_docs_hold_the_links_the_checks_need():
    links = doc_links()
    assert RACY[0] in links and len(links) >= 15, links
    assert any(q.startswith("lecture=") for q in links) and any("embed=1" in q for q in links), links


def server_errors(page, app, query: str, answers: list[str]) -> list[str]:
    """Open `query` in `page`; what went wrong on the server's side while it loaded and settled."""
    before, seen = len(app.log()), len(answers)
    page.goto(app.url + "?" + query)
    page.wait_for_selector("#share-bar", state="attached", timeout=LOAD_TIMEOUT_MS)
    settle(page, timeout_s=AUTOPLAY_SETTLE_S if "autoplay=1" in query else SETTLE_TIMEOUT_S)
    toasts = page.locator('[data-testid="toast-body"].error')
    problems = answers[seen:] + [
        f"error toast: {toasts.nth(i).inner_text()[:200]!r}" for i in range(toasts.count())
    ]
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


def test_every_documented_link_opens_without_a_server_error(browser, app):
    """One page opens every link in turn (the app's scripts cached after the first load); the
    links that start a chain (autoplay) come last, so that their runs slow no other load."""
    failures: dict[str, list[str]] = {}
    context, page, answers = fresh_page(browser)
    try:
        for query in sorted(doc_links(), key=lambda q: "autoplay" in q):
            if problems := server_errors(page, app, query, answers):
                failures.setdefault(query, []).extend(problems)
    finally:
        context.close()
    assert not failures, "\n".join(f"?{q}: {p[:3]}" for q, p in failures.items())


@pytest.mark.parametrize("query", RACY)
def test_a_link_raising_T_and_t_opens_cleanly_every_time(browser, app, query):
    """The deep-link race, REPEAT loads: a first visit (a fresh context), then the same link
    opened again in it (the race is the server's: the load event's t against the slider's
    raised maximum; a warm cache only makes the loads faster, ~5 s instead of ~14)."""
    failures = []
    context, page, answers = fresh_page(browser)
    try:
        for n in range(REPEAT):
            failures += [f"load {n + 1}: {p}" for p in server_errors(page, app, query, answers)]
    finally:
        context.close()
    assert not failures, "\n".join(failures[:6])
