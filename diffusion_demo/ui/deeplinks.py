"""Deep links: the URL query restores a view, so a slide can open exactly the prepared state.

    /?tab=forward&t=617&schedule=cosine&seed=3
    /?tab=reverse&sampler=ddim&steps=37&seed=5
    /?tab=roundtrip&t=300&example=digit-7&embed=1&theme=dark

How it works: `wire()` (called at the end of build_demo) adds one `demo.load` event whose
handler reads `gr.Request.query_params`, checks every value against the component it
sets (its range, step, choices) and returns `gr.Tabs(selected=…)` plus one update per
component (`gr.skip()` for absent parameters). Invalid or unknown values are ignored with
one `gr.Warning` that lists them; the page never fails because of its URL.

Names: the tabs register their linkable components in `UIContext.links` ("t", "seed",
"reverse_seed", "roundtrip_t", "toy_dataset", …). Every registered name works in a URL as
is. The short names (t, seed, example, sampler, steps, …) are read relative to `tab`: with
?tab=roundtrip, `t` sets roundtrip_t; with ?tab=reverse, `seed` sets reverse_seed (rule:
the tab's prefixed name first, then the tab's own unprefixed one). The schedule lab shares
the forward tab's t (the two sliders are kept equal in the browser).

`embed`, `theme` and `projector` are read in the browser (theme.HEAD) before the page is
drawn; the server only checks their values. The "Copy link to this view" button builds the
same kind of URL from the current values (see `copy_link_js`).

The table below (PARAMETERS_MD) is the user documentation; docs/deeplinks.md and the
README copy it, and a test checks that every registered link name appears in it.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from ..config import IMAGES, SCHEDULE
from ..diffusion.schedules import validate_spec
from .common import UIContext

log = logging.getLogger("diffusion_demo")

PARAMETERS_MD = """\
| Parameter | Tab | Values | Sets |
|---|---|---|---|
| `tab` | – | `forward`, `schedule`, `reverse`, `roundtrip`, `toy2d`, `inpaint` | the selected tab |
| `schedule` | all | `linear`, `scaled_linear`, `cosine`, `sigmoid` | the shared variance schedule |
| `beta_start` | all | number > 0 (and < `beta_end`) | β₁ of the shared schedule |
| `beta_end` | all | number < 0.999 (and > `beta_start`) | β_T of the shared schedule |
| `T` | all | whole number 1 … 4000 | number of diffusion steps of the shared schedule |
| `t` | forward, schedule | whole number 0 … T | the forward tab's t (the schedule lab shows the same t) |
| `seed` | forward | whole number 0 … 4294967295 | the seed of ε |
| `example` | forward | `photo-landscape`, `photo-flower`, `photo-shapes`, `digit-3`, `digit-5`, `digit-7`, `digit-8` | the example image x₀ |
| `sampler` | reverse | `ddpm`, `ddim`, `dpmsolver` | the reverse-chain sampler |
| `steps` | reverse | whole number 1 … 1000 | sampler steps |
| `samples` | reverse | whole number 1 … 16 | digits in the grid |
| `eta` | reverse | 0 … 1 | DDIM's η |
| `digit` | reverse | `any`, `0`, `1`, `2`, `3`, `4`, `5`, `6`, `7`, `8`, `9`, `each` | the digit the chain is steered to (a class-conditional model) |
| `guidance` | reverse | 0 … 8 | classifier-free guidance w (0 = unconditional, 1 = conditional) |
| `seed` (= `reverse_seed`) | reverse | whole number 0 … 4294967295 | the seed of x_T |
| `t` (= `roundtrip_t`) | roundtrip | whole number 0 … 1000 | how far the digit is noised |
| `example` (= `roundtrip_example`) | roundtrip | `digit-3`, `digit-5`, `digit-7`, `digit-8` | the digit |
| `seed` (= `roundtrip_seed`) | roundtrip | whole number 0 … 4294967295 | the seed of the noise |
| `sampler` (= `roundtrip_sampler`) | roundtrip | `ddpm`, `ddim`, `dpmsolver` | the sampler of the way back |
| `steps` (= `roundtrip_steps`) | roundtrip | whole number 1 … 1000 | its steps |
| `dataset` (= `toy_dataset`) | toy2d | `moons`, `swiss_roll`, `rings`, `custom` | the 2D data set |
| `t` (= `toy_t`) | toy2d | whole number 0 … T | the 2D tab's t |
| `seed` (= `toy_seed`) | toy2d | whole number 0 … 4294967295 | the 2D tab's seed |
| `example` (= `inpaint_example`) | inpaint | `digit-3`, `digit-5`, `digit-7`, `digit-8` | the digit to fill in |
| `mask` | inpaint | `top`, `bottom`, `left`, `right`, `centre`, `painted` | the part to fill |
| `seed` (= `inpaint_seed`) | inpaint | whole number 0 … 4294967295 | the seed of x_T and of every step's noise |
| `steps` (= `inpaint_steps`) | inpaint | whole number 1 … 1000 | steps down |
| `jumps` | inpaint | whole number 1 … 10 | RePaint's resampling r (1 = none) |
| `embed` | – | `1` | compact mode for iframes: only the tab's panel, no header, tab bar or footer |
| `theme` | – | `dark`, `light` | colour scheme (Gradio's own `__theme=dark` works too) |
| `projector` | – | `1` | large fonts, high contrast (also a button at the bottom of the page) |

Short names (`t`, `seed`, `example`, `sampler`, `steps`, `samples`, `eta`, `dataset`) are
read for the tab named by `tab`; the long names in brackets work anywhere. Without `tab`
the short names mean the forward tab's (and `sampler`, `steps`, `samples`, `eta` the reverse
tab's). Invalid values are ignored with a warning; nothing else changes.
"""

# Tabs whose short names are stored with a prefix ("reverse_seed", "toy_t").
TAB_PREFIX: dict[str, str] = {
    "forward": "",
    "schedule": "schedule_",
    "reverse": "reverse_",
    "roundtrip": "roundtrip_",
    "toy2d": "toy_",
    "inpaint": "inpaint_",
}
# Components a tab shows but another tab owns: the schedule lab's t is the forward t.
SHARED: dict[str, dict[str, str]] = {"schedule": {"t": "t"}}
SHORT_NAMES: tuple[str, ...] = ("t", "seed", "example", "sampler", "steps", "samples", "eta", "dataset")
PANEL_NAMES: tuple[str, ...] = ("schedule", "beta_start", "beta_end", "T")
# Read by the browser (theme.HEAD); the server only checks their values.
VIEW_PARAMS: dict[str, tuple[str, ...]] = {
    "embed": ("0", "1", "true", "false", ""),
    "projector": ("0", "1", "true", "false", ""),
    "theme": ("dark", "light"),
    "__theme": ("dark", "light", "system"),
}
# Gradio's and Hugging Face's own query parameters: never reported as unknown.
FOREIGN_PARAMS: frozenset[str] = frozenset({"view", "deep_link", "__sign", "logs", "_"})
# Sliders whose maximum is the shared schedule's T (the rest have fixed ranges).
T_BOUND: frozenset[str] = frozenset({"t", "toy_t", "schedule_t"})
# Tabs that use the shared schedule panel: their copied links carry it.
SCHEDULE_TABS: tuple[str, ...] = ("forward", "schedule", "toy2d")
MAX_VALUE_CHARS = 200
MAX_WARNINGS_SHOWN = 6


# --------------------------------------------------------------------------------------
# Parameters: what a component accepts, read from the component itself
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One settable URL parameter: its kind and limits (from the component it sets)."""

    name: str
    kind: str  # "int", "float", "choice" or "text"
    tab: str | None = None  # the tab the component is in; None: shared (the schedule panel)
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    default: Any = None


@dataclass
class Parsed:
    """The outcome of reading a query: the tab, checked values by parameter name, warnings."""

    tab: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # T-bound sliders get this maximum with their value (a URL T above the default).
    T: int | None = None


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


def owner_tab(component: gr.blocks.Block) -> str | None:
    """The id of the gr.Tab that contains a component (None outside every tab)."""
    block = getattr(component, "parent", None)
    while block is not None:
        if isinstance(block, gr.Tab):
            return None if block.id is None else str(block.id)
        block = getattr(block, "parent", None)
    return None


def resolve(name: str, tab: str | None, params: Mapping[str, Param]) -> str | None:
    """The registered parameter a query name sets for `tab` (None: it does not apply).

    Short names are read for the tab: its prefixed name ("roundtrip_t"), a component it
    shares (the schedule lab's t), or its own unprefixed one ("sampler" on reverse).
    Long names (anything registered that is not a short name) work from any tab.
    """
    if name in PANEL_NAMES:
        return name if name in params else None
    if name in SHORT_NAMES and tab is not None:
        shared = SHARED.get(tab, {}).get(name)
        if shared and shared in params:
            return shared
        prefixed = TAB_PREFIX.get(tab, f"{tab}_") + name
        if prefixed in params and params[prefixed].tab in (tab, None):
            return prefixed
        if name in params and params[name].tab in (tab, None):
            return name
        return None
    return name if name in params else None


def short_name(key: str, tab: str, params: Mapping[str, Param]) -> str:
    """The name a copied link uses for `key` on `tab`: short when it reads back to `key`."""
    for short in SHORT_NAMES:
        if resolve(short, tab, params) == key:
            return short
    return key


# --------------------------------------------------------------------------------------
# The parser (pure: query in, checked values and warnings out)
# --------------------------------------------------------------------------------------


def _number(raw: str) -> float:
    value = float(raw.strip())
    if not math.isfinite(value):
        raise ValueError
    return value


def _range_text(p: Param, hi: float | None) -> str:
    lo = p.minimum
    fmt = (lambda v: f"{int(v)}") if p.kind == "int" else (lambda v: f"{v:g}")
    if lo is not None and hi is not None:
        return f"in [{fmt(lo)}, {fmt(hi)}]"
    if lo is not None:
        return f"≥ {fmt(lo)}"
    if hi is not None:
        return f"≤ {fmt(hi)}"
    return ""


def check_value(p: Param, raw: str, maximum: float | None = None) -> Any:
    """The value `raw` stands for, checked against p; ValueError with a message if not."""
    hi = p.maximum if maximum is None else maximum
    if p.kind == "choice":
        for c in p.choices:
            if raw.strip().lower() == c.lower():
                return c
        raise ValueError(f"expected one of {', '.join(p.choices)}")
    if p.kind == "text":
        return raw
    what = "a whole number" if p.kind == "int" else "a number"
    limits = _range_text(p, hi)
    try:
        value = _number(raw)
    except ValueError:
        raise ValueError(f"expected {what} {limits}".strip()) from None
    if p.kind == "int" and value != int(value):
        raise ValueError(f"expected {what} {limits}".strip())
    if (p.minimum is not None and value < p.minimum) or (hi is not None and value > hi):
        raise ValueError(f"expected {what} {limits}".strip())
    return int(value) if p.kind == "int" else value


def parse(
    query: Mapping[str, str] | Iterable[tuple[str, str]], params: Mapping[str, Param], tabs: Sequence[str]
) -> Parsed:
    """Read a URL query: which tab, which values; every problem becomes a warning, never an error."""
    items = list(query.items()) if isinstance(query, Mapping) else list(query)
    q: dict[str, str] = {}
    for k, v in items:  # a repeated parameter: the last one counts, as in a browser form
        q[str(k)] = str(v)
    out = Parsed()

    def warn(name: str, raw: str, why: str) -> None:
        shown = raw if len(raw) <= 40 else raw[:37] + "…"
        out.warnings.append(f"{name}={shown!s} ({why})")

    raw_tab = q.pop("tab", None)
    if raw_tab is not None:
        tab = raw_tab.strip().lower()
        if tab in tabs:
            out.tab = tab
        else:
            warn("tab", raw_tab, f"expected one of {', '.join(tabs)}")

    for name, allowed in VIEW_PARAMS.items():
        raw = q.pop(name, None)
        if raw is not None and raw.strip().lower() not in allowed:
            warn(name, raw, f"expected one of {', '.join(a for a in allowed if a)}")

    # The shared schedule first: it sets the range of the T-bound sliders.
    panel: dict[str, Any] = {}
    for name in PANEL_NAMES:
        raw = q.pop(name, None)
        if raw is None or name not in params:
            continue
        try:
            panel[name] = check_value(params[name], raw[:MAX_VALUE_CHARS])
        except ValueError as exc:
            warn(name, raw, str(exc))
    if panel:
        merged = {n: panel.get(n, params[n].default) for n in PANEL_NAMES if n in params}
        try:
            spec = validate_spec(
                merged.get("schedule", "linear"),
                merged.get("beta_start", SCHEDULE.default_beta_start),
                merged.get("beta_end", SCHEDULE.default_beta_end),
                merged.get("T", SCHEDULE.default_T),
            )
            out.values.update(panel)
            if "T" in panel:
                out.T = spec.T
        except ValueError as exc:
            # A bad combination (beta_start ≥ beta_end…): keep the schedule's name only.
            out.warnings.append(f"the schedule in the link was not used ({exc})")
            if "schedule" in panel:
                out.values["schedule"] = panel["schedule"]

    T = out.T if out.T is not None else int(params["T"].default if "T" in params else SCHEDULE.default_T)
    for name, raw in q.items():
        if name in FOREIGN_PARAMS:
            continue
        key = resolve(name, out.tab, params)
        if key is None:
            if name in SHORT_NAMES and out.tab is not None:
                warn(name, raw, f"the {out.tab} tab has no such setting")
            else:
                warn(name, raw, "unknown parameter")
            continue
        if len(raw) > MAX_VALUE_CHARS:
            warn(name, raw, "too long")
            continue
        p = params[key]
        try:
            value = check_value(p, raw, T if key in T_BOUND else None)
        except ValueError as exc:
            warn(name, raw, str(exc))
            continue
        if key in out.values and name != key:
            continue  # the explicit long name wins over its short alias
        out.values[key] = value
    return out


def warning_text(parsed: Parsed) -> str | None:
    """One message for all the link's problems (a toast, not a wall of toasts)."""
    if not parsed.warnings:
        return None
    shown = parsed.warnings[:MAX_WARNINGS_SHOWN]
    more = len(parsed.warnings) - len(shown)
    tail = f"; and {more} more" if more > 0 else ""
    return "Some link parameters were ignored: " + "; ".join(shown) + tail + "."


# --------------------------------------------------------------------------------------
# Wiring: the load event, the copy-link control
# --------------------------------------------------------------------------------------


@dataclass
class Links:
    """What wire() built: the parameters, their components in output order, the tab ids."""

    params: dict[str, Param]
    components: dict[str, gr.components.Component]
    tabs: list[str]

    def updates(self, parsed: Parsed) -> list[Any]:
        """One output per component: an update for each set value, gr.skip() for the rest."""
        out = []
        for key, comp in self.components.items():
            if key not in parsed.values:
                out.append(gr.skip())
            elif key in T_BOUND and isinstance(comp, gr.Slider):
                T = parsed.T or int(self.params["T"].default if "T" in self.params else SCHEDULE.default_T)
                out.append(gr.update(value=parsed.values[key], maximum=T))
            else:
                out.append(gr.update(value=parsed.values[key]))
        return out

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


def collect(tabs: gr.Tabs, ctx: UIContext) -> Links:
    """The linkable components: the schedule panel and everything the tabs registered."""
    tab_ids = [str(c.id) for c in tabs.children if isinstance(c, gr.Tab) and c.id is not None]
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
    return Links(params, components, tab_ids)


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
      if (name === "schedule" || Number(v) !== Number(dflt)) q.set(name, fmt(v));
    }
  }
  for (const k of ["embed", "theme", "projector"]) {
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


def wire(demo: gr.Blocks, tabs: gr.Tabs, ctx: UIContext) -> Links:
    """The deep-link load event and the share bar (copy link, projector, light/dark)."""
    links = collect(tabs, ctx)
    first = links.tabs[0] if links.tabs else ""
    with gr.Row(elem_id="share-bar", equal_height=True):
        copy = gr.Button("🔗 Copy link to this view", elem_id="copy-link", size="sm", scale=0, min_width=200)
        link_box = gr.Textbox(
            label="Link to this view",
            placeholder="Press “Copy link to this view”: the link appears here (and in the clipboard).",
            elem_id="share-link",
            interactive=False,
            buttons=["copy"],
            scale=4,
        )
        projector = gr.Button(
            "📽 Projector mode", elem_id="projector-toggle", size="sm", scale=0, min_width=150
        )
        dark = gr.Button("🌓 Light / dark", elem_id="theme-toggle", size="sm", scale=0, min_width=130)
    # The tab the deep link selected or the user clicked (the JS reads the tab bar first).
    current = gr.Textbox(first, visible=False, elem_id="current-tab")

    def on_load(request: gr.Request):
        try:
            parsed = parse(query_items(request), links.params, links.tabs)
        except Exception:  # the page must open whatever the URL holds
            log.exception("deep link could not be read")
            return (gr.skip(), gr.skip(), *(gr.skip() for _ in links.components))
        message = warning_text(parsed)
        if message:
            log.info("deep link: %s", message)
            gr.Warning(message)
        selected = gr.Tabs(selected=parsed.tab) if parsed.tab else gr.skip()
        return (selected, parsed.tab or gr.skip(), *links.updates(parsed))

    demo.load(
        on_load,
        None,
        [tabs, current, *links.components.values()],
        api_name="deeplink",
        api_visibility="private",
        show_progress="hidden",
        concurrency_limit=None,
    )
    for child in tabs.children:
        if isinstance(child, gr.Tab) and child.id is not None:
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
    demo.deeplinks = links  # for tests and tools: what this page's URLs can set
    return links
