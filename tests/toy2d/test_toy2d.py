"""The 2D picture: data sets, input checks, forward cloud, training, shipped models, figures."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from PIL import Image

from diffusion_demo import toy2d
from diffusion_demo.diffusion.schedules import ScheduleSpec, build_scheduler
from diffusion_demo.media import toy2d_plots as plots

SPEC = toy2d.TRAINED_SPEC
# A short training run: enough to see the loss fall, a second or two of CPU. No wall-clock
# cap here: a busy test machine must not turn a deterministic run into a shorter one.
QUICK = dataclasses.replace(toy2d.TRAIN2D, steps=300, max_seconds=600)


# ------------------------------------------------------------------ custom points: parsing


def test_parse_points_accepts_common_spellings():
    text = "0, 0\n1 2\n# a comment\n\n(3; -4.5)  # trailing comment\n[1e-1, 2E1]\n"
    got = toy2d.parse_points(text)
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
        toy2d.parse_points(text)


def test_parse_points_rejects_non_text():
    with pytest.raises(ValueError, match="one 'x, y' per line"):
        toy2d.parse_points([[1, 2]])


def test_limit_is_exactly_the_documented_one():
    ok = "\n".join(f"{i}, {-i}" for i in range(toy2d.LIMITS.max_custom_points))
    assert toy2d.parse_points(ok).shape == (toy2d.LIMITS.max_custom_points, 2)


def test_custom_set_is_centred_and_scaled():
    toy = toy2d.get_set("custom", "10, 10\n12, 10\n10, 14")
    assert toy.is_custom and toy.key.startswith("custom-")
    np.testing.assert_allclose(toy.fixed.mean(0), 0, atol=1e-6)
    assert np.sqrt(toy.fixed.var(0).mean()) == pytest.approx(1.0, rel=1e-5)
    # the same points give the same key (models are memoised by it); others do not
    assert toy2d.get_set("custom", "10,10\n12 ,10\n10,14").key == toy.key
    assert toy2d.get_set("custom", "10, 10\n12, 10\n10, 15").key != toy.key
    # a single point is only centred, not divided by zero
    one = toy2d.get_set("custom", "5, 7")
    np.testing.assert_array_equal(one.fixed, [[0, 0]])
    assert np.isfinite(one.sample(10, 0)).all()


# ------------------------------------------------------------------ other input checks


@pytest.mark.parametrize("name", ["", "moon", "MOONS", "mnist"])
def test_unknown_dataset(name):
    with pytest.raises(ValueError, match="expected one of moons, swiss_roll, rings, custom"):
        toy2d.get_set(name)


@pytest.mark.parametrize("t", [-1, 1001, 2.5, "x", float("nan"), None])
def test_t_out_of_range(t):
    with pytest.raises(ValueError, match=r"t must be a whole number in \[0, 1000\]"):
        toy2d.forward_cloud(toy2d.get_set("moons"), t, SPEC, 0, 10)


@pytest.mark.parametrize("seed", [-1, 2**32, 0.5, "abc", float("inf")])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must be a whole number"):
        toy2d.check_seed(seed)


@pytest.mark.parametrize("n", [0, 13, 2.5, "many"])
def test_bad_path_count(n):
    with pytest.raises(ValueError, match=r"n_paths must be a whole number in \[1, 12\]"):
        toy2d.check_paths(n)


# ------------------------------------------------------------------ data sets


@pytest.mark.parametrize("name", toy2d.BUILTIN_SETS)
def test_builtin_sets_are_normalised_and_seeded(name):
    x = toy2d.builtin_points(name, 4000, seed=3)
    assert x.shape == (4000, 2) and x.dtype == np.float32
    np.testing.assert_allclose(x.mean(0), 0, atol=0.06)
    assert np.sqrt(x.var(0).mean()) == pytest.approx(1.0, abs=0.05)
    np.testing.assert_array_equal(x, toy2d.builtin_points(name, 4000, seed=3))
    assert not np.array_equal(x, toy2d.builtin_points(name, 4000, seed=4))


def test_rings_are_two_circles():
    r = np.linalg.norm(toy2d.builtin_points("rings", 3000, 0), axis=1)
    r = r / r.max()
    inner, outer = r[r < 0.75], r[r >= 0.75]
    assert len(outer) == pytest.approx(2 * len(inner), rel=0.1)  # shared by length
    assert inner.std() < 0.05 and outer.std() < 0.05  # thin rings, radius ratio ~1/2
    assert inner.mean() / outer.mean() == pytest.approx(0.5, abs=0.05)


# ------------------------------------------------------------------ the forward process


def test_forward_cloud_matches_the_closed_form_oracle():
    toy = toy2d.get_set("moons")
    spec = ScheduleSpec("cosine", 1e-4, 0.02, 500)
    x0 = toy.sample(200, 5)
    eps = torch.randn((200, 2), generator=torch.Generator().manual_seed(6)).numpy()  # fixed_noise(seed + 1)
    betas = build_scheduler(spec).betas.double().numpy()
    for t in (0, 1, 137, 500):
        # oracle: eq. 4 of Ho et al. 2020 with alpha_bar_t = prod(1 - beta_s), s <= t
        ab = float(np.prod(1 - betas[:t]))
        want = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps
        np.testing.assert_allclose(toy2d.forward_cloud(toy, t, spec, 5, 200), want, atol=2e-5)


def test_forward_cloud_ends_at_standard_normal():
    x = toy2d.forward_cloud(toy2d.get_set("swiss_roll"), 1000, SPEC, 0, 4000)
    stats = toy2d.cloud_stats(x)
    np.testing.assert_allclose(stats["mean"], [0, 0], atol=0.06)
    np.testing.assert_allclose(stats["cov"], np.eye(2), atol=0.08)
    # …while at t = 0 it is the data, far from N(0, I) (moons: wide, flat)
    cov0 = np.array(toy2d.cloud_stats(toy2d.forward_cloud(toy2d.get_set("moons"), 0, SPEC, 0))["cov"])
    assert abs(cov0[0, 0] - cov0[1, 1]) > 0.5


def test_forward_paths_are_the_markov_chain():
    toy = toy2d.get_set("rings")
    paths = toy2d.forward_paths(toy, SPEC, 0, 3)
    assert paths.shape == (1001, 3, 2)
    np.testing.assert_array_equal(paths[0], toy.sample(3, 0))
    # each step is a small kick: sqrt(beta_t) <= sqrt(0.02), so no jump beyond ~5 of those
    assert np.abs(np.diff(paths, axis=0)).max() < 5 * math.sqrt(0.02) + 0.05
    assert np.linalg.norm(paths[-1] - paths[0], axis=1).min() > 0.05


# ------------------------------------------------------------------ training


def test_loss_falls_during_training():
    losses = toy2d.loss_curve(toy2d.get_set("moons"), SPEC, QUICK, report_every=10)
    assert len(losses) == QUICK.steps // 10 and all(np.isfinite(losses))
    # ε-prediction starts near E[ε²] = 1 (the MSE of predicting 0) and must fall well below it…
    assert losses[0] > 0.5
    assert losses[-1] < 0.5 * losses[0]
    # …and keep falling after the first quick drop
    assert np.mean(losses[-5:]) < np.mean(losses[3:8])


def test_training_is_deterministic_and_reports_progress():
    toy = toy2d.get_set("custom", "0, 0\n1, 1")
    cfg = dataclasses.replace(QUICK, steps=120)
    reports = list(toy2d.train_iter(toy, SPEC, cfg, report_every=40))
    assert [r.step for r in reports] == [40, 80, 120] and [r.done for r in reports] == [False, False, True]
    model = reports[-1].model
    again = toy2d.train(toy, SPEC, cfg)
    x = torch.randn(5, 2)
    torch.testing.assert_close(model.eps(x, 10), again.eps(x, 10))
    assert model.info["steps"] == 120 and model.spec == SPEC and model.dataset_key == toy.key


def test_training_stops_at_the_time_limit():
    cfg = dataclasses.replace(QUICK, steps=10_000, max_seconds=0.3)
    model = toy2d.train(toy2d.get_set("moons"), SPEC, cfg)
    assert model.info["stopped_early"] and model.info["steps"] < 10_000


def test_custom_set_is_learned_on_demand():
    # four points far apart: after a short training the samples must sit on them
    toy = toy2d.get_set("custom", "-1, -1\n-1, 1\n1, -1\n1, 1")
    model = toy2d.train(toy, SPEC, dataclasses.replace(QUICK, steps=1500))
    samples = toy2d.reverse_run(model, seed=1, n=400)[0]
    d = torch.cdist(torch.tensor(samples), torch.tensor(toy.fixed))
    nearest, which = d.min(1)
    assert (nearest < 0.15).float().mean() > 0.9
    counts = np.bincount(which.numpy(), minlength=4)
    assert counts.min() > 50  # every point is found, none takes all


# ------------------------------------------------------------------ shipped models


@pytest.mark.parametrize("name", toy2d.BUILTIN_SETS)
def test_shipped_weights_are_small_and_on_the_documented_schedule(name):
    path = toy2d.weights_path(name)
    assert path.is_file() and path.stat().st_size < 300_000
    model = toy2d.shipped(name)
    assert model is not None and model.spec == toy2d.TRAINED_SPEC
    assert model.info["steps"] == toy2d.TRAIN2D.steps and not model.info["stopped_early"]


@pytest.mark.parametrize("name", toy2d.BUILTIN_SETS)
def test_samples_of_the_shipped_model_match_the_data(name):
    toy = toy2d.get_set(name)
    model = toy2d.shipped(name)
    samples = toy2d.reverse_run(model, seed=11, n=600)[0]
    q = toy2d.quality(samples, toy)
    assert q["mean_gap"] < 0.12, q
    assert q["cov_gap"] < 0.2, q
    # on the curve: about as close to the data as fresh data points are…
    assert q["nn_distance"] < 2.5 * q["nn_baseline"], q
    # …and far closer than the noise the chain started from
    noise = toy2d.nn_distance(toy2d.reverse_run(model, seed=11, n=600)[-1], toy.reference())
    assert q["nn_distance"] < 0.25 * noise, (q, noise)


def test_learned_field_at_t_T_predicts_the_point_itself():
    # x_T = sqrt(alpha_bar_T) x_0 + sqrt(1 - alpha_bar_T) ε ≈ ε, so ε̂(x, T) ≈ x
    grid, eps = toy2d.eps_field(toy2d.shipped("moons"), 1000, lim=2.0, n=9)
    far = np.linalg.norm(grid, axis=1) > 0.5
    grid, eps = grid[far], eps[far]
    cos = (grid * eps).sum(1) / np.linalg.norm(grid, axis=1) / np.linalg.norm(eps, axis=1)
    assert cos.mean() > 0.95
    np.testing.assert_allclose(eps, grid, atol=0.2)


def test_save_and_load_round_trip(tmp_path):
    model = toy2d.train(toy2d.get_set("custom", "0, 1\n2, 3"), SPEC, dataclasses.replace(QUICK, steps=20))
    toy2d.save(model, tmp_path / "m.safetensors")
    back = toy2d.load(tmp_path / "m.safetensors")
    x = torch.randn(7, 2)
    torch.testing.assert_close(back.eps(x, 500), model.eps(x, 500))
    assert back.spec == model.spec and back.dataset_key == model.dataset_key
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="could not be read"):
        toy2d.load(tmp_path / "bad.safetensors")


# ------------------------------------------------------------------ which model the reverse view uses


def test_model_choice_and_schedule_mapping():
    store = toy2d.STORE
    store.clear()
    moons = toy2d.get_set("moons")
    cosine = ScheduleSpec("cosine", 1e-4, 0.02, 500)
    # no model for the panel's schedule: the shipped one, on its own schedule
    chosen = toy2d.model_for(moons, cosine)
    assert chosen is toy2d.shipped("moons") and chosen.spec == toy2d.TRAINED_SPEC
    assert toy2d.model_t(250, 500, chosen) == 500 and toy2d.model_t(500, 500, chosen) == 1000
    # a custom set has nothing to fall back on
    custom = toy2d.get_set("custom", "0, 0\n3, 1")
    with pytest.raises(ValueError, match="No model for this custom set yet"):
        toy2d.model_for(custom, cosine)
    trained = dataclasses.replace(chosen, spec=cosine, dataset_key=moons.key, uid=-1)
    store.put(trained)
    try:
        assert toy2d.model_for(moons, cosine) is trained
        assert toy2d.model_for(moons, SPEC) is toy2d.shipped("moons")
    finally:
        store.clear()


def test_reverse_run_states_and_cache():
    model = toy2d.shipped("rings")
    states = toy2d.reverse_run(model, seed=2, n=50)
    assert states.shape == (1001, 50, 2) and np.isfinite(states).all()
    # x_T is the seed's N(0, I) draw; the run is cached for the slider
    np.testing.assert_array_equal(
        states[-1], torch.randn((50, 2), generator=torch.Generator().manual_seed(2))
    )
    assert toy2d.reverse_run(model, seed=2, n=50) is states


# ------------------------------------------------------------------ figures and frames


def test_figures_draw():
    from diffusion_demo.media.plots import fig_to_image

    toy = toy2d.get_set("moons")
    model = toy2d.shipped("moons")
    states = toy2d.reverse_run(model, seed=2, n=50)
    ref = toy.reference()[:500]
    figs = [
        plots.cloud_figure(states[0], plots.point_colours(states[0]), "x", 3.0, ref),
        plots.trajectories_figure(toy2d.forward_paths(toy, SPEC, 0, 2), states[:, :3], 400, 100, ref, 3.0),
        plots.field_figure(*toy2d.eps_field(model, 20), ref, "field", 3.0),
        plots.message_figure("train first"),
    ]
    for fig in figs:
        img = fig_to_image(fig)
        assert img.size == (420, 420)
        assert np.asarray(img).std() > 5  # not blank
    traj = figs[1].axes[0]
    assert len(traj.lines) == 2 * 3 + 3 * 3  # each path: line, start and end markers


def test_frame_times_cover_the_process():
    ts = plots.frame_times(SPEC, 20)
    assert ts[0] == 0 and ts[-1] == 1000 and ts == sorted(set(ts))
    # evenly spaced in noise level: most frames come before alpha_bar becomes tiny (t ~ 600)
    assert sum(t < 400 for t in ts) > len(ts) / 2


def test_animation_frames_and_gif(tmp_path):
    frames = plots.animation_frames("rings", seed=0, n_frames=6, size=96)
    assert len(frames) >= 10 and all(f.size == (96, 96) and f.mode == "RGB" for f in frames)
    # forward ends where the reverse starts (noise), and both ends differ from it
    first, last = np.asarray(frames[0], float), np.asarray(frames[-1], float)
    assert np.abs(first - np.asarray(frames[len(frames) // 2], float)).mean() > 1
    gif = plots.save_gif(frames, tmp_path / "a.gif")
    with Image.open(gif) as im:
        assert im.n_frames == len(frames) and im.info["loop"] == 0
    assert last.shape == first.shape


def test_animation_of_an_untrained_custom_set_says_so():
    toy2d.STORE.clear()
    with pytest.raises(ValueError, match="No model for this custom set yet"):
        plots.animation_frames("custom", points="0, 0\n5, 5", train_if_missing=False)
    with pytest.raises(ValueError, match="size must be"):
        plots.animation_frames("moons", size=5000)
