"""Score generated digits with the project's classifier: are they digits, all ten, real-looking, new?

    python -m diffusion_demo evaluate --sampler ddim --steps 50 --num-samples 500
    python -m diffusion_demo evaluate --samples samples.npy        # score saved samples

Four figures, each against a target (the targets of the reverse-chain issue):

* confident: the fraction of samples the classifier labels with probability >= 0.8;
* classes: the histogram of predicted labels; all 10 digits must be present, none under 4%
  (7% for a guided run of a class-conditional model, the default: w > 0);
* Fréchet distance between the classifier's penultimate features of the samples and of the
  training digits (FID's formula in a digit feature space), next to the real-vs-real
  baseline (held-out digits vs the same training digits, same number of images);
* nearest-neighbour ratio: the median L2 pixel distance from each sample to its nearest
  training digit, divided by the same median for held-out real digits. Near 1 means the
  samples are as far from the training set as unseen real digits; near 0 means copying.
"""

# This module's docstring is the `evaluate --help` text; what it owns: the flags
# (`add_arguments`, and `add_guidance_arguments`, shared with `sample` and `export`), the
# sub-command (`run`), the report table and the choice of targets. The metrics themselves are
# training/evaluate.py. May import anything but ui.

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..config import (
    DIGIT_CHOICES,
    EVAL,
    GUIDANCE,
    GUIDED_TARGETS,
    MODEL,
    TARGETS,
    UNCONDITIONAL_TARGETS,
    Targets,
)
from ..diffusion.many_samples import generate
from ..diffusion.samplers import DEFAULT_SAMPLER, SAMPLER_IDS
from ..diffusion.sampling import ReverseRequest, validate_request
from ..models import classifier, unet
from ..serving import compiled
from ..training import data
from ..training.evaluate import Report, references, score
from ..training.sweep import sweep
from ..training.train import training_card

# --- flags --------------------------------------------------------------------------------


def add_guidance_arguments(p: argparse.ArgumentParser, target_only: bool = False) -> None:
    """--digit and --guidance, with the app's meaning and defaults (sample, evaluate, export).

    `target_only`: the digit is a target to steer to (fill in, round trip), as in the app's
    /inpaint and /roundtrip_sketch: w defaults to the app's with a digit, to 0 (the
    unconditional model) with --digit any; read it with `guidance_for`."""
    w = GUIDANCE.default_w
    p.add_argument(
        "--digit",
        choices=DIGIT_CHOICES,
        default="any",
        help="a digit 0-9 to steer towards, or any (none: the unconditional model)"
        if target_only
        else "any (a label per sample from the seed), a digit 0-9, or each (0-9 in turn)",
    )
    p.add_argument(
        "--guidance",
        type=float,
        default=None if target_only else w,
        help=f"classifier-free guidance w in [0, {GUIDANCE.max_w:g}] (default {w:g}"
        + (" with a --digit, 0 with --digit any" if target_only else "")
        + "): 0 unconditional, 1 conditional, more steers harder",
    )


def guidance_for(args: argparse.Namespace) -> float:
    """--guidance as given, else the default of a target-only command (add_guidance_arguments):
    the app's w with a target digit, 0 without one."""
    if getattr(args, "guidance", None) is not None:
        return args.guidance
    return 0.0 if args.digit == "any" else GUIDANCE.default_w


# The UNet's compute dtype: auto picks bf16 where it is clearly faster (AMX CPUs), else fp32.
DTYPES: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")


def model_arguments(p: argparse.ArgumentParser) -> None:
    """--checkpoint and --dtype: which model, computed in which precision."""
    p.add_argument("--checkpoint", type=Path, default=MODEL.checkpoint, help="DDPMPipeline folder")
    p.add_argument(
        "--dtype",
        choices=DTYPES,
        default="auto",
        help="UNet compute dtype: auto picks bf16 where it is clearly faster (AMX CPUs), else fp32",
    )


