"""The repository as it stands deploys as a Hugging Face Space: its configuration is the
README's front matter, its files fit the Hub's limits, the app needs nothing from outside."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import gradio
import pytest

ROOT = Path(__file__).resolve().parent.parent
HUB_FILE_LIMIT = 10 * 2**20  # larger files need git-xet / LFS on the Hub


def front_matter() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with the Space's YAML front matter"
    pairs = (line.split(":", 1) for line in match[1].splitlines() if ":" in line)
    return {k.strip(): v.strip().strip('"') for k, v in pairs}


def pins() -> dict[str, str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return dict(line.split("==", 1) for line in lines if "==" in line and not line.startswith("#"))


def test_front_matter_configures_a_gradio_space():
    fm = front_matter()
    assert fm["sdk"] == "gradio"
    assert fm["app_file"] == "app.py" and (ROOT / fm["app_file"]).is_file()
    assert fm["python_version"] == "3.11"  # diffusers needs >= 3.11; Spaces default to 3.10
    assert fm["suggested_hardware"] == "cpu-basic"
    assert fm["title"] and fm["emoji"]
    assert 0 < len(fm["short_description"]) <= 60  # the Hub's limit


def test_gradio_version_is_the_same_everywhere():
    """Spaces install gradio from sdk_version, the rest from requirements.txt: one version."""
    assert front_matter()["sdk_version"] == pins()["gradio"] == gradio.__version__
    assert pins()["torch"] == "2.13.0"


def test_no_tracked_file_needs_lfs():
    try:
        files = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
        ).stdout.split(b"\0")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    big = [f.decode() for f in files if f and (ROOT / f.decode()).stat().st_size > HUB_FILE_LIMIT]
    assert not big, f"over 10 MB (the Hub needs LFS for these): {big}"


def test_the_shipped_model_is_in_the_repository():
    weights = ROOT / "assets" / "ddpm-digits" / "unet" / "diffusion_pytorch_model.safetensors"
    assert weights.is_file() and weights.stat().st_size < HUB_FILE_LIMIT
    assert (ROOT / "assets" / "ddpm-digits" / "scheduler" / "scheduler_config.json").is_file()
