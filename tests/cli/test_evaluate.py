"""`python -m diffusion_demo evaluate`: the report table, the JSON line, exit codes, the sweep."""

from __future__ import annotations

import json

import numpy as np
import pytest

from diffusion_demo.cli import evaluate as cli_evaluate
from diffusion_demo.cli.main import main
from diffusion_demo.config import EVAL, GUIDED_TARGETS, TARGETS, UNCONDITIONAL_TARGETS
from diffusion_demo.models import classifier
from diffusion_demo.training import evaluate


@pytest.fixture(scope="module")
def clf():
    return classifier.load()


@pytest.fixture(scope="module")
def refs(clf):
    return evaluate.references(clf)


def test_report_table(clf, refs):
    report = evaluate.score(refs.heldout[:100], clf, refs)
    table = cli_evaluate.format_report(report, "title")
    assert table.count("PASS") + table.count("FAIL") == 5  # four targets and the overall line


@pytest.mark.slow  # seconds of work: not in the fast tier
def test_evaluate_cli_scores_a_npy_and_prints_one_json_line(tmp_path, refs, capsys):
    path = tmp_path / "held.npy"
    np.save(path, refs.heldout)
    assert main(["evaluate", "--samples", str(path), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    line = [ln for ln in out.splitlines() if ln.startswith("{")]
    assert len(line) == 1
    result = json.loads(line[0])
    assert result["passed"] and result["num_samples"] == 500 and result["nn_ratio"] == 1.0
    assert "PASS  confident" in out
    assert json.loads((tmp_path / "r.json").read_text()) == result


@pytest.mark.slow  # seconds of work: not in the fast tier
def test_evaluate_cli_strict_exit_code_and_bad_input(tmp_path, capsys):
    noise = tmp_path / "noise.npy"
    np.save(noise, np.random.default_rng(0).random((50, 28, 28)).astype(np.float32))
    assert main(["evaluate", "--samples", str(noise), "--strict"]) == 1
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--samples", str(tmp_path / "missing.npy")])
    assert exc.value.code == 2 and "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--samples", str(tmp_path / "x.png")])
    assert exc.value.code == 2 and "expected one of .npy" in capsys.readouterr().err


@pytest.mark.slow  # seconds of work: not in the fast tier
def test_evaluate_cli_generates_with_a_checkpoint(tiny_checkpoint, tmp_path, capsys):
    saved = tmp_path / "s.npy"
    args = ["evaluate", "--checkpoint", tiny_checkpoint, "--sampler", "ddim", "--steps", "2"]
    args += ["--num-samples", "12", "--batch-size", "8", "--save-samples", str(saved), "--quiet"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["sampler"] == "ddim" and result["steps"] == 2 and result["num_samples"] == 12
    assert not result["passed"]  # an untrained UNet makes noise
    assert np.load(saved).shape == (12, 28, 28)


@pytest.fixture
def without_mlxtend(monkeypatch):
    """As after `pip install -r requirements.txt` alone: the app's dependencies, no mlxtend."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else real(name, *a)
    )


def test_evaluate_without_mlxtend_says_what_to_install_before_sampling(without_mlxtend, monkeypatch, capsys):
    from diffusion_demo.cli import evaluate as ev
    from diffusion_demo.cli import main as cli

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampled before checking for the reference digits")

    monkeypatch.setattr(ev, "generate", no_sampling)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["evaluate", "--sampler", "ddim", "--steps", "5", "--num-samples", "4"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "mlxtend" in err and "pip install -r requirements-dev.txt" in err
    assert "Traceback" not in err


@pytest.mark.slow  # seconds of work: not in the fast tier
def test_sweep_writes_the_charts_points_next_to_the_model(
    tiny_cond_checkpoint, tmp_path, monkeypatch, capsys
):
    """`evaluate --sweep`: every sampler at each step count, at w = 0 and the --guidance w, into
    CHECKPOINT/quality.json, which the reverse tab's chart reads."""
    import dataclasses
    import shutil

    from diffusion_demo.media import plots_quality
    from diffusion_demo.training import sweep

    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_cond_checkpoint, ckpt)
    from diffusion_demo.diffusion import samplers

    small = dataclasses.replace(EVAL, sweep_steps=(2, 3), sweep_samples=4)
    monkeypatch.setattr(sweep, "EVAL", small)
    two = {  # the registry cut to two samplers, each up to its own max_sweep_steps
        "ddim": dataclasses.replace(samplers.get("ddim"), max_sweep_steps=3),
        "ddpm": dataclasses.replace(samplers.get("ddpm"), max_sweep_steps=2),
    }
    monkeypatch.setattr(samplers, "SAMPLERS", two)
    args = ["evaluate", "--checkpoint", str(ckpt), "--sweep", "--guidance", "2", "--quiet", "--dtype", "fp32"]
    assert main(args) == 0
    data = plots_quality.load_quality(ckpt)
    got = {(p["sampler"], p["steps"], p["w"]) for p in data["points"]}
    assert got == {
        ("ddim", 2, 0.0),
        ("ddim", 3, 0.0),
        ("ddim", 2, 2.0),
        ("ddim", 3, 2.0),
        ("ddpm", 2, 0.0),
        ("ddpm", 2, 2.0),
    }
    assert all(0 <= p["confident"] <= 1 and p["fd_ratio"] > 0 for p in data["points"])
    assert data["num_samples"] == 4
    chart = plots_quality.quality_chart(data, "ddim", 3, 2.0)
    assert chart.size[0] > 400 and np.asarray(chart).std() > 0
    assert plots_quality.load_quality(tmp_path) == {}  # no sweep shipped: an empty chart, no error


def test_help_states_the_class_fractions_the_run_checks(capsys):
    """`evaluate --help` names every minimum share of a digit that a run can be held to."""
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for targets in (TARGETS, GUIDED_TARGETS, UNCONDITIONAL_TARGETS):
        assert f"{targets.min_class_fraction:.0%}" in text
