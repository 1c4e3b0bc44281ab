"""Deep-link parameters: the naming rules (resolve) and the documented table, checked
against the real app's registrations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from diffusion_demo.ui.deeplinks.params import PARAMETERS_MD, resolve

from .conftest import TABS


def test_resolve_reads_short_names_for_the_tab(mini):
    p = mini.params
    assert resolve("seed", "forward", p) == "seed"
    assert resolve("seed", "reverse", p) == "reverse_seed"
    assert resolve("seed", "roundtrip", p) == "roundtrip_seed"
    assert resolve("seed", "schedule", p) is None
    assert resolve("t", "schedule", p) == "t"
    assert resolve("sampler", "roundtrip", p) is None  # mini's round trip has no sampler
    assert resolve("sampler", None, p) == "sampler"
    assert resolve("schedule", "reverse", p) == "schedule"


def test_docs_page_holds_the_parameter_table():
    page = Path(__file__).resolve().parents[3] / "docs" / "deeplinks.md"
    assert PARAMETERS_MD in page.read_text(encoding="utf-8")


@pytest.mark.slow
def test_every_registered_name_is_documented(real_links):
    documented = set(re.findall(r"`([A-Za-z_]+)`", PARAMETERS_MD))
    missing = set(real_links.params) - documented
    assert not missing, f"link parameters missing from PARAMETERS_MD: {sorted(missing)}"
    assert real_links.tabs == [*TABS, "inpaint"]
    for tab in real_links.tabs:
        assert f"`{tab}`" in PARAMETERS_MD


@pytest.mark.slow
def test_documented_choices_match_the_components(real_links):
    rows = {}
    for line in PARAMETERS_MD.splitlines():
        m = re.match(r"\| `(\w+)`(?: \(= `(\w+)`\))? \| [^|]+ \| ([^|]+) \|", line)
        if m:
            rows[m.group(2) or m.group(1)] = re.findall(r"`([^`]+)`", m.group(3))
    for key, p in real_links.params.items():
        if p.kind == "choice":
            assert sorted(rows[key]) == sorted(p.choices), key
