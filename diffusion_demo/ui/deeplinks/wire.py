"""The deep links' Gradio side: components described as `Param`s, the load event that
applies a parsed query, and the share bar (copy link, projector, light/dark).

May import: gradio, config, ui.common, ui.runtime, ui.keys and ui.deeplinks.params / .parse.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from ...config import IMAGES, SCHEDULE
from ..common import UIContext, bind, guarded
from ..keys import LINK_APPLIED_JS
from ..runtime import child_tabs, owner_tab
from .params import PANEL_NAMES, SCHEDULE_TABS, SHARED, T_BOUND, Param, short_name
from .parse import Parsed, parse, warning_text

log = logging.getLogger("diffusion_demo")


def describe(name: str, component: gr.components.Component, tab: str | None) -> Param:
    """The Param for a component: sliders and numbers by range and step/precision,
    dropdowns and radios by their choices, anything else as short text."""
    default = getattr(component, "value", None)
    if isinstance(component, (gr.Dropdown, gr.Radio)):
        choices = tuple(str(c[1] if isinstance(c, (tuple, list)) else c) for c in component.choices or ())
        return Param(name, "choice", tab, choices=choices, default=default)
    if isinstance(component, gr.Slider):
        step = float(component.step or 1)
        whole = step == int(step) and float(component.minimum) == int(component.minimum)
        return Param(
            name,
            "int" if whole else "float",
            tab,
            float(component.minimum),
            float(component.maximum),
            default=default,
        )
    if isinstance(component, gr.Number):
        lo, hi = component.minimum, component.maximum
        whole = component.precision == 0
        if whole and name.endswith("seed"):
            lo = 0 if lo is None else lo
            hi = IMAGES.max_seed if hi is None else min(hi, IMAGES.max_seed)
        return Param(
            name,
            "int" if whole else "float",
            tab,
            None if lo is None else float(lo),
            None if hi is None else float(hi),
            default=default,
        )
    return Param(name, "text", tab, default=default)


@dataclass
class Links:
    """What wire() built: the parameters, their components in output order, the tab ids."""

    params: dict[str, Param]
    components: dict[str, gr.components.Component]
    tabs: list[str]
    # Lecture mode (ui.lecture.expand): the URL's query -> (the query to parse, its warnings).
    expand: Callable[[list[tuple[str, str]]], tuple[list[tuple[str, str]], list[str]]] | None = None
    # t sliders bounded by T that no URL name sets (UIContext.t_followers): outputs after the
    # components, so that a link's T raises their maximum in the same update.
    followers: list[gr.components.Component] = field(default_factory=list)

    @property
    def outputs(self) -> list[gr.components.Component]:
        """The load event's outputs after the tab and the current-tab box."""
        return [*self.components.values(), *self.followers]

    def updates(self, parsed: Parsed) -> list[Any]:
        """One output per component: an update for each set value, gr.skip() for the rest.

        A link that sets T sets the maximum of *every* t slider bound to it, in this same
        update, linked or not: the schedule lab's t follows the forward tab's in the browser,
        and an event carrying t = 1500 must not reach the server while that slider's maximum
        is still 1000 (Gradio checks every slider value against the session's maximum)."""
        out = []
        T = parsed.T or int(self.params["T"].default if "T" in self.params else SCHEDULE.default_T)
        for key, comp in self.components.items():
            bound = key in T_BOUND and isinstance(comp, gr.Slider)
            if key in parsed.values:
                value = parsed.values[key]
                out.append(gr.update(value=value, maximum=T) if bound else gr.update(value=value))
            elif bound and parsed.T:
                out.append(_bounded(comp, T))
            else:
                out.append(gr.skip())
        return out

    def follower_updates(self, parsed: Parsed) -> list[Any]:
        """One output per follower: its maximum raised (or lowered) to the link's T, if it sets T."""
        return [_bounded(comp, parsed.T) if parsed.T else gr.skip() for comp in self.followers]

    def link_spec(self) -> dict:
        """For the copy-link JS: per tab, (URL name, input index) of its controls."""
        keys = list(self.components)
        per_tab: dict[str, list[list[Any]]] = {}
        for tab in self.tabs:
            entries = []
            for key in keys:
                p = self.params[key]
                if key in PANEL_NAMES:
                    continue
                if p.tab == tab or SHARED.get(tab, {}).get(short_name(key, tab, self.params)) == key:
                    entries.append([short_name(key, tab, self.params), keys.index(key)])
            per_tab[tab] = entries
        panel = [
            [name, keys.index(name), self.params[name].default]
            for name in PANEL_NAMES
            if name in self.components
        ]
        return {
            "tabs": per_tab,
            "panel": panel,
            "schedule_tabs": [t for t in SCHEDULE_TABS if t in self.tabs],
            "first": self.tabs[0] if self.tabs else "",
        }


