"""Sample-quality metrics on inputs whose answer is known (the CLI: tests/cli/test_evaluate.py;
batched generation: tests/diffusion/test_many_samples.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from diffusion_demo.config import GUIDED_TARGETS
from diffusion_demo.models import classifier
from diffusion_demo.training import evaluate


@pytest.fixture(scope="module")
def clf():
    return classifier.load()


@pytest.fixture(scope="module")
def refs(clf):
    return evaluate.references(clf)


# --- Fréchet distance and nearest neighbours ------------------------------------------------


def test_frechet_distance_of_a_set_with_itself_is_zero():
    f = np.random.default_rng(0).normal(size=(300, 16))
    assert evaluate.frechet_distance(f, f) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_a_shifted_set_is_the_squared_shift():
    f = np.random.default_rng(1).normal(size=(200, 8))
    shift = np.arange(8) / 4
    assert evaluate.frechet_distance(f, f + shift) == pytest.approx(float(shift @ shift), rel=1e-8)


def test_frechet_distance_of_a_scaled_set_matches_the_closed_form():
    # b = 2a: S_b = 4 S_a, mu_b = 2 mu_a, so FD = |mu_a|² + tr S_a + 4 tr S_a - 2 tr(2 S_a) = |mu_a|² + tr S_a
    a = np.random.default_rng(2).normal(loc=0.5, size=(400, 12))
    mu, cov = a.mean(0), np.cov(a, rowvar=False)
    assert evaluate.frechet_distance(a, 2 * a) == pytest.approx(float(mu @ mu + np.trace(cov)), rel=1e-6)


def test_frechet_distance_refuses_mismatched_features():
    with pytest.raises(ValueError, match="feature arrays"):
        evaluate.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))


def test_nearest_neighbour_distances_on_known_points():
    ref = np.stack([np.zeros((28, 28)), np.ones((28, 28))]).astype(np.float32)
    x = np.stack([np.full((28, 28), 0.25), np.full((28, 28), 0.9), np.ones((28, 28))]).astype(np.float32)
    d = evaluate.nn_distances(x, ref, chunk=2)
    np.testing.assert_allclose(d, [0.25 * 28, 0.1 * 28, 0.0], atol=1e-3)


# --- score() on real digits, copies and noise ----------------------------------------------


def test_heldout_digits_pass_every_target(clf, refs):
    report = evaluate.score(refs.heldout, clf, refs)
    assert report.confident_fraction >= 0.9
    assert min(report.class_fractions) >= 0.04 and len(report.class_fractions) == 10
    assert report.nn_ratio == pytest.approx(1.0, abs=1e-6)  # they *are* the held-out digits
    assert report.fd_ratio == pytest.approx(1.0, abs=1e-6)
    assert report.fd_baseline > 0
    assert report.passed


def test_a_fresh_heldout_subset_is_close_to_the_baseline(clf, refs):
    # 250 held-out digits against the baseline of the other seeded 250: same distribution
    report = evaluate.score(refs.heldout[::2], clf, refs)
    assert 0.5 <= report.nn_ratio <= 1.5
    assert report.fd_ratio <= 2.0
    assert report.fd_n == 250


def test_pure_noise_fails(clf, refs):
    noise = np.random.default_rng(0).random((300, 28, 28)).astype(np.float32)
    report = evaluate.score(noise, clf, refs)
    checks = {c.name: c.passed for c in report.checks}
    assert not report.passed
    assert not checks["all 10 digits"]
    assert not checks["Frechet distance"] and report.fd_ratio > 10


def test_copies_of_training_digits_fail_the_copying_check(clf, refs):
    rng = np.random.default_rng(0)
    copies = refs.train[rng.choice(len(refs.train), 300, replace=False)]
    report = evaluate.score(copies, clf, refs)
    assert report.nn_median == pytest.approx(0.0, abs=1e-3)
    assert report.nn_ratio < 0.01
    assert not {c.name: c.passed for c in report.checks}["NN distance ratio"]
    # ... while they look exactly like digits: confident, balanced, low FD
    assert report.confident_fraction >= 0.9 and report.fd_ratio <= 3


def test_a_single_digit_class_fails_the_histogram(clf, refs):
    ones = refs.heldout[refs.heldout_labels == 1]
    report = evaluate.score(ones, clf, refs)
    assert report.class_fractions[1] >= 0.9
    assert not {c.name: c.passed for c in report.checks}["all 10 digits"]


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((10, 32, 32), np.float32), "shape"),
        (np.full((10, 28, 28), 2.0, np.float32), r"\[0, 1\]"),
        (np.full((10, 28, 28), np.nan, np.float32), "finite"),
    ],
)
def test_score_refuses_bad_samples(clf, refs, bad, message):
    with pytest.raises(ValueError, match=message):
        evaluate.score(bad, clf, refs)


def test_report_json(clf, refs):
    report = evaluate.score(refs.heldout[:100], clf, refs)
    d = report.to_dict()
    assert set(d["checks"]) == {c.name for c in report.checks}
    assert json.loads(json.dumps(d))["num_samples"] == 100


# --- training and steered samples ---------------------------------------------------------


@pytest.fixture
def without_mlxtend(monkeypatch):
    """As after `pip install -r requirements.txt` alone: the app's dependencies, no mlxtend."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else real(name, *a)
    )


def test_train_without_mlxtend_says_what_to_install(without_mlxtend, tmp_path, capsys):
    from diffusion_demo.cli import train

    with pytest.raises(SystemExit) as exit_:
        train.main(["--out", str(tmp_path / "ckpt"), "--steps", "1", "--tiny"])
    assert exit_.value.code == 2
    assert "pip install -r requirements-dev.txt" in capsys.readouterr().err
    assert not (tmp_path / "ckpt").exists()


def test_steered_samples_are_scored_per_digit_asked(clf, refs):
    right = evaluate.score(refs.heldout, clf, refs, GUIDED_TARGETS, labels=refs.heldout_labels)
    assert right.label_accuracy == pytest.approx(
        float((clf.predict(refs.heldout).labels == refs.heldout_labels).mean())
    )
    assert len(right.label_accuracy_per_digit) == 10 and min(right.label_accuracy_per_digit) > 0.8
    wrong = evaluate.score(refs.heldout, clf, refs, GUIDED_TARGETS, labels=(refs.heldout_labels + 1) % 10)
    assert wrong.label_accuracy < 0.05
    check = {c.name: c.passed for c in wrong.checks}
    assert check["read as the digit asked"] is False and not wrong.passed
    only_sevens = evaluate.score(refs.heldout, clf, refs, labels=np.full(len(refs.heldout), 7))
    assert only_sevens.label_accuracy_per_digit[:7] == [None] * 7
