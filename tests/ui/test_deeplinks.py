"""Deep-link parser: query -> tab, checked values, warnings (never an exception).

Most tests use a small Blocks whose tabs register components the way the real tabs do
(fast); the `real_links` tests build the whole app once and check its registrations,
the documentation table and the copy-link spec against it.
"""

from __future__ import annotations

import json
import math
import random
import re
import string
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl

import gradio as gr
import pytest

from diffusion_demo.config import IMAGES, SAMPLER_NAMES, SCHEDULE
from diffusion_demo.ui import deeplinks
from diffusion_demo.ui.common import UIContext, schedule_panel
from diffusion_demo.ui.deeplinks import Param, parse, resolve, warning_text

TABS = ["forward", "schedule", "reverse", "roundtrip", "toy2d"]
EXAMPLES = ["digit-3", "digit-5", "photo-landscape"]


def q(text: str) -> list[tuple[str, str]]:
    return parse_qsl(text, keep_blank_values=True)


@pytest.fixture(scope="module")
def mini():
    """A Blocks with the real schedule panel and tabs registering links like the real ones."""
    with gr.Blocks() as demo:
        panel = schedule_panel()
        ctx = UIContext(schedule=panel, denoiser=None, checkpoint_error=None)
        with gr.Tabs() as tabs:
            with gr.Tab("F", id="forward"):
                ctx.links["t"] = gr.Slider(0, 1000, value=250, step=1, elem_id="forward-t")
                ctx.links["seed"] = gr.Number(0, precision=0, minimum=0, maximum=IMAGES.max_seed)
                ctx.links["example"] = gr.Dropdown(EXAMPLES, value="photo-landscape")
            with gr.Tab("S", id="schedule"):
                gr.Slider(0, 1000, value=250, step=1)
            with gr.Tab("R", id="reverse"):
                ctx.links["sampler"] = gr.Radio(list(SAMPLER_NAMES), value="ddim")
                ctx.links["steps"] = gr.Slider(1, 1000, value=50, step=1)
                ctx.links["reverse_seed"] = gr.Number(0, precision=0, minimum=0)
                ctx.links["samples"] = gr.Slider(1, 16, value=16, step=1)
                ctx.links["eta"] = gr.Slider(0.0, 1.0, value=0.0, step=0.05)
            with gr.Tab("RT", id="roundtrip"):
                with gr.Row(), gr.Column():  # nested layouts: the owner tab is still found
                    ctx.links["roundtrip_t"] = gr.Slider(0, 1000, value=400, step=1)
                ctx.links["roundtrip_example"] = gr.Dropdown(["digit-3", "digit-5"], value="digit-3")
                ctx.links["roundtrip_seed"] = gr.Number(0, precision=0, minimum=0)
            with gr.Tab("2D", id="toy2d"):
                ctx.links["toy_dataset"] = gr.Dropdown(
                    [("Two moons", "moons"), ("Rings", "rings")], value="moons"
                )
                ctx.links["toy_t"] = gr.Slider(0, 1000, value=100, step=1)
        links = deeplinks.wire(demo, tabs, ctx)
    return SimpleNamespace(demo=demo, links=links, params=links.params, ctx=ctx)


def test_components_are_described_by_their_ranges_and_choices(mini):
    p = mini.params
    assert p["t"] == Param("t", "int", "forward", 0.0, 1000.0, default=250)
    assert p["eta"].kind == "float" and (p["eta"].minimum, p["eta"].maximum) == (0.0, 1.0)
    assert p["reverse_seed"].maximum == IMAGES.max_seed  # seeds are capped even without a maximum
    assert p["toy_dataset"].choices == ("moons", "rings")  # values, not labels
    assert p["roundtrip_t"].tab == "roundtrip"  # found through Row/Column
    assert p["schedule"].tab is None and p["T"].kind == "int" and p["beta_start"].kind == "float"
    assert mini.links.tabs == TABS


