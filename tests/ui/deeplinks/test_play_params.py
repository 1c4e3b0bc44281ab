"""`autoplay` and `loop` in a deep link: read by the browser (ui/keys.py), checked by the
parser; `autoplay` on a tab with nothing to play is ignored with a warning."""

from __future__ import annotations

import re

import pytest

from diffusion_demo.ui import keys
from diffusion_demo.ui.deeplinks.params import PARAMETERS_MD, PLAY_TABS
from diffusion_demo.ui.deeplinks.parse import parse, warning_text

from .conftest import TABS, q


@pytest.mark.parametrize(
    "query, tab",
    [
        ("tab=reverse&autoplay=1", "reverse"),
        ("tab=forward&autoplay=1&loop=1", "forward"),
        ("tab=roundtrip&autoplay=true&loop=0", "roundtrip"),
        ("tab=toy2d&autoplay=TRUE", "toy2d"),
        ("autoplay=1&loop=1", None),  # no tab: the first (forward) tab plays
        ("tab=schedule&autoplay=0&loop=1", "schedule"),  # autoplay off: nothing to warn about
        ("tab=reverse&autoplay=&loop=", "reverse"),  # a bare flag means on
    ],
)
def test_autoplay_and_loop_are_accepted(mini, query, tab):
    parsed = parse(q(query), mini.params, TABS)
    assert parsed.tab == tab
    assert parsed.warnings == []
    assert parsed.values == {}  # read by the browser: no component changes


@pytest.mark.parametrize(
    "query, warning",
    [
        ("tab=schedule&autoplay=1", "autoplay=1 (the schedule tab has nothing to play)"),
        ("tab=schedule&autoplay=yes!", "autoplay=yes! (expected one of 0, 1, true, false)"),
        ("tab=reverse&autoplay=2", "autoplay=2 (expected one of 0, 1, true, false)"),
        ("tab=forward&loop=forever", "loop=forever (expected one of 0, 1, true, false)"),
    ],
)
def test_bad_autoplay_and_loop_are_warned_and_the_rest_applies(mini, query, warning):
    parsed = parse(q(query + "&seed=7"), mini.params, TABS)
    assert parsed.warnings == [warning] or parsed.tab == "schedule"  # the lab has no seed: warned too
    assert warning in parsed.warnings and warning in warning_text(parsed)
    if parsed.tab != "schedule":
        assert parsed.values == {"reverse_seed" if parsed.tab == "reverse" else "seed": 7}


def test_schedule_autoplay_warns_even_with_other_problems(mini):
    parsed = parse(q("tab=schedule&autoplay=1&steps=abc"), mini.params, TABS)
    assert "autoplay=1 (the schedule tab has nothing to play)" in parsed.warnings
    assert len(parsed.warnings) == 2


def test_the_tabs_autoplay_presses_a_button_on_are_the_documented_ones():
    with_action = {tab for tab, acts in keys.TAB_ACTIONS.items() if "run" in acts}
    assert with_action == set(PLAY_TABS)
    row = next(line for line in PARAMETERS_MD.splitlines() if line.startswith("| `autoplay`"))
    assert set(re.split(r",\s*", row.split("|")[2].strip())) == set(PLAY_TABS)
    assert "| `loop` |" in PARAMETERS_MD


def test_the_page_head_carries_the_keys_script_and_settings():
    head = keys.HEAD
    assert "__SETTINGS__" not in head and head.count("<script>") == 1
    assert '"sweep_s": 5.0' in head and "reverse-generate" in head
    # PageUp / PageDown belong to lecture mode: the script binds neither
    script = head.split("<script>")[1]
    assert "PageDown" not in script.split("var CFG")[1].split("\n", 1)[1].replace('"PageDown / PageUp"', "")
