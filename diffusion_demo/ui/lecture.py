"""Lecture mode: the app shows one scene at a time, in the order of a lecture (?lecture=…).

Owns the scene lists (scenes/*.json, or a .json file inside the folder the app was started
in), loading and checking them, `expand` (a scene's query put before the URL's own, for the
deep-link parser) and the scene bar (`build_bar`, `LectureBar.wire`). The URLs and how a
scene opens: the comment below the imports. Top half: pure Python; bottom half: the bar.

May import: gradio, config, ui.deeplinks.
"""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import gradio as gr

from ..config import DEEPLINKS, LECTURE
from .deeplinks.params import LECTURE_PARAMS, TAB_PREFIX, VIEW_PARAMS, Param
from .deeplinks.parse import parse
from .deeplinks.wire import query_items

# The URLs: /?lecture=1 (scenes/default.json, scene 1), /?lecture=1&scene=3 (scene 3; a reload
# stays there), /?lecture=my-talk (scenes/my-talk.json), /?lecture=talks/talk.json (a list
# inside the folder the app was started in).
# A scene list is a JSON file: {"title": "…", "scenes": [{"title", "query", "caption"}, …]}
# (or a bare list). A scene's `query` is a deep link without the `?` ("tab=forward&t=617").
# The deep-link load event (deeplinks.wire) calls `expand`, which puts the scene's query
# before the URL's own, so a scene opens exactly as its deep link does. The scene bar
# (`build_bar`, `LectureBar.wire`) gets its caption, counter and the previous / next URLs
# from a second load event (PageUp / PageDown: HEAD). Every problem (unknown list, malformed
# file, scene out of range) becomes a deep-link warning; the page itself always opens.

SCENES_DIR = Path(__file__).parent / "scenes"
# The folder the app was started in: `?lecture=<path>` reads .json files inside it (or scenes/).
START_DIR = Path.cwd()
ON = ("", "1", "true", "yes", "on")
OFF = ("0", "false", "no", "off")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class LectureError(ValueError):
    """A scene list that cannot be used; the message says why, for the lecturer."""


@dataclass(frozen=True)
class Scene:
    title: str
    query: str  # a deep link without "?": "tab=forward&t=617"
    caption: str
    tab: str

    @property
    def items(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)


@dataclass(frozen=True)
class SceneList:
    name: str  # what `?lecture=` said: "default", a name or a path
    title: str
    scenes: tuple[Scene, ...]


def names() -> list[str]:
    """The scene lists shipped in the package (`?lecture=<name>`)."""
    return sorted(p.stem for p in SCENES_DIR.glob("*.json"))


def locate(value: str) -> Path:
    """The file `?lecture=<value>` means: a name in scenes/ ("1" = the default) or a .json path."""
    value = value.strip()
    if value.lower() in ON:
        value = LECTURE.default_list
    if NAME.fullmatch(value):
        path = SCENES_DIR / f"{value}.json"
        if not path.is_file():
            raise LectureError(
                f'no scene list named "{value}"; known: {", ".join(names())}, or the path of a .json file'
            )
        return path
    if not value.lower().endswith(".json"):
        raise LectureError("expected 1, a scene-list name or the path of a .json file")
    if os.environ.get("SPACE_ID"):  # a shared Space: no visitor may make the server probe its files
        raise LectureError(
            f"on a shared Space only the shipped scene lists can be named ({', '.join(names())}); "
            "add your file to diffusion_demo/ui/scenes/ and use its name"
        )
    if (path := allowed_file(value)) is None:  # outside the allowed folders or missing: the same words
        raise LectureError(f"not found: {value}")
    return path


def allowed_file(value: str) -> Path | None:
    """The file of a `?lecture=` path inside START_DIR or scenes/ (links resolved), else None."""
    try:
        path = (START_DIR / value).resolve()  # an absolute value replaces START_DIR
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL byte
        return None
    inside = any(path.is_relative_to(root.resolve()) for root in (START_DIR, SCENES_DIR))
    return path if inside and path.is_file() else None


