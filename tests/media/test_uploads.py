"""images.load_image against a generated corpus of broken and unusual uploads."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from diffusion_demo.media import images
from tests.e2e import bad_files
from tests.e2e.helpers import assert_clean_message

REFUSED = bad_files.refused()
ACCEPTED = bad_files.accepted()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return bad_files.write(tmp_path_factory.mktemp("uploads"), REFUSED + ACCEPTED)


@pytest.mark.parametrize("upload", REFUSED, ids=[u.name for u in REFUSED])
def test_broken_uploads_are_refused_with_a_clear_message(corpus, upload):
    with pytest.raises(ValueError) as info:
        images.load_image(corpus[upload.name])
    message = str(info.value)
    assert_clean_message(message)
    assert upload.name in message  # names the user's file, not a server path
    assert str(corpus[upload.name].parent) not in message
    assert any(w in message.lower() for w in upload.expect_words), message


@pytest.mark.parametrize("upload", ACCEPTED, ids=[u.name for u in ACCEPTED])
def test_odd_but_valid_images_are_accepted_and_converted(corpus, upload):
    img = images.load_image(corpus[upload.name])
    assert img.mode in ("RGB", "L")
    assert img.size == upload.size
    # The rest of the pipeline takes it: fit to the working size, to a tensor in [-1, 1].
    x = images.to_tensor(images.fit(img))
    assert x.dtype.is_floating_point and x.ndim == 3
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    digit = images.to_digit(img)
    assert tuple(digit.shape) == (1, 28, 28)


def test_16_bit_keeps_its_contrast(corpus):
    a = np.asarray(images.load_image(corpus["gray16.png"]))
    assert a.dtype == np.uint8 and a.min() == 0 and a.max() == 255


def test_transparent_pixels_become_white(corpus):
    a = np.asarray(images.load_image(corpus["rgba.png"]))
    assert (a[:, :32] == 255).all()  # fully transparent half
    assert not (a[:, 32:] == 255).all()  # opaque half keeps the gradient


def test_cmyk_and_palette_keep_their_colours(corpus):
    ref = np.asarray(bad_files._gradient(), dtype=float)
    for name, tolerance in (("cmyk.jpg", 40), ("palette.png", 40)):
        a = np.asarray(images.load_image(corpus[name]).convert("RGB"), dtype=float)
        assert np.abs(a - ref).mean() < tolerance, name


def test_animated_gif_gives_its_first_frame(corpus):
    img = images.load_image(corpus["animated.gif"]).convert("RGB")
    assert img.getpixel((0, 0)) == (10, 245, 5)  # palette entry 10 of frame 0


def test_exif_rotation_is_applied(corpus):
    assert images.load_image(corpus["rotated.jpg"]).size == (48, 64)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match="No image file"):
        images.load_image(tmp_path / "gone.png")


def test_pixel_limit_is_checked_before_decoding(tmp_path):
    """A header claiming more than max_pixels is refused without allocating it."""
    path = tmp_path / "bomb.png"
    path.write_bytes(bad_files.png_claiming(20_000, 20_000))
    with pytest.raises(ValueError, match="limit"):
        images.load_image(path)
    # PIL's own guard stays armed too (decoding elsewhere cannot be bombed either).
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS <= 10 * images.IMAGES.max_pixels
