"""`python -m diffusion_demo classifier`: the flags are checked before any training."""

from __future__ import annotations

import pytest

from diffusion_demo.cli import classifier


def test_cli_refuses_zero_epochs(capsys):
    with pytest.raises(SystemExit) as exc:
        classifier.main(["--epochs", "0", "--out", "/nonexistent/never-written"])
    assert exc.value.code == 2
    assert "--epochs must be at least 1" in capsys.readouterr().err
