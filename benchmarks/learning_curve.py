"""The unconditional branch's learning curve: EMA snapshots scored at DDIM-50 (issue #24).

    python benchmarks/learning_curve.py assets/ddpm-digits /work/train/polish/snapshots/step-* \
        --out assets/ddpm-digits                              # ~3 minutes a folder on 2 cores
    python benchmarks/learning_curve.py FOLDER --num-samples 20 --out /tmp/c   # a smoke run

Each folder is a diffusers checkpoint with its training.json (`train --snapshot-every` writes
them). For each, `evaluate` scores w = 0 (the unconditional model) and the default settings
(digit any, w = 3 on the guidance interval): confident, Fréchet ratio, nearest neighbour and
each digit's share. The points go to OUT/training.json ("curve") and the plot to
OUT/learning-curve.png, sorted by training step.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folders", nargs="+", type=Path, help="checkpoint folders (snapshots)")
    p.add_argument("--num-samples", type=int, default=500)
    p.add_argument("--out", type=Path, required=True, help="the checkpoint whose card and plot get the curve")
    return p


if __name__ == "__main__":  # --help and bad options answer before torch is imported (seconds)
    options().parse_args()

from diffusion_demo.cli.main import main as cli  # noqa: E402
from diffusion_demo.media.plots import fig_to_image  # noqa: E402
from diffusion_demo.training.train import CARD_FILE, training_card  # noqa: E402

SETTINGS = {"w0": ["--guidance", "0"], "default": []}  # evaluate's defaults are the app's
KEEP = ("confident_fraction", "fd_ratio", "nn_ratio", "class_fractions")


def score(folder: Path, args: list[str], num_samples: int) -> dict:
    """One `evaluate` run (DDIM-50, seed 0) on `folder`: the figures the curve keeps."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        argv = ["evaluate", "--checkpoint", str(folder), "--sampler", "ddim", "--steps", "50"]
        cli([*argv, "--num-samples", str(num_samples), "--quiet", "--json", str(out), *args])
        report = json.loads(out.read_text())
    return {k: report[k] for k in KEEP}


def point(folder: Path, num_samples: int) -> dict:
    """A point of the curve: the folder's training step and both settings' figures (kept in
    FOLDER/curve_point.json, so a point scored once, e.g. while training went on, is reused)."""
    kept = folder / "curve_point.json"
    if kept.is_file() and json.loads(kept.read_text()).get("num_samples") == num_samples:
        return json.loads(kept.read_text())
    card = training_card(folder)
    found = {"step": card.get("steps"), "wall_time_s": card.get("wall_time_s"), "folder": folder.name}
    for name, args in SETTINGS.items():
        found[name] = score(folder, args, num_samples)
        print(json.dumps({"folder": str(folder), "setting": name} | found[name]), flush=True)
    kept.write_text(json.dumps(found | {"num_samples": num_samples}) + "\n")
    return found | {"num_samples": num_samples}


def plot(curve: list[dict], path: Path) -> None:
    """Confident fraction and Fréchet ratio against the training step, w = 0 and the default."""
    from matplotlib.figure import Figure  # deferred: only the plot needs it

    fig = Figure(figsize=(8, 3.2), dpi=100, layout="constrained")
    conf, fd = fig.subplots(1, 2)
    steps = [p["step"] for p in curve]
    for name, colour, label in (
        ("w0", "#C44E52", "w = 0 (unconditional)"),
        ("default", "#4C72B0", "default (w = 3)"),
    ):
        conf.plot(
            steps, [100 * p[name]["confident_fraction"] for p in curve], "o-", color=colour, label=label
        )
        fd.plot(steps, [p[name]["fd_ratio"] for p in curve], "o-", color=colour, label=label)
    conf.axhline(92, color="#C44E52", ls=":", lw=1, label="w = 0 target (92%)")
    conf.set(xlabel="training step", ylabel="confident digits (%)", title="DDIM-50, 500 samples")
    fd.axhline(1.5, color="#C44E52", ls=":", lw=1, label="w = 0 target (1.5×)")
    fd.set(xlabel="training step", ylabel="Fréchet / real-vs-real", title="closer to the data: lower")
    for ax in (conf, fd):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig_to_image(fig).save(path)


def main(argv: list[str] | None = None) -> int:
    p = options()
    a = p.parse_args(argv)
    missing = [str(f) for f in a.folders if not (f / CARD_FILE).is_file()]
    if missing:
        p.error(f"not a checkpoint with a {CARD_FILE}: {', '.join(missing)}")
    curve = sorted((point(f, a.num_samples) for f in a.folders), key=lambda q: q["step"] or 0)
    card = training_card(a.out) | {"curve": curve}
    (a.out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")
    plot(curve, a.out / "learning-curve.png")
    print(f"wrote {a.out / CARD_FILE} ({len(curve)} points) and {a.out / 'learning-curve.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
