"""The deep-link parser (pure, no Gradio): a URL query in, checked values and warnings out.

Every problem becomes a warning, never an error: the page never fails because of its URL.

May import: config, checks, diffusion.schedules, diffusion.samplers and ui.deeplinks.params.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ... import checks
from ...config import DEEPLINKS, SCHEDULE
from ...diffusion import samplers
from ...diffusion.schedules import validate_spec
from .params import (
    FOREIGN_PARAMS,
    LECTURE_PARAMS,
    MAX_VALUE_CHARS,
    MAX_WARNINGS_SHOWN,
    PANEL_NAMES,
    PLAY_TABS,
    SHORT_NAMES,
    T_BOUND,
    VIEW_PARAMS,
    Param,
    resolve,
)


@dataclass
class Parsed:
    """The outcome of reading a query: the tab, checked values by parameter name, warnings."""

    tab: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # T-bound sliders get this maximum with their value (a URL T above the default).
    T: int | None = None

    def warn(self, name: str, raw: str, why: str) -> None:
        """Note an ignored parameter, its value shortened for the message."""
        n = DEEPLINKS.max_quoted_chars
        shown = raw if len(raw) <= n else raw[: n - 3] + "…"
        self.warnings.append(f"{name}={shown!s} ({why})")


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
    expected = f"expected {what} {_range_text(p, hi)}".strip()
    try:  # float() itself skips the spaces around a number ("+12+" in a URL is " 12 ")
        value = checks.whole(raw, p.name) if p.kind == "int" else checks.finite(raw, p.name)
    except ValueError:
        raise ValueError(expected) from None
    if (p.minimum is not None and value < p.minimum) or (hi is not None and value > hi):
        raise ValueError(expected)
    return value


def _read_query(query: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """The query as a dict: a repeated parameter's last value counts, as in a browser form."""
    items = list(query.items()) if isinstance(query, Mapping) else list(query)
    return {str(k): str(v) for k, v in items}


def _read_tab_and_view(q: dict[str, str], tabs: Sequence[str], out: Parsed) -> None:
    """1. `tab`, then the view switches the browser reads (embed, theme, projector)."""
    raw_tab = q.pop("tab", None)
    if raw_tab is not None:
        tab = raw_tab.strip().lower()
        if tab in tabs:
            out.tab = tab
        else:
            out.warn("tab", raw_tab, f"expected one of {', '.join(tabs)}")
    for name, allowed in VIEW_PARAMS.items():
        raw = q.pop(name, None)
        if raw is not None and raw.strip().lower() not in allowed:
            out.warn(name, raw, f"expected one of {', '.join(a for a in allowed if a)}")
        elif name == "autoplay" and raw is not None and raw.strip().lower() in ("1", "true", ""):
            tab = out.tab or (tabs[0] if tabs else None)
            if tab is not None and tab not in PLAY_TABS:
                out.warn(name, raw, f"the {tab} tab has nothing to play")


def _read_panel(q: dict[str, str], params: Mapping[str, Param], out: Parsed) -> None:
    """2. The shared schedule first: it sets the range of the T-bound sliders."""
    panel: dict[str, Any] = {}
    for name in PANEL_NAMES:
        raw = q.pop(name, None)
        if raw is None or name not in params:
            continue
        try:
            panel[name] = check_value(params[name], raw[:MAX_VALUE_CHARS])
        except ValueError as exc:
            out.warn(name, raw, str(exc))
    if not panel:
        return
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


def _read_settings(q: dict[str, str], params: Mapping[str, Param], out: Parsed) -> None:
    """3. Every other parameter, read for the tab (T-bound sliders up to the link's T)."""
    T = out.T if out.T is not None else int(params["T"].default if "T" in params else SCHEDULE.default_T)
    for name, raw in q.items():
        if name in FOREIGN_PARAMS or name in LECTURE_PARAMS:
            continue  # Gradio's own; lecture mode's are read by ui.lecture before the parser
        key = resolve(name, out.tab, params)
        if key is None:
            if name in SHORT_NAMES and out.tab is not None:
                out.warn(name, raw, f"the {out.tab} tab has no such setting")
            else:
                out.warn(name, raw, "unknown parameter")
            continue
        if len(raw) > MAX_VALUE_CHARS:
            out.warn(name, raw, "too long")
            continue
        try:
            value = check_value(params[key], raw, T if key in T_BOUND else None)
        except ValueError as exc:
            out.warn(name, raw, str(exc))
            continue
        if key in out.values and name != key:
            continue  # the explicit long name wins over its short alias
        out.values[key] = value


def parse(
    query: Mapping[str, str] | Iterable[tuple[str, str]], params: Mapping[str, Param], tabs: Sequence[str]
) -> Parsed:
    """Read a URL query: which tab, which values; every problem becomes a warning, never an error."""
    q = _read_query(query)
    out = Parsed()
    _read_tab_and_view(q, tabs, out)
    _read_panel(q, params, out)
    _read_settings(q, params, out)
    _drop_eta_the_sampler_lacks(params, out)
    return out


def _drop_eta_the_sampler_lacks(params: Mapping[str, Param], out: Parsed) -> None:
    """4. η > 0 only with a sampler that has η: otherwise the tab would greet the link with a run
    it refuses (and which of the two values the page showed was a race). Dropped, with a warning."""
    with_eta = " and ".join(s.label for s in samplers.SAMPLERS.values() if s.uses_eta)
    for key in [k for k in out.values if k == "eta" or k.endswith("_eta")]:
        sampler_key = key[: -len("eta")] + "sampler"
        sampler = out.values.get(sampler_key, params[sampler_key].default if sampler_key in params else None)
        if out.values[key] and sampler is not None and not samplers.get(sampler).uses_eta:
            out.warn(key, str(out.values.pop(key)), f"η applies to {with_eta} only, not {sampler}")


def warning_text(parsed: Parsed) -> str | None:
    """One message for all the link's problems (a toast, not a wall of toasts)."""
    if not parsed.warnings:
        return None
    shown = parsed.warnings[:MAX_WARNINGS_SHOWN]
    more = len(parsed.warnings) - len(shown)
    tail = f"; and {more} more" if more > 0 else ""
    return "Some link parameters were ignored: " + "; ".join(shown) + tail + "."
