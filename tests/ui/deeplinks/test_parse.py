"""Deep-link parser: query -> tab, checked values, warnings (never an exception)."""

from __future__ import annotations

import math
import random
import string

import pytest

from diffusion_demo.diffusion.samplers import SAMPLER_IDS
from diffusion_demo.ui.deeplinks.params import MAX_WARNINGS_SHOWN
from diffusion_demo.ui.deeplinks.parse import parse, warning_text

from .conftest import TABS, q


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
        ("t=10&seed=4&sampler=ddim&eta=0.5", None, {"t": 10, "seed": 4, "sampler": "ddim", "eta": 0.5}),
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
        (
            "sampler=lms",
            f"sampler=lms (expected one of {', '.join(SAMPLER_IDS)})",
        ),
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
    assert text.count("unknown parameter") == MAX_WARNINGS_SHOWN
    assert text.endswith(f"and {20 - MAX_WARNINGS_SHOWN} more.")


@pytest.mark.parametrize(
    "query, kept",
    [
        ("tab=reverse&sampler=ddim&eta=0.5", {"sampler": "ddim", "eta": 0.5}),
        ("tab=reverse&eta=0.5", {"eta": 0.5}),  # the default sampler, DDIM, has η
        ("tab=reverse&sampler=ddpm&eta=0", {"sampler": "ddpm", "eta": 0.0}),
        ("tab=reverse&sampler=ddpm&eta=0.5", {"sampler": "ddpm"}),
        ("tab=reverse&sampler=euler_a&eta=1&steps=9", {"sampler": "euler_a", "steps": 9}),
    ],
)
def test_eta_above_zero_is_kept_only_for_a_sampler_with_eta(mini, query, kept):
    """Once the sampler's change greyed η to 0 while the link set 0.5: which won was a race, and
    a 0.5 that won made the tab refuse its own run. η > 0 without DDIM is dropped, and said."""
    parsed = parse(q(query), mini.params, TABS)
    assert parsed.values == kept
    dropped = "eta" in dict(q(query)) and "eta" not in kept
    assert any("η applies to DDIM only" in w for w in parsed.warnings) == dropped, parsed.warnings