def load(value: str, tabs: tuple[str, ...] | None = None) -> SceneList:
    """Read and check the scene list `?lecture=<value>` names; LectureError says what is wrong."""
    path = locate(value)
    try:
        if path.stat().st_size > LECTURE.max_file_bytes:
            raise LectureError(f"{path.name} is larger than {LECTURE.max_file_bytes // 1000} kB")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise LectureError(f"{path.name} is not UTF-8 text") from None
    except OSError as exc:
        raise LectureError(f"{path.name} cannot be read ({exc.strerror or 'error'})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LectureError(
            f"{path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    return from_data(data, value.strip(), tabs)


def from_data(data: Any, name: str, tabs: tuple[str, ...] | None = None) -> SceneList:
    """A SceneList from parsed JSON: {"title", "scenes": [...]} or a bare list of scenes."""
    tabs = tuple(TAB_PREFIX) if tabs is None else tabs
    title = ""
    if isinstance(data, dict):
        title = _text(data.get("title", ""), "the list's title", LECTURE.max_title_chars, required=False)
        data = data.get("scenes")
    if not isinstance(data, list) or not data:
        raise LectureError('expected a list of scenes (or {"scenes": [...]}) with at least one scene')
    if len(data) > LECTURE.max_scenes:
        raise LectureError(f"{len(data)} scenes; at most {LECTURE.max_scenes}")
    scenes = tuple(_scene(i, entry, tabs) for i, entry in enumerate(data, start=1))
    return SceneList(name, title, scenes)


def _text(value: Any, what: str, limit: int, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise LectureError(f"{what}: expected {'a non-empty' if required else 'a'} string")
    if len(value) > limit:
        raise LectureError(f"{what}: longer than {limit} characters")
    return value.strip()


def _scene(i: int, entry: Any, tabs: tuple[str, ...]) -> Scene:
    where = f"scene {i}"
    if not isinstance(entry, dict):
        raise LectureError(f'{where}: expected an object with "title", "query" and "caption"')
    unknown = sorted(set(entry) - {"title", "query", "caption"})
    if unknown:
        raise LectureError(f"{where}: unknown field(s) {', '.join(unknown)}")
    title = _text(entry.get("title"), f"{where} title", LECTURE.max_title_chars)
    caption = _text(entry.get("caption"), f"{where} caption", LECTURE.max_caption_chars)
    query = _text(entry.get("query"), f"{where} query", LECTURE.max_query_chars).lstrip("?")
    try:
        items = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise LectureError(f'{where} query: not a deep link ("name=value&name=value")') from None
    keys = [k for k, _ in items]
    if banned := sorted(set(keys) & set(LECTURE_PARAMS)):
        raise LectureError(f"{where} query: {', '.join(banned)} cannot be part of a scene")
    tab = dict(items).get("tab", "").strip().lower()
    if tab not in tabs:
        raise LectureError(f"{where} query: tab={tab or '(missing)'} (expected one of {', '.join(tabs)})")
    return Scene(title, query, caption, tab)


def check_queries(scenes: SceneList, params: dict[str, Param], tabs: list[str]) -> list[str]:
    """The deep-link warnings each scene's query would give (none for a good list)."""
    out = []
    for i, scene in enumerate(scenes.scenes, start=1):
        out += [f"scene {i}: {w}" for w in parse(scene.items, params, tabs).warnings]
    return out


# --- A URL in lecture mode ---


@dataclass
class Current:
    """A lecture URL read: the list, the scene (1-based), the view switches to keep."""

    scenes: SceneList
    index: int
    value: str  # `lecture=` as given, for the next URLs
    view: list[tuple[str, str]] = field(default_factory=list)

    @property
    def scene(self) -> Scene:
        return self.scenes.scenes[self.index - 1]

    def url(self, index: int | None) -> str:
        """The relative URL of scene `index` (None: the current scene without lecture mode)."""
        pairs = dict(self.scenes.scenes[(index or self.index) - 1].items)
        if index is not None:
            pairs.update(lecture=self.value, scene=str(index))
        pairs.update(self.view)
        return "?" + urlencode(list(pairs.items()), quote_via=quote, safe="/~")

    def nav(self) -> dict[str, Any]:
        """For the bar's buttons: the URLs of the previous, next and current scenes, and of leaving."""
        n = len(self.scenes.scenes)
        return {
            "index": self.index,
            "count": n,
            "here": self.url(self.index),
            "prev": self.url(self.index - 1) if self.index > 1 else None,
            "next": self.url(self.index + 1) if self.index < n else None,
            "exit": self.url(None),
        }


def _quoted(name: str, raw: str, why: str) -> str:
    n = DEEPLINKS.max_quoted_chars
    shown = raw if len(raw) <= n else raw[: n - 3] + "…"
    return f"{name}={shown} ({why})"


def _scene_number(raw: str | None, n: int, warnings: list[str]) -> int:
    if raw is None:
        return 1
    try:
        index = int(raw.strip())
    except ValueError:
        index = 0
    if 1 <= index <= n:
        return index
    warnings.append(_quoted("scene", raw, f"expected a whole number in [1, {n}]; showing scene 1"))
    return 1


def resolve(items: list[tuple[str, str]]) -> tuple[Current | None, list[str]]:
    """The lecture a URL's query asks for (None: not lecture mode, or a list that cannot be
    used) and the warnings for what was ignored."""
    q = dict(items)
    raw, warnings = q.get("lecture"), []
    if raw is None or raw.strip().lower() in OFF:
        if "scene" in q:
            warnings.append(_quoted("scene", q["scene"], "only with lecture"))
        return None, warnings
    if len(raw) > LECTURE.max_value_chars:
        return None, [_quoted("lecture", raw, "too long")]
    try:
        scenes = load(raw)
    except LectureError as exc:
        return None, [_quoted("lecture", raw, str(exc))]
    index = _scene_number(q.get("scene"), len(scenes.scenes), warnings)
    view = [(k, v) for k, v in items if k in VIEW_PARAMS]
    return Current(scenes, index, raw.strip(), view), warnings


def expand(items: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[str]]:
    """For the deep-link load event: the scene's query, then the URL's own parameters (which
    win), without lecture/scene; and the warnings."""
    current, warnings = resolve(items)
    rest = [(k, v) for k, v in items if k not in LECTURE_PARAMS]
    if current is None:
        return rest, warnings
    return current.scene.items + rest, warnings


# --- The scene bar (Gradio) ---

# Previous / Next / Leave: load the URL the server put in the bar's hidden `nav` box.
GO_JS = """
(nav) => {
  try {
    const n = JSON.parse(nav || "{}");
    if (n.__KEY__) window.location.assign(n.__KEY__);
  } catch (e) { /* no scene to go to */ }
}
"""

# After the bar's load event: keep lecture mode's look only for a usable list, and put the
# scene number into the address (?lecture=1 -> …&scene=1) so that a reload stays on it.
SYNC_JS = """
(nav) => {
  let n = {};
  try { n = JSON.parse(nav || "{}"); } catch (e) { n = {}; }
  const on = Boolean(n.count);
  document.documentElement.classList.toggle("lecture", on);
  if (!on) return;
  const u = new URL(window.location.href);
  if (u.searchParams.get("scene") !== String(n.index)) {
    u.searchParams.set("scene", String(n.index));
    window.history.replaceState(null, "", u);
  }
}
"""


@dataclass
class LectureBar:
    """The scene bar's components (built at the top of the page, wired once the links exist)."""

    prev: gr.Button
    caption: gr.HTML
    counter: gr.HTML
    next: gr.Button
    leave: gr.Button
    nav: gr.Textbox

    def wire(self, demo: gr.Blocks) -> None:
        """The load event that fills the bar, and the buttons' navigation."""
        outputs = [self.caption, self.counter, self.prev, self.next, self.nav]
        demo.load(on_load, None, outputs, api_visibility="private", show_progress="hidden", queue=False).then(
            None, self.nav, None, js=SYNC_JS, api_visibility="private", queue=False
        )
        for button, key in ((self.prev, "prev"), (self.next, "next"), (self.leave, "exit")):
            js = GO_JS.replace("__KEY__", key)
            button.click(None, self.nav, None, js=js, api_visibility="private", queue=False)


def build_bar() -> LectureBar:
    """The scene bar: ◀ Previous, the caption, "3 / 9", Next ▶, Leave. Hidden (CSS, HEAD)
    unless the page is in lecture mode; call `.wire(demo)` at the end of the page."""
    with gr.Row(elem_id="lecture-bar", equal_height=True):
        prev = gr.Button("◀ Previous", elem_id="lecture-prev", size="sm", scale=0, min_width=110)
        caption = gr.HTML("", elem_id="lecture-caption")  # plain text: "x_t" stays x_t
        counter = gr.HTML("", elem_id="lecture-counter")
        nxt = gr.Button(
            "Next ▶", elem_id="lecture-next", size="sm", scale=0, min_width=100, variant="primary"
        )
        leave = gr.Button("✕", elem_id="lecture-exit", size="sm", scale=0, min_width=44)
        nav = gr.Textbox("{}", visible=False, elem_id="lecture-nav")
    return LectureBar(prev, caption, counter, nxt, leave, nav)


def on_load(request: gr.Request) -> tuple:
    """The bar for the page's URL: caption, counter, buttons, and the URLs they go to.
    (The warnings are the deep-link load event's: it reads the same URL.)"""
    try:
        current, _ = resolve(query_items(request))
    except Exception:  # the page must open whatever the URL holds
        current = None
    if current is None:
        off = gr.Button(interactive=False)
        return "", "", off, off, "{}"
    scene, nav = current.scene, current.nav()
    caption = f"<strong>{html.escape(scene.title)}</strong> — {html.escape(scene.caption)}"
    counter = f"{current.index} / {nav['count']}"
    return (
        caption,
        counter,
        gr.Button(interactive=nav["prev"] is not None),
        gr.Button(interactive=nav["next"] is not None),
        json.dumps(nav),
    )


# Joined to theme.HEAD in ui/__init__.py. Before the page is drawn: the `lecture` class on
# <html> (the bar shows, the intro hides); PageDown / PageUp (a clicker's keys) press Next /
# Previous, in the capture phase so that a focused slider does not take them.
HEAD = """
<style>
#lecture-bar { display: none !important; }
html.lecture #lecture-bar {
  display: flex !important; align-items: center; gap: 0.6em; flex-wrap: nowrap;
  position: sticky; top: 0; z-index: 60; padding: 0.3em 0.5em; margin-bottom: 0.3em;
  background: var(--background-fill-primary); border: 2px solid var(--color-accent);
  border-radius: var(--radius-lg);
}
html.lecture .gradio-container #intro { display: none !important; }
#lecture-caption { flex: 1 1 auto; min-width: 0; }
#lecture-caption p { margin: 0; }
#lecture-counter { flex: 0 0 auto; width: auto; font-weight: 700; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
#lecture-counter p { margin: 0; }
</style>
<script>
(function () {
  try {
    var v = new URLSearchParams(window.location.search).get("lecture");
    if (v !== null && !/^(0|false|no|off)$/i.test(v.trim())) {
      document.documentElement.classList.add("lecture");
    }
    document.addEventListener("keydown", function (e) {
      if (e.key !== "PageDown" && e.key !== "PageUp") return;
      if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
      if (!document.documentElement.classList.contains("lecture")) return;
      var t = e.target;
      if (t && (t.tagName === "TEXTAREA" || t.isContentEditable)) return;
      e.preventDefault();
      e.stopPropagation();
      var b = document.getElementById(e.key === "PageDown" ? "lecture-next" : "lecture-prev");
      if (b && !b.disabled) b.click();
    }, true);
  } catch (e) { /* a page with an odd URL still opens */ }
})();
</script>
"""