def _bounded(slider: gr.components.Component, T: int) -> dict:
    """A t slider's maximum set to T, its page value clamped to it (a value above the maximum
    would be refused by Gradio on the next event)."""
    shown = slider.value if isinstance(slider.value, (int, float)) else 0
    return gr.update(maximum=T) if shown <= T else gr.update(maximum=T, value=T)


def collect(tabs: gr.Tabs, ctx: UIContext) -> Links:
    """The linkable components: the schedule panel and everything the tabs registered."""
    tab_ids = [str(c.id) for c in child_tabs(tabs)]
    components: dict[str, gr.components.Component] = {}
    for name, comp in zip(PANEL_NAMES, ctx.schedule.inputs, strict=True):
        components[name] = comp
    for key, comp in ctx.links.items():
        if key not in components:
            components[key] = comp
    params = {
        key: describe(key, comp, None if key in PANEL_NAMES else owner_tab(comp))
        for key, comp in components.items()
    }
    followers = [c for c in ctx.t_followers if all(c is not d for d in components.values())]
    return Links(params, components, tab_ids, followers=followers)


COPY_JS = """
async (fallbackTab, ...values) => {
  const SPEC = __SPEC__;
  const sel = document.querySelector('#tabs [role="tab"][aria-selected="true"]');
  let tab = (sel && sel.dataset && sel.dataset.tabId) || fallbackTab || SPEC.first;
  if (!(tab in SPEC.tabs)) tab = SPEC.first;
  const here = new URL(window.location.href);
  const q = new URLSearchParams();
  q.set("tab", tab);
  const fmt = (v) => (typeof v === "number" ? String(Number(v.toPrecision(12))) : String(v));
  for (const [name, i] of SPEC.tabs[tab]) {
    const v = values[i];
    if (v !== null && v !== undefined && v !== "" && !Array.isArray(v)) q.set(name, fmt(v));
  }
  if (SPEC.schedule_tabs.includes(tab)) {
    for (const [name, i, dflt] of SPEC.panel) {
      const v = values[i];
      if (v === null || v === undefined || v === "") continue;
      const same = name === "schedule" ? String(v) === String(dflt) : Number(v) === Number(dflt);
      if (!same) q.set(name, fmt(v));  // the defaults are left out, as everywhere else
    }
  }
  for (const k of ["embed", "theme", "projector", "autoplay", "loop"]) {
    if (here.searchParams.has(k)) q.set(k, here.searchParams.get(k));
  }
  const link = here.origin + here.pathname + "?" + q.toString();
  let copied = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(link);
      copied = true;
    }
  } catch (e) { copied = false; }
  const box = document.querySelector("#share-link");
  if (box) box.dataset.copied = copied ? "1" : "0";
  return link;
}
"""


def copy_link_js(links: Links) -> str:
    """The copy button's JS: the current tab (from the tab bar) and that tab's values."""
    return COPY_JS.replace("__SPEC__", json.dumps(links.link_spec()))


PROJECTOR_JS = """
() => {
  const on = document.documentElement.classList.toggle("projector");
  const u = new URL(window.location.href);
  if (on) u.searchParams.set("projector", "1"); else u.searchParams.delete("projector");
  window.history.replaceState(null, "", u);
}
"""

LECTURE_START_JS = """
() => {
  const here = new URL(window.location.href);
  const u = new URL(here.origin + here.pathname);
  u.searchParams.set("lecture", "1");
  for (const k of ["projector", "theme", "__theme"]) {
    if (here.searchParams.has(k)) u.searchParams.set(k, here.searchParams.get(k));
  }
  window.location.assign(u.toString());
}
"""

