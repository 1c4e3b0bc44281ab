"""The digit classifier that judges sample quality: shipped weights, loading, errors, training."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest
import torch

from diffusion_demo.config import CLASSIFIER
from diffusion_demo.models import classifier
from diffusion_demo.models.unet import CheckpointError


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection or resolve a name fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def shipped():
    return classifier.load()


@pytest.fixture(scope="module")
def heldout():
    from diffusion_demo.training.data import split

    _, held = split()
    return held


def test_shipped_classifier_loads_offline_and_reports_its_accuracy(no_network):
    clf = classifier.load()
    assert clf.accuracy >= 0.95
    meta = json.loads((classifier.DEFAULT_DIR / classifier.META_FILE).read_text())
    assert meta["train_digits"] == 4500 and meta["heldout_digits"] == 500


def test_shipped_classifier_is_accurate_and_confident_on_heldout_digits(shipped, heldout):
    x, y = heldout
    pred = shipped.predict(x)
    assert pred.probs.shape == (500, 10) and pred.features.shape == (500, CLASSIFIER.features)
    np.testing.assert_allclose(pred.probs.sum(1), 1.0, atol=1e-5)
    accuracy = float((pred.labels == y).mean())
    assert accuracy >= 0.95
    assert accuracy == pytest.approx(shipped.accuracy, abs=1e-3)  # the json tells the truth
    assert (pred.confidence >= 0.8).mean() >= 0.9


def test_predict_accepts_both_layouts_and_tensors(shipped, heldout):
    x = heldout[0][:7]
    a = shipped.predict(x).probs
    b = shipped.predict(x[:, None]).probs
    c = shipped.predict(torch.from_numpy(x)).probs
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(a, c)
    # batching does not change the answer
    np.testing.assert_allclose(shipped.predict(x, batch_size=2).probs, a, atol=1e-6)


@pytest.mark.parametrize("shape", [(4, 28), (4, 3, 28, 28), (4, 32, 32)])
def test_bad_shapes_are_refused_with_a_clear_message(shipped, shape):
    with pytest.raises(ValueError, match="shape"):
        shipped.predict(np.zeros(shape, np.float32))


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(1)
    clf = classifier.DigitClassifier(classifier.DigitCNN(), {"heldout_accuracy": 0.5})
    classifier.save(clf, tmp_path / "clf")
    back = classifier.load(tmp_path / "clf")
    x = np.random.default_rng(0).random((5, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(back.predict(x).probs, clf.predict(x).probs, atol=1e-6)
    assert back.accuracy == 0.5


def test_missing_classifier_says_how_to_rebuild(tmp_path):
    with pytest.raises(CheckpointError, match="missing.*python -m diffusion_demo classifier"):
        classifier.load(tmp_path / "nothing-here")


def test_corrupt_classifier_is_a_checkpoint_error(tmp_path):
    d = tmp_path / "clf"
    d.mkdir()
    (d / classifier.WEIGHTS_FILE).write_bytes(b"not a safetensors file")
    (d / classifier.META_FILE).write_text("{}")
    with pytest.raises(CheckpointError, match="could not be read"):
        classifier.load(d)
