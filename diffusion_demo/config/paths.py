"""Where things are: the repository root and its assets/ folder."""

from __future__ import annotations

from pathlib import Path

# The repository root: assets/ lives next to the package.
ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "assets"
