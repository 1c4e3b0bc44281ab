"""Deep links' Gradio side: components described as Params, the load event's updates, the
copy-link spec; and the real app's links reaching the intended widgets."""

from __future__ import annotations

import json
from types import SimpleNamespace

import gradio as gr
import pytest

from diffusion_demo.config import IMAGES, SCHEDULE
from diffusion_demo.ui.deeplinks.params import Param, resolve
from diffusion_demo.ui.deeplinks.parse import parse
from diffusion_demo.ui.deeplinks.wire import copy_link_js, query_items

from .conftest import TABS, q


def test_components_are_described_by_their_ranges_and_choices(mini):
    p = mini.params
    assert p["t"] == Param("t", "int", "forward", 0.0, 1000.0, default=250)
    assert p["eta"].kind == "float" and (p["eta"].minimum, p["eta"].maximum) == (0.0, 1.0)
    assert p["reverse_seed"].maximum == IMAGES.max_seed  # seeds are capped even without a maximum
    assert p["toy_dataset"].choices == ("moons", "rings")  # values, not labels
    assert p["roundtrip_t"].tab == "roundtrip"  # found through Row/Column
    assert p["schedule"].tab is None and p["T"].kind == "int" and p["beta_start"].kind == "float"
    assert mini.links.tabs == TABS


def test_updates_skip_absent_components_and_bound_t_by_T(mini):
    parsed = parse(q("tab=forward&T=2000&t=1500&seed=3"), mini.params, TABS)
    updates = dict(zip(mini.links.components, mini.links.updates(parsed), strict=True))
    assert updates["t"] == {"__type__": "update", "value": 1500, "maximum": 2000}
    assert updates["seed"] == {"__type__": "update", "value": 3}
    assert updates["T"] == {"__type__": "update", "value": 2000}
    # every t bounded by T gets the new maximum in the same update, set by the link or not
    assert updates["toy_t"] == {"__type__": "update", "maximum": 2000}
    assert mini.links.follower_updates(parsed) == [{"__type__": "update", "maximum": 2000}]
    skipped = [k for k, u in updates.items() if u == gr.skip()]
    assert set(skipped) == set(mini.links.components) - {"t", "seed", "T", "toy_t"}
    # a T below a slider's value lowers it too (Gradio would refuse the value above the maximum)
    low = parse(q("tab=forward&T=50"), mini.params, TABS)
    assert mini.links.follower_updates(low) == [{"__type__": "update", "maximum": 50, "value": 50}]
    assert mini.links.follower_updates(parse(q("tab=forward&t=5"), mini.params, TABS)) == [gr.skip()]


def test_query_items_reads_requests_and_plain_dicts():
    class QP(dict):
        def multi_items(self):
            return [("t", "1"), ("t", "2")]

    assert query_items(SimpleNamespace(query_params=QP())) == [("t", "1"), ("t", "2")]
    assert query_items(SimpleNamespace(query_params={"tab": "reverse"})) == [("tab", "reverse")]
    assert query_items(None) == []
    assert query_items(SimpleNamespace()) == []


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
    js = copy_link_js(mini.links)
    assert json.dumps(spec) in js and "navigator.clipboard" in js and "__SPEC__" not in js


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
