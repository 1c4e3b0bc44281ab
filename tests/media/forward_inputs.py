"""Inputs shared by the forward-view and forward-tab tests: broken uploads, a wide photo,
and the check that an error message leaks nothing of the server."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

LEAK = re.compile(r"Traceback|File \"|/tmp/|site-packages|\.py\b", re.IGNORECASE)


def assert_clean(message: str) -> None:
    assert message.strip(), "empty message"
    assert not LEAK.search(message), f"message leaks internals: {message!r}"


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height (8-bit gray) with almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def write_bad_uploads(d: Path) -> dict[str, Path]:
    """Text, a fake PNG, an empty file, a 0-px header and a decompression bomb, in folder d."""
    files = {
        "notes.txt": b"not an image at all\n" * 10,
        "fake.png": b"This is text pretending to be a PNG.\n" * 10,
        "empty.png": b"",
        "zero-px.png": png_header_only(0, 16),
        "huge.png": png_header_only(30_000, 30_000),
    }
    for name, data in files.items():
        (d / name).write_bytes(data)
    return {name: d / name for name in files}


def write_photo(d: Path) -> Path:
    """A 600×200 RGB gradient JPEG (a name with a space) in folder d."""
    path = d / "wide photo.jpg"
    a = np.linspace(0, 255, 600 * 200 * 3).reshape(200, 600, 3).astype(np.uint8)
    Image.fromarray(a, "RGB").save(path, quality=92)
    return path
