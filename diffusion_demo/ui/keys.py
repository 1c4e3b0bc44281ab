"""The lecture stage's motion: the forward tab's ▶ Play, `autoplay` / `loop`, and the keys.

Everything here runs in the browser (one <script> in the page head, `HEAD`); the server
only adds ▶ Play's one download (ui/tabs/forward.py: `play_api`) and, after the deep-link
load event, one call of `ofcKeys.linkApplied()` (ui/deeplinks/wire.py). Owns TAB_ACTIONS (each
tab's elements the script drives) and the help overlay's rows. What each control does: the
comment below the imports.

May import: config and gradio.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import gradio as gr

from ..config import PLAYBACK

# What the browser does:
# - ▶ Play / ❚❚ Pause (#forward-play): the first press fetches x_0, ε and the coefficients
#   √ᾱ_t, √(1 − ᾱ_t) for t = 0 … T once (media.forward_views.play_payload); the browser then
#   draws x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε itself on a canvas laid over the x_t image, sweeping t
#   from where it is up to T, down to 0 and back (PLAYBACK.sweep_s per 0 → T), and moves the
#   slider's thumb without telling the server. ❚❚ Pause (or the end of the sweep) sets the real
#   t slider once: one request, and the formula and histogram follow. `loop=1` repeats.
# - `autoplay=1`: once the deep link is applied, the selected tab's main action starts: the
#   forward sweep, Generate (reverse), Round trip, the 2D animation, Fill in. With `loop=1`
#   the chains run again PLAYBACK.loop_hold_s after each run ends (Esc or Stop ends that).
# - Keys (ignored while typing in an input, a text area or a drop-down, and with Ctrl/Alt/⌘):
#   ← / → move the tab's t (the replay step on the reverse tab) by 1/PLAYBACK.notches of its
#   range; Space plays (forward) or runs the tab's main action; Esc stops (Pause, Stop) or
#   closes the help; ? opens the help (also the small ? button, #keys-help). PageUp /
#   PageDown are left to lecture mode.

# Per tab: the slider ← / → move, the button Space presses (and autoplay), the button Esc
# presses, the status whose text says a run is over (for loop=1), an accordion to open first.
TAB_ACTIONS: dict[str, dict[str, str]] = {
    "forward": {"slider": "forward-t", "run": "forward-play"},
    "schedule": {"slider": "schedule-t"},
    "reverse": {
        "slider": "reverse-scrub",
        "run": "reverse-generate",
        "stop": "reverse-stop",
        "status": "reverse-status",
        "done": r"\bdone:",
    },
    "roundtrip": {
        "slider": "roundtrip-t",
        "run": "roundtrip-run",
        "status": "roundtrip-status",
        "done": r"RMS distance|nothing to undo",
    },
    "toy2d": {"slider": "toy-t", "run": "toy-animate", "open": "toy-animation-box"},
    "inpaint": {"run": "inpaint-run", "stop": "inpaint-stop", "status": "inpaint-status", "done": r"^Done\b"},
}

# The help overlay's rows: (keys, what they do).
KEYS_HELP: tuple[tuple[str, str], ...] = (
    ("← / →", "move t by a notch (the replay step on the reverse tab)"),
    ("Space", "▶ Play / ❚❚ Pause on the forward tab; Generate, Round trip, the 2D animation or Fill in"),
    ("Esc", "pause or stop; close this help"),
    ("?", "show or hide this help"),
    ("PageDown / PageUp", "next / previous scene in lecture mode"),
)

_SETTINGS = {
    "sweep_s": PLAYBACK.sweep_s,
    "notches": PLAYBACK.notches,
    "loop_hold_s": PLAYBACK.loop_hold_s,
    "tabs": TAB_ACTIONS,
    "help": KEYS_HELP,
}

_STYLE = """
<style>
#keys-help { position: fixed; right: 12px; bottom: 12px; z-index: 1000; width: 2.2em; height: 2.2em;
  border-radius: 50%; border: 1px solid var(--border-color-primary, #888); font-weight: bold;
  background: var(--background-fill-primary, #fff); color: var(--body-text-color, #000); opacity: 0.75;
  cursor: pointer; font-size: var(--text-md, 16px); }
#keys-help:hover, #keys-help:focus { opacity: 1; }
#keys-help-overlay { position: fixed; inset: 0; z-index: 1001; display: flex; align-items: center;
  justify-content: center; background: rgba(0, 0, 0, 0.45); }
#keys-help-overlay[hidden] { display: none; }
#keys-help-overlay > div { background: var(--background-fill-primary, #fff); color: var(--body-text-color, #000);
  border-radius: 10px; padding: 1em 1.4em; font-family: var(--font, sans-serif); max-width: min(90vw, 640px); font-size: var(--text-md, 16px);
  box-shadow: 0 8px 30px rgba(0, 0, 0, 0.35); }
#keys-help-overlay table { border-collapse: collapse; margin: 0.6em 0; }
#keys-help-overlay td { padding: 0.25em 0.8em 0.25em 0; vertical-align: top; }
#keys-help-close { font: inherit; padding: 0.15em 0.9em; margin-left: 0.5em; cursor: pointer; }
#keys-help-overlay kbd { font-family: inherit; font-weight: bold; white-space: nowrap; }
.play-overlay { position: absolute; pointer-events: none; z-index: 5; }
#forward-play-t { position: absolute; z-index: 20; pointer-events: none; padding: 0.1em 0.5em;
  border-radius: 6px; background: rgba(0, 0, 0, 0.65); color: #fff; font-weight: bold;
  font-size: var(--text-lg, 18px); font-variant-numeric: tabular-nums; }
</style>
"""


# The script lives in keys.js (a real JS file: readable, and checked by `node --check` if present).
_SCRIPT = (Path(__file__).with_name("keys.js")).read_text(encoding="utf-8")
HEAD = (
    _STYLE
    + "<script>\n"
    + _SCRIPT.replace("__SETTINGS__", json.dumps(_SETTINGS, ensure_ascii=False))
    + "</script>\n"
)

# ▶ Play's click: the browser decides (play or pause) before the server is asked.
PLAY_CLICK_JS = "(...args) => (window.ofcKeys ? window.ofcKeys.click(args) : args)"
PLAY_RECEIVED_JS = "(text) => { if (window.ofcKeys) window.ofcKeys.received(text); }"
# Run after the deep-link load event has applied the link (ui/deeplinks/wire.py): a tab the
# user picked meanwhile is picked again, then autoplay=1 starts.
LINK_APPLIED_JS = "() => { if (window.ofcKeys) window.ofcKeys.linkApplied(); }"


def wire_play(button: gr.Button, inputs: Sequence[gr.components.Component], handler: Callable) -> None:
    """▶ Play's events: the click's JS picks play or pause, `handler` (forward.play_api) sends
    the data once per play into a hidden box, whose arrival starts the sweep in the browser."""
    mode = gr.Textbox("pause", visible=False)
    payload = gr.Textbox(visible=False)
    button.click(
        handler,
        [mode, *inputs],
        payload,
        js=PLAY_CLICK_JS,
        api_name="forward_play",
        api_visibility="private",
        show_progress="hidden",
        queue=False,  # a cached dict and two PNGs: no queue round trips before the sweep starts
    ).then(None, payload, None, js=PLAY_RECEIVED_JS, api_visibility="private", queue=False)