@pytest.mark.parametrize(
    "query, tab, values",
    [
        ("tab=forward&t=617&schedule=cosine&seed=3", "forward", {"t": 617, "schedule": "cosine", "seed": 3}),
        (
            "tab=reverse&sampler=ddim&steps=37&seed=5",
            "reverse",
            {"sampler": "ddim", "steps": 37, "reverse_seed": 5},
        ),
        (
            "tab=roundtrip&t=300&example=digit-5",
            "roundtrip",
            {"roundtrip_t": 300, "roundtrip_example": "digit-5"},
        ),
        ("tab=toy2d&dataset=rings&t=20", "toy2d", {"toy_dataset": "rings", "toy_t": 20}),
        # the schedule lab shares the forward tab's t
        ("tab=schedule&t=30&schedule=sigmoid", "schedule", {"t": 30, "schedule": "sigmoid"}),
        # no tab: short names mean the forward tab's, reverse-only names the reverse tab's
        ("t=10&seed=4&sampler=ddpm&eta=0.5", None, {"t": 10, "seed": 4, "sampler": "ddpm", "eta": 0.5}),
        # long names work from any tab; case and spaces in values are forgiven
        ("tab=forward&roundtrip_t=5&toy_t=9", "forward", {"roundtrip_t": 5, "toy_t": 9}),
        ("TAB=x&tab=Reverse&sampler=DDIM&steps=+12+", "reverse", {"sampler": "ddim", "steps": 12}),
        (
            "beta_start=0.0002&beta_end=0.03&T=500&t=500",
            None,
            {"beta_start": 0.0002, "beta_end": 0.03, "T": 500, "t": 500},
        ),
        ("example=digit-3&t=0", None, {"example": "digit-3", "t": 0}),
    ],
)
def test_valid_links_set_the_right_components(mini, query, tab, values):
    parsed = parse(q(query), mini.params, TABS)
    assert parsed.tab == tab
    assert parsed.values == values
    for key, value in values.items():
        assert type(parsed.values[key]) is type(value)


def test_toy_seed_not_registered_in_mini_is_reported_unknown(mini):
    parsed = parse(q("tab=forward&toy_seed=9"), mini.params, TABS)
    assert parsed.values == {} and "toy_seed=9 (unknown parameter)" in parsed.warnings


@pytest.mark.parametrize(
    "query, fragment",
    [
        ("tab=nowhere", "tab=nowhere (expected one of forward, schedule, reverse, roundtrip, toy2d)"),
        ("t=abc", "t=abc (expected a whole number in [0, 1000])"),
        ("t=617.5", "t=617.5 (expected a whole number in [0, 1000])"),
        ("t=1001", "t=1001 (expected a whole number in [0, 1000])"),
        ("t=-1", "t=-1"),
        ("t=nan", "t=nan"),
        ("t=inf", "t=inf"),
        ("t=1e309", "t=1e309"),
        ("seed=4294967296", "seed=4294967296 (expected a whole number in [0, 4294967295])"),
        ("sampler=euler", "sampler=euler (expected one of ddpm, ddim, dpmsolver)"),
        ("eta=1.5", "eta=1.5 (expected a number in [0, 1])"),
        ("schedule=quadratic", "schedule=quadratic (expected one of linear, scaled_linear, cosine, sigmoid)"),
        ("T=0", "T=0 (expected a whole number in [1, 4000])"),
        ("tab=reverse&t=5", "t=5 (the reverse tab has no such setting)"),
        ("tab=schedule&seed=5", "seed=5 (the schedule tab has no such setting)"),
        ("tab=forward&sampler=ddpm", "sampler=ddpm (the forward tab has no such setting)"),
        ("colour=red", "colour=red (unknown parameter)"),
        ("theme=blue", "theme=blue (expected one of dark, light)"),
        ("embed=maybe", "embed=maybe (expected one of 0, 1, true, false)"),
        ("example=../../etc/passwd", "example=../../etc/passwd (expected one of"),
    ],
)
def test_invalid_values_are_ignored_with_a_warning(mini, query, fragment):
    parsed = parse(q(query), mini.params, TABS)
    assert parsed.values == {}
    assert any(fragment in w for w in parsed.warnings), parsed.warnings
    assert parsed.tab in (None, *TABS)


def test_valid_parameters_survive_invalid_neighbours(mini):
    parsed = parse(q("tab=reverse&steps=abc&seed=7&sampler=nope&samples=4"), mini.params, TABS)
    assert parsed.tab == "reverse"
    assert parsed.values == {"reverse_seed": 7, "samples": 4}
    text = warning_text(parsed)
    assert text.startswith("Some link parameters were ignored: ")
    assert "steps=abc" in text and "sampler=nope" in text


def test_t_range_follows_the_T_in_the_link(mini):
    assert parse(q("T=2000&t=1500"), mini.params, TABS).values == {"T": 2000, "t": 1500}
    parsed = parse(q("T=100&t=150"), mini.params, TABS)
    assert parsed.values == {"T": 100} and "t=150 (expected a whole number in [0, 100])" in parsed.warnings
    # a slider with a fixed range (the round trip's model has T = 1000) ignores the link's T
    parsed = parse(q("tab=roundtrip&T=100&t=900"), mini.params, TABS)
    assert parsed.values == {"T": 100, "roundtrip_t": 900}


