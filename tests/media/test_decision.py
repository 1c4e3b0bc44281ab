"""The decision strip's pieces: a digit found in a grid, the step where the reading settles,
the real classifier's reading of real digits, and the picture."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffusion_demo.media import decision, images
from diffusion_demo.training import data


@pytest.mark.parametrize("n", [1, 4, 10, 16])
def test_grid_cell_finds_each_digit_of_a_grid(n):
    digits = torch.rand(n, 1, 28, 28) * 2 - 1
    grid = images.to_uint8(images.grid(digits))
    for k in range(n):
        np.testing.assert_array_equal(decision.grid_cell(grid, n, k), images.to_uint8(digits[k]))


@pytest.mark.parametrize(
    ("labels", "at"),
    [([3, 3, 3], 0), ([1, 7, 3, 3], 2), ([3, 5, 3], 2), ([4], 0), ([3, 3, 8], 2)],
)
def test_decided_at_is_where_the_reading_stops_changing(labels, at):
    assert decision.decided_at(np.array(labels)) == at


@pytest.fixture(scope="module")
def clf():
    found = decision.shipped_classifier()
    assert not isinstance(found, str), found
    return found


def heldout(digit: int, count: int = 1) -> list[np.ndarray]:
    (_, _), (x, y) = data.split()
    return [(x[i] * 255).round().astype(np.uint8) for i in np.nonzero(y == digit)[0][:count]]


def test_a_chain_that_turns_a_3_into_a_7_is_read_so(clf):
    three, seven = heldout(3)[0], heldout(7)[0]
    # four steps of a 3 fading into a 7: the reading ends on 7, from the first step it is 7
    frames = [three, three, ((three.astype(int) + seven) // 2).astype(np.uint8), seven, seven]
    r = decision.readings(frames, [1, 2, 3, 4, 5], [900, 700, 500, 300, 1], clf)
    assert r.probs.shape == (5, 10) and np.allclose(r.probs.sum(axis=1), 1, atol=1e-5)
    assert r.labels[0] == 3 and r.labels[-1] == 7
    k = decision.decided_at(r.labels)
    assert k in (2, 3) and all(r.labels[k:] == 7)
    text = decision.summary(r, "The way back", reference=3)
    assert "**7**" in text and f"from step {k + 1} (t = {r.ts[k]})" in text and "another digit" in text
    same = decision.summary(r, "The way back", reference=7)
    assert "kept its identity" in same


def test_the_strip_marks_the_decision_the_cursor_and_the_reference(clf):
    three, seven = heldout(3)[0], heldout(7)[0]
    r = decision.readings([three] * 6 + [seven] * 6, list(range(1, 13)), list(range(12, 0, -1)), clf)
    plain = np.asarray(decision.strip_image(r, "t").convert("RGB")).astype(int)
    boxed = np.asarray(decision.strip_image(r, "t", cursor=2, reference=3).convert("RGB")).astype(int)
    assert plain.shape == boxed.shape and plain.shape[2] == 3
    # the red decision line is drawn (C44E52) and the cursor/reference change the picture
    red = (abs(plain[..., 0] - 0xC4) < 8) & (abs(plain[..., 1] - 0x4E) < 8) & (abs(plain[..., 2] - 0x52) < 8)
    assert red.sum() > 50
    assert (plain != boxed).any(axis=2).sum() > 50
