"""A drawn sketch or a painted mask, read like MNIST (media/sketch.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from diffusion_demo.diffusion.inpaint import preset_mask
from diffusion_demo.media import sketch


def test_a_mask_of_another_shape_is_refused():
    with pytest.raises(ValueError, match=r"300×200 pixels; expected a square image"):
        sketch.mask_from_image(Image.new("L", (300, 200)))


def test_a_painted_mask_is_averaged_down_and_thresholded():
    img = np.zeros((280, 280, 4), np.uint8)
    img[:140, :, :] = 255  # the top half painted white (opaque); the rest transparent
    m = sketch.mask_from_image(Image.fromarray(img, "RGBA"))
    torch.testing.assert_close(m, preset_mask("top"))


# --- the sketch: MNIST's own preprocessing ---------------------------------------------------


def stroke_canvas(size=(300, 400)) -> np.ndarray:
    c = np.zeros(size, np.uint8)
    c[30:250, 200:230] = 255  # a tall stroke, off centre
    c[30:60, 150:230] = 255
    return c


def test_sketch_is_centred_by_mass_and_fits_20_by_20():
    d = sketch.sketch_to_digit(stroke_canvas())
    assert d.shape == (28, 28) and d.dtype == np.float32 and 0 <= d.min() and d.max() <= 1
    cy, cx = sketch.centre_of_mass(d)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    rows, cols = np.flatnonzero(d.any(1)), np.flatnonzero(d.any(0))
    assert rows[-1] - rows[0] + 1 <= 20 and cols[-1] - cols[0] + 1 <= 20
    assert rows[-1] - rows[0] + 1 == 20  # the longer side fills the box
    assert 0 < ((d > 0) & (d < 1)).sum()  # anti-aliased: grey edges


def test_transparent_canvas_counts_as_black():
    rgba = np.zeros((300, 300, 4), np.uint8)
    rgba[50:250, 140:160] = 255  # opaque white strokes on a transparent background
    d = sketch.sketch_to_digit(rgba)
    assert d.max() == pytest.approx(1.0) and d[0, 0] == 0


@pytest.mark.parametrize(
    ("canvas", "message"),
    [
        (np.zeros((300, 300), np.uint8), "The canvas is empty"),
        (np.full((300, 300), 255, np.uint8), "The canvas is 100% white"),
        (np.pad(np.full((4, 4), 255, np.uint8), 148), r"spans only 1% of the canvas \(a dot\?\)"),
        (np.zeros((20, 300), np.uint8), "The canvas is 300×20 pixels; expected at least 28×28"),
    ],
)
def test_unusable_canvases_are_refused_with_the_reason(canvas, message):
    with pytest.raises(ValueError, match=message):
        sketch.sketch_to_digit(canvas)


def test_editor_values_give_the_composite():
    c = stroke_canvas()
    assert sketch.editor_canvas(None) is None
    assert sketch.editor_canvas({"background": None, "layers": [], "composite": None}) is None
    np.testing.assert_array_equal(sketch.editor_canvas({"composite": c}), c)


def _drawn(digit: str, brush: int) -> np.ndarray:
    """A digit drawn as a mouse would on the 280×280 canvas, with a round brush."""
    from PIL import ImageDraw

    strokes = {
        "0": [[(140 + 60 * np.cos(a), 140 + 95 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 40)]],
        "1": [[(140, 45), (140, 235)]],
        "7": [[(85, 50), (200, 50), (120, 240)]],
    }[digit]
    img = Image.new("L", (280, 280))
    draw = ImageDraw.Draw(img)
    for line in strokes:
        draw.line([tuple(map(float, p)) for p in line], fill=255, width=brush, joint="curve")
    return np.asarray(img)


@pytest.mark.parametrize("digit", ["0", "1", "7"])
def test_the_default_brush_draws_strokes_as_thick_as_mnists(digit):
    """A digit drawn across the canvas with the sketchpads' brush (its radius is Gradio's
    default_size) has about as much ink as the MNIST digits of its class (within their
    10th-90th percentile); strokes half as wide fall below the 10th percentile."""
    from diffusion_demo.config import SKETCH
    from diffusion_demo.training import data

    (x, y), _ = data.split()
    lo, hi = np.percentile(x[y == int(digit)].reshape(-1, 784).sum(axis=1), [10, 90])
    assert lo <= sketch.sketch_to_digit(_drawn(digit, 2 * SKETCH.brush_radius)).sum() <= hi
    assert sketch.sketch_to_digit(_drawn(digit, SKETCH.brush_radius)).sum() < lo