def test_a_bad_schedule_combination_keeps_only_the_schedule_name(mini):
    parsed = parse(q("beta_start=0.5&beta_end=0.1&schedule=cosine&t=5"), mini.params, TABS)
    assert parsed.values == {"schedule": "cosine", "t": 5}
    assert any("beta_start=0.5, beta_end=0.1" in w for w in parsed.warnings)
    # beta_end alone against the default beta_start: fine
    assert parse(q("beta_end=0.05"), mini.params, TABS).values == {"beta_end": 0.05}


def test_long_name_wins_over_short_alias_and_last_repeat_counts(mini):
    assert parse(q("tab=reverse&reverse_seed=2&seed=1"), mini.params, TABS).values == {"reverse_seed": 2}
    assert parse(q("tab=reverse&seed=1&reverse_seed=2"), mini.params, TABS).values == {"reverse_seed": 2}
    assert parse(q("t=1&t=2&t=3"), mini.params, TABS).values == {"t": 3}


def test_view_and_foreign_parameters_are_accepted_silently(mini):
    parsed = parse(
        q("embed=1&theme=dark&projector=1&__theme=light&view=api&logs=container"), mini.params, TABS
    )
    assert parsed.values == {} and parsed.warnings == [] and warning_text(parsed) is None


def test_garbage_never_raises(mini):
    rng = random.Random(0)
    names = ["tab", "t", "seed", "example", "sampler", "steps", "T", "beta_start", "schedule", "eta", "x", ""]
    alphabet = string.printable + "ßø€🙂\u202e\x00"
    for _ in range(400):
        query = [
            (rng.choice(names), "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))))
            for _ in range(rng.randint(0, 6))
        ]
        parsed = parse(query, mini.params, TABS)
        for key, value in parsed.values.items():
            p = mini.params[key]
            if p.kind in ("int", "float"):
                assert math.isfinite(value)
                assert p.minimum is None or value >= p.minimum
            if p.kind == "choice":
                assert value in p.choices
    long = parse([("t", "1" * 5000), ("seed", "9" * 300)], mini.params, TABS)
    assert long.values == {} and len(long.warnings) == 2
    assert all(len(w) < 200 for w in long.warnings)  # values are shortened in messages


def test_many_problems_make_one_short_message(mini):
    parsed = parse([(f"bad{i}", "1") for i in range(20)], mini.params, TABS)
    text = warning_text(parsed)
    assert text.count("unknown parameter") == deeplinks.MAX_WARNINGS_SHOWN
    assert text.endswith(f"and {20 - deeplinks.MAX_WARNINGS_SHOWN} more.")


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


def test_updates_skip_absent_components_and_bound_t_by_T(mini):
    parsed = parse(q("tab=forward&T=2000&t=1500&seed=3"), mini.params, TABS)
    updates = dict(zip(mini.links.components, mini.links.updates(parsed), strict=True))
    assert updates["t"] == {"__type__": "update", "value": 1500, "maximum": 2000}
    assert updates["seed"] == {"__type__": "update", "value": 3}
    assert updates["T"] == {"__type__": "update", "value": 2000}
    skipped = [k for k, u in updates.items() if u == gr.skip()]
    assert set(skipped) == set(mini.links.components) - {"t", "seed", "T"}


def test_query_items_reads_requests_and_plain_dicts():
    class QP(dict):
        def multi_items(self):
            return [("t", "1"), ("t", "2")]

    assert deeplinks.query_items(SimpleNamespace(query_params=QP())) == [("t", "1"), ("t", "2")]
    assert deeplinks.query_items(SimpleNamespace(query_params={"tab": "reverse"})) == [("tab", "reverse")]
    assert deeplinks.query_items(None) == []
    assert deeplinks.query_items(SimpleNamespace()) == []


def test_load_handler_answers_every_output_even_for_a_broken_request(mini):
    dep = next(d for d in mini.demo.config["dependencies"] if d.get("api_name") == "deeplink")
    fn = mini.demo.fns[dep["id"]].fn
    n_outputs = len(dep["outputs"])
    out = fn(SimpleNamespace(query_params={"tab": "reverse", "steps": "12"}))
    assert len(out) == n_outputs
    assert isinstance(out[0], gr.Tabs) and out[0].selected == "reverse" and out[1] == "reverse"
    broken = SimpleNamespace(query_params=SimpleNamespace(multi_items=lambda: 1 / 0))
    assert all(o == gr.skip() for o in fn(broken)) and len(fn(broken)) == n_outputs


def test_copy_link_spec_reads_back_to_the_same_components(mini):
    spec = mini.links.link_spec()
    keys = list(mini.links.components)
    assert spec["first"] == "forward" and spec["schedule_tabs"] == ["forward", "schedule", "toy2d"]
    assert [n for n, _ in spec["tabs"]["schedule"]] == ["t"]
    for tab, entries in spec["tabs"].items():
        for name, index in entries:
            assert resolve(name, tab, mini.params) == keys[index], (tab, name)
    assert [n for n, _ in spec["tabs"]["reverse"]] == ["sampler", "steps", "seed", "samples", "eta"]
    js = deeplinks.copy_link_js(mini.links)
    assert json.dumps(spec) in js and "navigator.clipboard" in js and "__SPEC__" not in js


# --------------------------------------------------------------------------------------
# The real app's registrations
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_links():
    from diffusion_demo.ui import build_demo

    demo = build_demo(denoiser=None, checkpoint_error="no model in this test")
    return demo.deeplinks


def test_docs_page_holds_the_parameter_table():
    page = Path(__file__).resolve().parents[2] / "docs" / "deeplinks.md"
    assert deeplinks.PARAMETERS_MD in page.read_text(encoding="utf-8")


@pytest.mark.slow
def test_every_registered_name_is_documented(real_links):
    documented = set(re.findall(r"`([A-Za-z_]+)`", deeplinks.PARAMETERS_MD))
    missing = set(real_links.params) - documented
    assert not missing, f"link parameters missing from PARAMETERS_MD: {sorted(missing)}"
    assert real_links.tabs == [*TABS, "inpaint"]
    for tab in real_links.tabs:
        assert f"`{tab}`" in deeplinks.PARAMETERS_MD


@pytest.mark.slow
def test_documented_choices_match_the_components(real_links):
    rows = {}
    for line in deeplinks.PARAMETERS_MD.splitlines():
        m = re.match(r"\| `(\w+)`(?: \(= `(\w+)`\))? \| [^|]+ \| ([^|]+) \|", line)
        if m:
            rows[m.group(2) or m.group(1)] = re.findall(r"`([^`]+)`", m.group(3))
    for key, p in real_links.params.items():
        if p.kind == "choice":
            assert sorted(rows[key]) == sorted(p.choices), key


@pytest.mark.slow
@pytest.mark.parametrize(
    "query, elem_ids",
    [
        (
            "tab=forward&t=617&schedule=cosine&seed=3",
            {"forward-t": 617, "schedule": "cosine", "forward-seed": 3},
        ),
        (
            "tab=reverse&sampler=ddim&steps=37&seed=5&samples=4&eta=0.5",
            {
                "reverse-sampler": "ddim",
                "reverse-steps": 37,
                "reverse-seed": 5,
                "reverse-samples": 4,
                "reverse-eta": 0.5,
            },
        ),
        (
            "tab=roundtrip&t=300&seed=2&example=digit-7&sampler=ddpm&steps=20",
            {
                "roundtrip-t": 300,
                "roundtrip-seed": 2,
                "roundtrip-example": "digit-7",
                "roundtrip-sampler": "ddpm",
                "roundtrip-steps": 20,
            },
        ),
        ("tab=toy2d&dataset=rings&t=20&seed=4", {"toy-dataset": "rings", "toy-t": 20, "toy-seed": 4}),
        ("tab=schedule&t=30&T=500&beta_end=0.03", {"forward-t": 30, "T_steps": 500, "beta_end": 0.03}),
    ],
)
def test_real_links_reach_the_intended_widgets(real_links, query, elem_ids):
    parsed = parse(q(query), real_links.params, real_links.tabs)
    assert parsed.warnings == []
    got = {real_links.components[k].elem_id: v for k, v in parsed.values.items()}
    assert got == elem_ids


@pytest.mark.slow
def test_real_copy_link_spec_covers_each_tab(real_links):
    spec = real_links.link_spec()
    names = {tab: [n for n, _ in entries] for tab, entries in spec["tabs"].items()}
    assert names["forward"] == ["t", "seed", "example"]
    assert names["schedule"] == ["t"]
    assert names["reverse"] == ["sampler", "steps", "seed", "samples", "eta", "digit", "guidance"]
    assert names["roundtrip"] == ["t", "example", "seed", "sampler", "steps"]
    assert set(names["toy2d"]) >= {"dataset", "t", "seed"}
    assert SCHEDULE.default_T in [d for _, _, d in spec["panel"]]
