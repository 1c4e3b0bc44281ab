"""Image helpers: resizing, tensor conversion, display helpers and the shipped examples.

(load_image against broken and unusual uploads is covered by tests/media/test_uploads.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from diffusion_demo.config import IMAGES
from diffusion_demo.media import images
from diffusion_demo.training.data import split


@pytest.mark.parametrize(
    ("size", "expected"),
    [((384, 256), (256, 171)), ((256, 384), (171, 256)), ((28, 28), (256, 256)), ((20000, 20), (256, 1))],
)
def test_fit_keeps_the_aspect_and_sets_the_longer_side(size, expected):
    out = images.fit(Image.new("RGB", size, (10, 20, 30)))
    assert out.size == expected
    assert max(out.size) == IMAGES.work_size
    assert min(out.size) >= 1


def test_fit_custom_size_and_mode_kept():
    out = images.fit(Image.new("L", (100, 50), 7), 96)
    assert out.size == (96, 48) and out.mode == "L"


def test_to_tensor_range_shape_and_round_trip():
    a = np.arange(256, dtype=np.uint8).reshape(16, 16)
    rgb = np.stack([a, 255 - a, np.full_like(a, 128)], -1)
    for img, channels in ((Image.fromarray(a, "L"), 1), (Image.fromarray(rgb, "RGB"), 3)):
        x = images.to_tensor(img)
        assert x.shape == (channels, 16, 16) and x.dtype == torch.float32
        assert float(x.min()) == -1.0 and float(x.max()) == 1.0
        assert np.array_equal(np.asarray(images.to_pil(x)), np.asarray(img))


def test_to_uint8_clips_out_of_range_values():
    x = torch.tensor([[[-3.0, -1.0, 0.0, 1.0, 5.0]]])
    assert images.to_uint8(x).tolist() == [[0, 0, 128, 255, 255]]


def test_to_pil_upscales_with_visible_pixels():
    x = torch.tensor([[[-1.0, 1.0]]])
    img = images.to_pil(x, width=8)
    assert img.size == (8, 4)
    a = np.asarray(img)
    assert (a[:, :4] == 0).all() and (a[:, 4:] == 255).all()


def test_noise_to_pil_maps_three_sigma_to_black_and_white():
    eps = torch.tensor([[[-3.0, 0.0, 3.0, 6.0]]])
    assert np.asarray(images.noise_to_pil(eps)).tolist() == [[0, 128, 255, 255]]


def test_grid_and_strip_shapes():
    batch = torch.zeros(5, 1, 4, 6)
    g = images.grid(batch, pad=1)
    assert g.shape == (1, 2 * 5 + 1, 3 * 7 + 1)
    assert float(g[0, 0, 0]) == -1.0  # padding is black
    s = images.strip([torch.zeros(3, 4, 4)] * 3, pad=2)
    assert s.shape == (3, 4, 3 * 4 + 2 * 2) and float(s[0, 0, 4]) == 1.0  # white gaps


def test_shipped_examples_digits_first_and_loadable():
    ex = images.examples()
    names = list(ex)
    assert [n for n in names if n.startswith("digit-")] == names[:4], names
    assert {"digit-3", "photo-landscape", "photo-shapes", "photo-flower"} <= set(names)
    for name, path in ex.items():
        img = images.load_image(path)
        if name.startswith("digit-"):
            assert img.mode == "L" and img.size == (28, 28)
            a = np.asarray(img)
            assert a[0].max() < 64 and a.max() > 200, "white strokes on black, like MNIST"
        else:
            assert img.mode == "RGB" and img.size == (384, 256)
            assert np.asarray(img).std() > 20, "a photo, not a flat colour"


def test_example_digits_turn_into_model_inputs_unchanged():
    """A shipped digit goes through to_digit as itself (already white on black, 28×28)."""
    img = images.load_image(images.examples()["digit-7"])
    x = images.to_digit(img)
    assert x.shape == (1, 28, 28)
    assert torch.allclose(x, images.to_tensor(img), atol=1e-6)


def test_a_28x28_upload_is_taken_as_it_is():
    """Held-out MNIST digits (never trained on) uploaded at 28×28: the model's input is their
    own pixels, exactly (no fit to 256 px and back, which blurred them); other sizes are fitted."""
    (_, _), (held_out, _) = split()
    for a in held_out[:20]:
        digit = (a * 255).round().astype(np.uint8)
        x, how = images.upload_digit(Image.fromarray(digit), 28)
        assert how == "used as it is, 28×28"
        assert np.array_equal(images.to_uint8(x), digit)
    dark_on_light = Image.fromarray(255 - (held_out[0] * 255).round().astype(np.uint8))
    x, how = images.upload_digit(dark_on_light, 28)
    assert how == "used as it is, 28×28, light background inverted"
    assert np.array_equal(images.to_uint8(x), (held_out[0] * 255).round().astype(np.uint8))
    x, how = images.upload_digit(Image.new("L", (56, 40), 0), 28)
    assert x.shape == (1, 28, 28) and how == "56×40, fitted to 28×28"