def request_from_args(args: argparse.Namespace, max_samples: int) -> ReverseRequest:
    """The sampler flags (--sampler, --steps, --num-samples, --seed, --eta, --digit,
    --guidance) as a validated reverse-chain request; ValueError names the bad flag."""
    return validate_request(
        args.sampler,
        args.steps,
        args.num_samples,
        args.seed,
        args.eta,
        max_samples=max_samples,
        digit=args.digit,
        guidance=guidance_for(args),
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The `evaluate` sub-command's flags."""
    p.add_argument("--sampler", choices=SAMPLER_IDS, default=DEFAULT_SAMPLER, help="reverse-chain sampler")
    add_guidance_arguments(p)
    p.add_argument(
        "--guidance-interval",
        type=int,
        nargs=2,
        default=None,
        metavar=("LO", "HI"),
        help="apply w only at diffusers timesteps LO..HI (plain conditional elsewhere)",
    )
    p.add_argument(
        "--sweep",
        action="store_true",
        help="steps-vs-quality sweep (every sampler, w = 0 and --guidance): writes CHECKPOINT/quality.json",
    )
    p.add_argument("--steps", type=int, default=50, help="sampler steps (1 … 1000)")
    p.add_argument("--num-samples", type=int, default=EVAL.num_samples, help="samples to generate and score")
    p.add_argument("--seed", type=int, default=0, help="seed of the first batch's x_T")
    p.add_argument("--eta", type=float, default=0.0, help="DDIM's eta (0 = deterministic)")
    p.add_argument("--batch-size", type=int, default=EVAL.batch_size, help="images per UNet call")
    model_arguments(p)
    p.add_argument("--samples", type=Path, default=None, help="score this .npy (N×28×28 in [0, 1]) instead")
    p.add_argument("--save-samples", type=Path, default=None, help="also write the generated samples (.npy)")
    p.add_argument(
        "--classifier", type=Path, default=None, help="classifier folder (default assets/classifier)"
    )
    p.add_argument("--json", type=Path, default=None, help="also write the JSON line to this file")
    p.add_argument("--strict", action="store_true", help="exit with code 1 when a target fails")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def check_interval(interval: list[int]) -> tuple[int, int]:
    """--guidance-interval LO HI: diffusers timesteps with 0 <= LO <= HI <= 999."""
    lo, hi = (int(v) for v in interval)
    if not 0 <= lo <= hi <= 999:
        raise ValueError(f"--guidance-interval must be LO HI with 0 <= LO <= HI <= 999; got {lo} {hi}.")
    return lo, hi


def load_samples(path: str | os.PathLike) -> np.ndarray:
    """Samples saved by `sample --out x.npy`: float32 (N, H, W) in [0, 1]."""
    path = Path(path)
    if path.suffix.lower() != ".npy":
        raise ValueError(f"--samples must be a .npy file; got {path.name!r}: expected one of .npy.")
    if not path.is_file():
        raise ValueError(f"--samples file {path} does not exist.")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:
        raise ValueError(
            f"--samples file {path} is not a readable .npy array ({type(exc).__name__})."
        ) from None


def targets_for(args: argparse.Namespace, den) -> Targets:
    """The guidance issue's targets for a run of a class-conditional model (guided, or w = 0),
    the first issue's otherwise (an unconditional model, or a --samples file)."""
    if den is None or den.null_label is None:
        return TARGETS
    return GUIDED_TARGETS if args.guidance > 0 else UNCONDITIONAL_TARGETS


# --- the report ---------------------------------------------------------------------------


def format_report(report: Report, title: str) -> str:
    """The human-readable table: one line per target with PASS/FAIL, then the histogram."""
    lines = [title]
    for c in report.checks:
        lines.append(f"  {'PASS' if c.passed else 'FAIL'}  {c.name:<22} {c.value:<44} target {c.target}")
    hist = "  ".join(f"{d}:{f:.0%}" for d, f in enumerate(report.class_fractions))
    lines.append(f"  classes  {hist}")
    if report.label_accuracy is not None:
        lines.append(f"  read as the digit asked for: {report.label_accuracy:.1%}")
    lines.append(f"  overall  {'PASS' if report.passed else 'FAIL'}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Scoring:
    """What to score and how to present it: the samples, the table's title, the JSON line's
    extra fields, the labels they were steered to (None: unsteered) and the targets."""

    samples: np.ndarray
    title: str
    info: dict
    labels: np.ndarray | None
    targets: Targets


# --- the sub-command ----------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """The `evaluate` sub-command. ValueError / CheckpointError for bad input (exit 2 upstream)."""
    if args.save_samples is not None and args.save_samples.suffix.lower() != ".npy":
        raise ValueError(
            f"--save-samples must end in .npy; got {args.save_samples.name!r}: expected one of .npy."
        )
    data.require()  # the real digits are the reference: say so before minutes of sampling
    clf = classifier.load(args.classifier) if args.classifier else classifier.load()
    if args.samples is not None:
        samples = load_samples(args.samples)
        what = Scoring(
            samples, f"{args.samples} ({len(samples)} samples)", {"source": str(args.samples)}, None, TARGETS
        )
    else:
        request = _request(args)
        den = unet.load(args.checkpoint, autocast=args.dtype)
        compiled.compile_if_worth_it(den, request.num_samples * request.steps)
        if getattr(args, "sweep", False):
            return run_sweep(den, clf, args)
        what = _generated(den, request, args)
    report = score(what.samples, clf, references(clf), what.targets, what.labels)
    print(format_report(report, what.title))
    line = json.dumps(what.info | report.to_dict())
    print(line)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(line + "\n")
    return 1 if args.strict and not report.passed else 0


def _request(args: argparse.Namespace) -> ReverseRequest:
    """The flags as a validated reverse-chain request (any number of samples)."""
    request = request_from_args(args, 1_000_000)
    if args.guidance_interval is not None:
        request = dataclasses.replace(request, guidance_interval=check_interval(args.guidance_interval))
    return request


def _generated(den, request: ReverseRequest, args: argparse.Namespace) -> Scoring:
    """Generate the samples (and save them with --save-samples); describe the run."""
    gen = generate(den, request, args.batch_size, progress=not args.quiet)
    samples = gen.samples
    if args.save_samples is not None:
        args.save_samples.parent.mkdir(parents=True, exist_ok=True)
        np.save(args.save_samples, samples)
    card = training_card(args.checkpoint)
    conditional = den.null_label is not None
    info = {
        "sampler": request.sampler,
        "steps": request.steps,
        "eta": request.eta,
        "digit": request.digit if conditional else None,
        "guidance": request.guidance if conditional else None,
        "guidance_interval": list(request.guidance_interval),
        "seed": request.seed,
        "checkpoint": str(args.checkpoint),
        "checkpoint_step": card.get("steps"),
        "dtype": str(den.autocast or torch.float32).removeprefix("torch."),
        "generate_s": round(gen.seconds, 1),
        "s_per_sample": round(gen.seconds / len(samples), 4),
    }
    title = (
        f"{request.sampler.upper()}-{request.steps}"
        + (f" eta={request.eta:g}" if request.eta else "")
        + (f", digit {request.digit}, w={request.guidance:g}" if conditional else "")
        + f", {len(samples)} samples, seed {request.seed}, checkpoint step {card.get('steps', '?')}"
        + f", {gen.seconds:.0f} s"
    )
    # how often a sample is read as the digit it was steered to (w > 0: a conditional run)
    labels = gen.labels if request.guidance > 0 else None
    return Scoring(samples, title, info, labels, targets_for(args, den))


def run_sweep(den, clf, args: argparse.Namespace) -> int:
    """`evaluate --sweep`: training/sweep.py's points, one JSON line each as they come, then
    CHECKPOINT/quality.json (the reverse tab's steps-vs-quality chart)."""
    from ..media.plots_quality import QUALITY_FILE  # deferred for start-up time: matplotlib

    found = sweep(
        den, clf, args.num_samples, args.seed, args.guidance, args.batch_size, on_point=_print_point
    )
    out = {"checkpoint_step": training_card(args.checkpoint).get("steps")} | found
    path = Path(args.checkpoint) / QUALITY_FILE
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}: {len(found['points'])} points")
    return 0


def _print_point(point: dict) -> None:
    """One sweep point as a JSON line, as soon as it is done (a full sweep runs for a long while)."""
    print(json.dumps(point), flush=True)
