"""What the forward tab shows, without Gradio: the examples, the source image (an upload or
an example) with its checks and its content cache. (Moved from tests/ui/tabs/test_forward_api.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from diffusion_demo.config import FORWARD_TAB, IMAGES
from diffusion_demo.media import forward_views
from tests.media.forward_inputs import assert_clean, write_bad_uploads, write_photo


@pytest.fixture(scope="module")
def bad_uploads(tmp_path_factory) -> dict[str, Path]:
    return write_bad_uploads(tmp_path_factory.mktemp("bad-uploads"))


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    return write_photo(tmp_path_factory.mktemp("photo"))


def test_examples_are_offered_and_the_default_exists():
    names = forward_views.example_names()
    assert FORWARD_TAB.example in names
    assert any(n.startswith("digit-") for n in names) and any(n.startswith("photo-") for n in names)


def test_resolve_source_example_and_upload(photo):
    src = forward_views.resolve_source(None, "digit-3")
    assert src.x0.shape == (1, IMAGES.work_size, IMAGES.work_size)
    assert float(src.x0.min()) >= -1 and float(src.x0.max()) <= 1
    assert forward_views.resolve_source(None, None).key == ("example", FORWARD_TAB.example)
    up = forward_views.resolve_source(str(photo), "digit-3")  # an upload wins over the example
    assert up.image.size == (256, 85) and up.x0.shape == (3, 85, 256)
    assert "600×200" in up.info and photo.name in up.info
    assert forward_views.resolve_source(str(photo)) is up  # cached: drags do not reload


def test_resolve_source_refuses_bad_input(bad_uploads):
    with pytest.raises(ValueError, match="expected one of digit-3"):
        forward_views.resolve_source(None, "cat")
    with pytest.raises(ValueError, match="No image file"):
        forward_views.resolve_source("/nonexistent/x.png")
    for name, words in {
        "notes.txt": ("not an image",),
        "fake.png": ("not an image",),
        "empty.png": ("empty",),
        "zero-px.png": ("no pixels", "damaged", "not an image"),  # PIL refuses 0-px headers itself
        "huge.png": ("limit",),
    }.items():
        with pytest.raises(ValueError) as info:
            forward_views.resolve_source(str(bad_uploads[name]))
        assert any(w in str(info.value) for w in words), str(info.value)
        assert_clean(str(info.value))


def test_the_same_upload_again_is_not_decoded_again(tmp_path):
    """API clients upload the image with every call: the source is cached by content."""
    img = Image.fromarray(np.random.default_rng(3).integers(0, 255, (64, 48, 3), dtype=np.uint8))
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    img.save(a)
    img.save(b)
    assert forward_views.resolve_source(str(a)) is forward_views.resolve_source(str(b))
    img.rotate(90, expand=True).save(b)  # other content at the same path
    assert forward_views.resolve_source(str(b)) is not forward_views.resolve_source(str(a))
    assert forward_views.resolve_source(str(b)).x0.shape != forward_views.resolve_source(str(a)).x0.shape
