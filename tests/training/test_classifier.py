"""Training the digit classifier (training/classifier.py)."""

from __future__ import annotations

import dataclasses

import pytest

from diffusion_demo.config import CLASSIFIER
from diffusion_demo.models import classifier
from diffusion_demo.training.classifier import train


@pytest.mark.slow
def test_one_epoch_of_training_already_recognises_digits(tmp_path):
    clf = train(dataclasses.replace(CLASSIFIER, epochs=1), progress=False)
    assert clf.meta["heldout_accuracy"] >= 0.85
    classifier.save(clf, tmp_path)
    assert classifier.load(tmp_path).accuracy == clf.meta["heldout_accuracy"]
