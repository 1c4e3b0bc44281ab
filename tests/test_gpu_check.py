"""benchmarks/gpu_check.py, the one command for a CUDA machine: without CUDA it checks its
arguments, says so and exits 0 (with one JSON line), so that it can be run anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU: the check would run")
def test_without_cuda_it_says_so_and_exits_0():
    out = run("--clients", "6", "--budget", "120")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "no CUDA GPU here" in out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"cuda": False, "torch": torch.__version__}


@pytest.mark.parametrize(
    "argv",
    [
        ["--clients", "0"],
        ["--clients", "65"],
        ["--budget", "5"],
        ["--spread", "-1"],
        ["--checkpoint", "/nowhere"],
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(argv):
    out = run(*argv)
    assert out.returncode == 2
    assert "usage:" in out.stderr and argv[0] in out.stderr
    assert out.stdout == ""
