"""Every character the app shows has a glyph in a plain system font (DejaVu / Liberation, what a
fresh Debian with Chromium has): no emoji, which without an emoji font render as empty boxes."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "diffusion_demo"
# Emoji blocks, the technical symbols (⏸, ⏳) and the dingbats, and the emoji variation selector.
EMOJI = re.compile("[\U0001f000-\U0001faff\u2300-\u23ff\u2600-\u27bf\ufe0f]")
# Symbols from those ranges that DejaVu Sans has: ⌘ ⚠ ✓ ✕ ❚.
IN_DEJAVU = set("\u2318\u26a0\u2713\u2715\u275a")


def test_no_character_needs_an_emoji_font():
    found = []
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in (".py", ".js", ".json", ".css", ".md"):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            bad = {c for c in EMOJI.findall(line) if c not in IN_DEJAVU}
            if bad:
                found.append(f"{path.relative_to(PACKAGE)}:{n}: {' '.join(sorted(bad))}")
    assert not found, "characters without a glyph in a plain font:\n" + "\n".join(found)
