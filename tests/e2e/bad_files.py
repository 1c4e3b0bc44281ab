"""Upload corpus generated at test time: broken files that must be refused cleanly, and
valid-but-odd images that must be accepted and converted.

Each entry is written into a folder by `write_corpus(folder)`; nothing binary is checked in.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Upload:
    name: str  # file name (its suffix is what the browser would send)
    data: bytes
    # For refused files: words one of which the message must contain (lower case).
    expect_words: tuple[str, ...] = ()
    # For accepted files: the size load_image must return (exif rotation aside).
    size: tuple[int, int] | None = None


def _png(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def _jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


def _gradient(w: int = 64, h: int = 48) -> Image.Image:
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([x * 255 // max(1, w - 1), y * 255 // max(1, h - 1), (x + y) % 256], -1)
    return Image.fromarray(a.astype(np.uint8), "RGB")


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width×height 8-bit gray pixels: a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    # A few rows of zeros compress to almost nothing; a decoder would have to allocate it all.
    idat = zlib.compress(b"\x00" * (width + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def refused() -> list[Upload]:
    """Files load_image must refuse with a clear ValueError."""
    png = _png(_gradient())
    jpg = _jpeg(_gradient(256, 256))
    rng = np.random.default_rng(0)
    garbage = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    damaged = ("damaged", "truncated", "decoded", "not an image")
    return [
        Upload("empty.png", b"", ("empty", "0 bytes")),
        Upload("notes.png", b"These are my notes, not a picture.\n" * 20, ("not an image",)),
        Upload("truncated.png", png[: len(png) // 2], damaged),
        Upload("corrupt.png", png[:40] + garbage, damaged),
        Upload("truncated.jpg", jpg[: len(jpg) // 2], damaged),
        Upload("corrupt.jpg", jpg[:200] + garbage, damaged),
        Upload("random.jpg", garbage, ("not an image",)),
        Upload(
            "drawing.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
            b'<rect width="10" height="10" fill="red"/></svg>',
            ("not an image",),
        ),
        Upload("bomb.png", png_claiming(100_000, 100_000), ("too large", "limit", "pixels")),
        Upload("tall-bomb.png", png_claiming(1, 2**31 - 1), ("too large", "limit", "pixels")),
    ]


def accepted() -> list[Upload]:
    """Valid but unusual images: load_image must return an RGB or L image of the same size."""
    grad = _gradient()
    gray16 = Image.fromarray((np.arange(64 * 48).reshape(48, 64) * 21).astype(np.uint16))
    rgba = grad.convert("RGBA")
    alpha = np.zeros((48, 64), np.uint8)
    alpha[:, 32:] = 255  # left half transparent
    rgba.putalpha(Image.fromarray(alpha))
    frames = [Image.new("P", (40, 30), i) for i in (10, 200)]
    for f in frames:
        f.putpalette([v for i in range(256) for v in (i, 255 - i, i // 2)])
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° on display
    return [
        Upload("gray16.png", _png(gray16), size=(64, 48)),
        Upload("cmyk.jpg", _jpeg(grad.convert("CMYK")), size=(64, 48)),
        Upload("palette.png", _png(grad.quantize(16)), size=(64, 48)),
        Upload("rgba.png", _png(rgba), size=(64, 48)),
        Upload("la.png", _png(grad.convert("LA")), size=(64, 48)),
        Upload("bilevel.png", _png(grad.convert("1")), size=(64, 48)),
        Upload("animated.gif", gif.getvalue(), size=(40, 30)),
        Upload("one-pixel.png", _png(Image.new("RGB", (1, 1), (200, 10, 10))), size=(1, 1)),
        Upload("wide.png", _png(Image.new("L", (20000, 20), 128)), size=(20000, 20)),
        Upload("photo.webp", _webp(grad), size=(64, 48)),
        Upload("rotated.jpg", _jpeg(grad, exif=exif.tobytes()), size=(48, 64)),
    ]


def _webp(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "WEBP", quality=90)
    return buf.getvalue()


def oversized(limit_bytes: int) -> Upload:
    """A valid PNG just over the upload limit in bytes (incompressible noise)."""
    rng = np.random.default_rng(1)
    side = int((limit_bytes * 1.2 / 3) ** 0.5) + 1
    img = Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8), "RGB")
    data = _png(img, compress_level=1)
    assert len(data) > limit_bytes
    return Upload("big-photo.png", data, ("too large", "413", "size", "limit"))


def write(folder: Path, uploads: list[Upload]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for u in uploads:
        path = folder / u.name
        path.write_bytes(u.data)
        out[u.name] = path
    return out
