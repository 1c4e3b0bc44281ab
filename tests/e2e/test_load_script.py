"""benchmarks/load.py stays runnable: a few seconds of load against the test app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import benchmark_script

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def load():
    return benchmark_script("load")


def test_load_script_runs_against_the_app(load, app, endpoints, capsys):
    if not {"/forward", "/reverse"} <= set(endpoints):
        pytest.skip("/forward or /reverse has not landed yet")
    argv = ["--url", app.url, "--pid", str(app.proc.pid), "--clients", "2", "--duration", "4"]
    summary = load.main([*argv, "--steps", "2", "--samples", "1", "--reverse-share", "0.5"])
    assert summary["completed"] > 0
    assert summary["errors"] == 0, capsys.readouterr().out
    assert summary["rss_mb_start"] > 0 and summary["rss_mb_end"] > 0
    # CPU seconds per process: the app served the calls, the clients made them
    assert set(summary["cpu_s"]) == {"app", "worker", "clients"}
    assert summary["cpu_s"]["app"] > 0 and summary["cpu_s"]["clients"] > 0
    assert summary["duration_s"] < 60  # it stops by itself
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last)["completed"] == summary["completed"]
    assert app.answers()


@pytest.mark.parametrize(
    "argv",
    [
        ["--url", "http://10.1.2.3:7860/"],
        ["--url", "http://example.com/"],
        ["--clients", "17"],
        ["--clients", "0"],
        ["--duration", "601"],
    ],
)
def test_load_script_refuses_non_loopback_and_unbounded_runs(load, argv):
    with pytest.raises(SystemExit) as info:
        load.main(argv)
    assert info.value.code == 2


@pytest.mark.parametrize(
    "script",
    [
        "classroom.py",
        "solo.py",
        "load.py",
        "bench.py",
        "inpaint_bench.py",
        "rows.py",
        "pageload.py",
        "gpu_check.py",
    ],
)
def test_every_benchmark_script_parses_its_options(script):
    """`--help` of each script (a duplicated option once broke classroom.py at start-up)."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / script
    out = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "usage:" in out.stdout
