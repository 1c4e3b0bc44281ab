"""toy2d.data: typed points, input checks, the built-in sets and the forward process."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from diffusion_demo.config import TOY2D_LIMITS
from diffusion_demo.diffusion.schedules import ScheduleSpec, build_scheduler
from diffusion_demo.toy2d.data import (
    BUILTIN_SETS,
    builtin_points,
    check_paths,
    check_seed,
    cloud_stats,
    forward_cloud,
    forward_paths,
    get_set,
    parse_points,
)
from diffusion_demo.toy2d.model import TRAINED_SPEC

SPEC = TRAINED_SPEC


# ------------------------------------------------------------------ custom points: parsing


def test_parse_points_accepts_common_spellings():
    text = "0, 0\n1 2\n# a comment\n\n(3; -4.5)  # trailing comment\n[1e-1, 2E1]\n"
    got = parse_points(text)
    np.testing.assert_allclose(got, [[0, 0], [1, 2], [3, -4.5], [0.1, 20]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \n# only a comment\n\n", "empty"),
        (None, "empty"),
        ("1, 2\n3, x", "Line 2 ('3, x') of the custom set is not numeric"),
        ("hello", "Line 1"),
        ("1, 2, 3", "expected two numbers"),
        ("1, nan", "finite"),
        ("inf, 2", "finite"),
        ("1, -Infinity", "finite"),
        ("1e300, 2", "within"),
        (
            "\n".join(f"{i}, {i}" for i in range(201)),
            "Too many points in the custom set: 201 given, at most 200",
        ),
        ("1, 2\n" * 3000, "too long"),
    ],
)
def test_parse_points_rejects_bad_input_with_a_clear_message(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_points(text)


def test_parse_points_rejects_non_text():
    with pytest.raises(ValueError, match="one 'x, y' per line"):
        parse_points([[1, 2]])


def test_limit_is_exactly_the_documented_one():
    ok = "\n".join(f"{i}, {-i}" for i in range(TOY2D_LIMITS.max_custom_points))
    assert parse_points(ok).shape == (TOY2D_LIMITS.max_custom_points, 2)


def test_custom_set_is_centred_and_scaled():
    toy = get_set("custom", "10, 10\n12, 10\n10, 14")
    assert toy.is_custom and toy.key.startswith("custom-")
    np.testing.assert_allclose(toy.fixed.mean(0), 0, atol=1e-6)
    assert np.sqrt(toy.fixed.var(0).mean()) == pytest.approx(1.0, rel=1e-5)
    # the same points give the same key (models are memoised by it); others do not
    assert get_set("custom", "10,10\n12 ,10\n10,14").key == toy.key
    assert get_set("custom", "10, 10\n12, 10\n10, 15").key != toy.key
    # a single point is only centred, not divided by zero
    one = get_set("custom", "5, 7")
    np.testing.assert_array_equal(one.fixed, [[0, 0]])
    assert np.isfinite(one.sample(10, 0)).all()


# ------------------------------------------------------------------ other input checks


@pytest.mark.parametrize("name", ["", "moon", "MOONS", "mnist"])
def test_unknown_dataset(name):
    with pytest.raises(ValueError, match="expected one of moons, swiss_roll, rings, custom"):
        get_set(name)


@pytest.mark.parametrize("t", [-1, 1001, 2.5, "x", float("nan"), None])
def test_t_out_of_range(t):
    with pytest.raises(ValueError, match=r"t must be a whole number in \[0, 1000\]"):
        forward_cloud(get_set("moons"), t, SPEC, 0, 10)


@pytest.mark.parametrize("seed", [-1, 2**32, 0.5, "abc", float("inf")])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must be a whole number"):
        check_seed(seed)


@pytest.mark.parametrize("n", [0, 13, 2.5, "many"])
def test_bad_path_count(n):
    with pytest.raises(ValueError, match=r"n_paths must be a whole number in \[1, 12\]"):
        check_paths(n)


# ------------------------------------------------------------------ data sets


@pytest.mark.parametrize("name", BUILTIN_SETS)
def test_builtin_sets_are_normalised_and_seeded(name):
    x = builtin_points(name, 4000, seed=3)
    assert x.shape == (4000, 2) and x.dtype == np.float32
    np.testing.assert_allclose(x.mean(0), 0, atol=0.06)
    assert np.sqrt(x.var(0).mean()) == pytest.approx(1.0, abs=0.05)
    np.testing.assert_array_equal(x, builtin_points(name, 4000, seed=3))
    assert not np.array_equal(x, builtin_points(name, 4000, seed=4))


def test_rings_are_two_circles():
    r = np.linalg.norm(builtin_points("rings", 3000, 0), axis=1)
    r = r / r.max()
    inner, outer = r[r < 0.75], r[r >= 0.75]
    assert len(outer) == pytest.approx(2 * len(inner), rel=0.1)  # shared by length
    assert inner.std() < 0.05 and outer.std() < 0.05  # thin rings, radius ratio ~1/2
    assert inner.mean() / outer.mean() == pytest.approx(0.5, abs=0.05)


# ------------------------------------------------------------------ the forward process


def test_forward_cloud_matches_the_closed_form_oracle():
    toy = get_set("moons")
    spec = ScheduleSpec("cosine", 1e-4, 0.02, 500)
    x0 = toy.sample(200, 5)
    eps = torch.randn((200, 2), generator=torch.Generator().manual_seed(6)).numpy()  # fixed_noise(seed + 1)
    betas = build_scheduler(spec).betas.double().numpy()
    for t in (0, 1, 137, 500):
        # oracle: eq. 4 of Ho et al. 2020 with alpha_bar_t = prod(1 - beta_s), s <= t
        ab = float(np.prod(1 - betas[:t]))
        want = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps
        np.testing.assert_allclose(forward_cloud(toy, t, spec, 5, 200), want, atol=2e-5)


def test_forward_cloud_ends_at_standard_normal():
    x = forward_cloud(get_set("swiss_roll"), 1000, SPEC, 0, 4000)
    stats = cloud_stats(x)
    np.testing.assert_allclose(stats["mean"], [0, 0], atol=0.06)
    np.testing.assert_allclose(stats["cov"], np.eye(2), atol=0.08)
    # …while at t = 0 it is the data, far from N(0, I) (moons: wide, flat)
    cov0 = np.array(cloud_stats(forward_cloud(get_set("moons"), 0, SPEC, 0))["cov"])
    assert abs(cov0[0, 0] - cov0[1, 1]) > 0.5


def test_forward_paths_are_the_markov_chain():
    toy = get_set("rings")
    paths = forward_paths(toy, SPEC, 0, 3)
    assert paths.shape == (1001, 3, 2)
    np.testing.assert_array_equal(paths[0], toy.sample(3, 0))
    # each step is a small kick: sqrt(beta_t) <= sqrt(0.02), so no jump beyond ~5 of those
    assert np.abs(np.diff(paths, axis=0)).max() < 5 * math.sqrt(0.02) + 0.05
    assert np.linalg.norm(paths[-1] - paths[0], axis=1).min() > 0.05
