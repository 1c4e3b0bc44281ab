""".ci/run: runs the README's test command, fails on any failure (pytest's exit 5 too).

The script is run for real with `pip`, `ruff`, `python` and `apt-get` replaced by stubs
that log their arguments, so these tests take milliseconds and install nothing.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from .helpers import ROOT

CI = ROOT / ".ci" / "run"
README = ROOT / "README.md"


def ci_var(name: str) -> str:
    match = re.search(rf'^{name}="([^"]+)"$', CI.read_text(), re.M)
    assert match, f"{name} not set in .ci/run"
    return match.group(1)


def test_ci_script_is_executable_strict_bash():
    assert CI.stat().st_mode & stat.S_IXUSR
    text = CI.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    subprocess.run(["bash", "-n", str(CI)], check=True)


def test_ci_runs_the_readme_command():
    assert ci_var("TEST_COMMAND") == "python -m pytest -q"
    assert ci_var("INSTALL_COMMAND") == "pip install -r requirements-dev.txt"
    if not README.exists():
        pytest.skip("README.md not written yet")
    command = f"{ci_var('INSTALL_COMMAND')} && {ci_var('TEST_COMMAND')}"
    assert command in README.read_text(), f"README.md must give the CI's test command: {command}"


def run_ci(tmp_path: Path, **rcs: int) -> tuple[int, list[str]]:
    """Run .ci/run with stub tools; rcs sets each stub's exit code (pip=, ruff=, pytest=)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("pip", "ruff", "python", "apt-get"):
        key = "pytest" if tool == "python" else tool
        stub = bin_dir / tool
        stub.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\nexit {rcs.get(key.replace("-", "_"), 0)}\n')
        stub.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([str(CI)], env=env, capture_output=True, text=True, timeout=60)
    calls = log.read_text().splitlines() if log.exists() else []
    return out.returncode, calls


def test_ci_steps_in_order(tmp_path):
    rc, calls = run_ci(tmp_path)
    assert rc == 0
    expected = [
        "pip install -r requirements-dev.txt",
        "ruff check .",
        "ruff format --check .",
        "python -m pytest -q",
    ]
    if not os.path.exists("/usr/bin/chromium"):
        assert calls[:2] == ["apt-get update", "apt-get install -y chromium"]
        calls = calls[2:]
    assert calls == expected


@pytest.mark.parametrize("pytest_rc", [1, 2, 5])
def test_ci_fails_when_tests_fail_or_none_are_collected(tmp_path, pytest_rc):
    rc, calls = run_ci(tmp_path, pytest=pytest_rc)
    assert rc == pytest_rc
    assert calls[-1] == "python -m pytest -q"


def test_ci_stops_a_hung_test_run(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("pip", "ruff", "apt-get"):
        (bin_dir / tool).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / tool).chmod(0o755)
    (bin_dir / "python").write_text("#!/bin/sh\nsleep 60\n")
    (bin_dir / "python").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "CI_TEST_TIMEOUT": "2"}
    out = subprocess.run([str(CI)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 124
    assert "stopped" in out.stderr


@pytest.mark.parametrize("tool", ["pip", "ruff"])
def test_ci_stops_before_the_tests_when_a_step_fails(tmp_path, tool):
    rc, calls = run_ci(tmp_path, **{tool: 1})
    assert rc != 0
    assert "python -m pytest -q" not in calls
