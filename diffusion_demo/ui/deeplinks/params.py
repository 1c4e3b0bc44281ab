"""The deep links' parameters: the documented table, the naming rules, `Param`.

Pure data and pure functions (no Gradio): what a URL may name, which tab a short name is
read for (`resolve`), and the name a copied link uses (`short_name`).

May import: config and diffusion.samplers (the sampler ids).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...config import DEEPLINKS
from ...diffusion.samplers import SAMPLER_IDS

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
| `sampler` | reverse | {samplers} | the reverse-chain sampler |
| `steps` | reverse | whole number 1 … 1000 | sampler steps |
| `samples` | reverse | whole number 1 … 16 | digits in the grid |
| `eta` | reverse | 0 … 1 | DDIM's η |
| `digit` | reverse | `any`, `0`, `1`, `2`, `3`, `4`, `5`, `6`, `7`, `8`, `9`, `each` | the digit the chain is steered to (a class-conditional model) |
| `guidance` | reverse | 0 … 8 | classifier-free guidance w (0 = unconditional, 1 = conditional) |
| `seed` (= `reverse_seed`) | reverse | whole number 0 … 4294967295 | the seed of x_T |
| `t` (= `roundtrip_t`) | roundtrip | whole number 0 … 1000 | how far the digit is noised |
| `example` (= `roundtrip_example`) | roundtrip | `digit-3`, `digit-5`, `digit-7`, `digit-8` | the digit |
| `seed` (= `roundtrip_seed`) | roundtrip | whole number 0 … 4294967295 | the seed of the noise |
| `sampler` (= `roundtrip_sampler`) | roundtrip | {samplers} | the sampler of the way back |
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
| `lecture` | – | `1` (the default scenes), a scene-list name, or the path of a `.json` file inside the folder the app was started in | lecture mode: one scene at a time, with Previous / Next (also a button at the bottom of the page) |
| `scene` | – | whole number 1 … the number of scenes | the lecture's current scene (with `lecture`) |
| `autoplay` | forward, reverse, roundtrip, toy2d, inpaint | `1` | starts the tab's main action once the page is ready: ▶ Play (forward), Generate, Round trip, the 2D animation, Fill in |
| `loop` | forward, reverse, roundtrip, inpaint | `1` | repeats: the forward sweep goes on until ❚❚ Pause; a chain runs again 3 s after each run ends (until Esc or Stop) |

Short names (`t`, `seed`, `example`, `sampler`, `steps`, `samples`, `eta`, `dataset`) are
read for the tab named by `tab`; the long names in brackets work anywhere. Without `tab`
the short names mean the forward tab's (and `sampler`, `steps`, `samples`, `eta` the reverse
tab's). Invalid values are ignored with a warning; nothing else changes. `autoplay` on a
tab with nothing to play (the schedule lab) is ignored with a warning too. In lecture
mode the scene's own link is applied first and the URL's other parameters after it.

Keys (not while typing in a box): ← / → move t by a notch (the replay step on the reverse
tab), Space plays or runs the tab's main action, Esc pauses or stops, ? shows the keys.
""".replace("{samplers}", ", ".join(f"`{s}`" for s in SAMPLER_IDS))  # the registry's ids

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
    "autoplay": ("0", "1", "true", "false", ""),
    "loop": ("0", "1", "true", "false", ""),
}
# Lecture mode (ui.lecture): read before the parser, which only skips them.
LECTURE_PARAMS: tuple[str, ...] = ("lecture", "scene")

# Tabs with a main action for `autoplay` to start (ui/keys.py presses their buttons).
PLAY_TABS: tuple[str, ...] = ("forward", "reverse", "roundtrip", "toy2d", "inpaint")
# Gradio's and Hugging Face's own query parameters: never reported as unknown.
FOREIGN_PARAMS: frozenset[str] = frozenset({"view", "deep_link", "__sign", "logs", "_"})
# Sliders whose maximum is the shared schedule's T (the rest have fixed ranges).
T_BOUND: frozenset[str] = frozenset({"t", "toy_t", "schedule_t"})
# Tabs that use the shared schedule panel: their copied links carry it.
SCHEDULE_TABS: tuple[str, ...] = ("forward", "schedule", "toy2d")
MAX_VALUE_CHARS = DEEPLINKS.max_value_chars
MAX_WARNINGS_SHOWN = DEEPLINKS.max_warnings_shown


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