DARK_JS = """
() => {
  const dark = !document.body.classList.contains("dark");
  document.body.classList.toggle("dark", dark);
  const u = new URL(window.location.href);
  u.searchParams.set("theme", dark ? "dark" : "light");
  u.searchParams.delete("__theme");
  window.history.replaceState(null, "", u);
}
"""


def query_items(request: gr.Request | None) -> list[tuple[str, str]]:
    """The page URL's query as (name, value) pairs, repeated names kept in order."""
    qp = getattr(request, "query_params", None) if request is not None else None
    if qp is None:
        return []
    if hasattr(qp, "multi_items"):
        return [(str(k), str(v)) for k, v in qp.multi_items()]
    return [(str(k), str(v)) for k, v in dict(qp).items()]


def on_load(links: Links, request: gr.Request) -> tuple:
    """The page's load event: the tab and one update per linkable component (bound to
    `links` by wire()); a URL it cannot read skips every output."""
    try:
        items, lecture_warnings = query_items(request), []
        if links.expand is not None:
            items, lecture_warnings = links.expand(items)
        parsed = parse(items, links.params, links.tabs)
        parsed.warnings[:0] = lecture_warnings
    except Exception:  # the page must open whatever the URL holds
        log.exception("deep link could not be read")
        return (gr.skip(), gr.skip(), *(gr.skip() for _ in links.outputs))
    message = warning_text(parsed)
    if message:
        log.info("deep link: %s", message)
        gr.Warning(message)
    selected = gr.Tabs(selected=parsed.tab) if parsed.tab else gr.skip()
    return (selected, parsed.tab or gr.skip(), *links.updates(parsed), *links.follower_updates(parsed))


def share_bar() -> tuple[gr.Button, gr.Textbox, gr.Button, gr.Button, gr.Button]:
    """The row under the tabs: copy link (and the box showing it), projector, light/dark, lecture."""
    with gr.Row(elem_id="share-bar", equal_height=True):
        copy = gr.Button("Copy link to this view", elem_id="copy-link", size="sm", scale=0, min_width=200)
        link_box = gr.Textbox(
            label="Link to this view",
            placeholder="Press “Copy link to this view”: the link appears here (and in the clipboard).",
            elem_id="share-link",
            interactive=False,
            buttons=["copy"],
            scale=4,
        )
        projector = gr.Button("Projector mode", elem_id="projector-toggle", size="sm", scale=0, min_width=150)
        dark = gr.Button("Light / dark", elem_id="theme-toggle", size="sm", scale=0, min_width=130)
        lecture = gr.Button("Lecture", elem_id="lecture-start", size="sm", scale=0, min_width=120)
    return copy, link_box, projector, dark, lecture


def wire(demo: gr.Blocks, tabs: gr.Tabs, ctx: UIContext, expand: Callable | None = None) -> Links:
    """The deep-link load event and the share bar (copy link, projector, light/dark, lecture).

    `expand` (ui.lecture.expand) turns a lecture URL into its scene's query first."""
    links = collect(tabs, ctx)
    links.expand = expand
    first = links.tabs[0] if links.tabs else ""
    copy, link_box, projector, dark, lecture = share_bar()
    # The tab the deep link selected or the user clicked (the JS reads the tab bar first).
    current = gr.Textbox(first, visible=False, elem_id="current-tab")
    demo.load(
        guarded(bind(on_load, links)),  # guarded: Gradio reads the gr.Request hint through it
        None,
        [tabs, current, *links.outputs],
        api_name="deeplink",
        api_visibility="private",
        show_progress="hidden",
        concurrency_limit=None,
    ).then(None, None, None, js=LINK_APPLIED_JS, api_visibility="private", queue=False)
    for child in child_tabs(tabs):
        tab_id = json.dumps(str(child.id))
        child.select(None, None, current, js=f"() => {tab_id}", api_visibility="private", queue=False)
    copy.click(
        None,
        [current, *links.components.values()],
        link_box,
        js=copy_link_js(links),
        api_visibility="private",
        queue=False,
    )
    projector.click(None, None, None, js=PROJECTOR_JS, api_visibility="private", queue=False)
    dark.click(None, None, None, js=DARK_JS, api_visibility="private", queue=False)
    lecture.click(None, None, None, js=LECTURE_START_JS, api_visibility="private", queue=False)
    demo.deeplinks = links  # for tests and tools: what this page's URLs can set
    return links
