"""Score generated digits with the project's classifier: are they digits, all ten, real-looking, new?

    python -m diffusion_demo evaluate --sampler ddim --steps 50 --num-samples 500
    python -m diffusion_demo evaluate --samples samples.npy        # score saved samples

Four figures, each against a target (the targets of the reverse-chain issue):

* confident: the fraction of samples the classifier labels with probability >= 0.8;
* classes: the histogram of predicted labels; all 10 digits must be present, none under 4%;
* Fréchet distance between the classifier's penultimate features of the samples and of the
  training digits (FID's formula in a digit feature space), next to the real-vs-real
  baseline (held-out digits vs the same training digits, same number of images);
* nearest-neighbour ratio: the median L2 pixel distance from each sample to its nearest
  training digit, divided by the same median for held-out real digits. Near 1 means the
  samples are as far from the training set as unseen real digits; near 0 means copying.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..diffusion.batch import Generated, batch_seed, frame_indices, generate, to_unit  # noqa: F401 (re-exported)


@dataclass(frozen=True)
class Targets:
    # "Confident" means the classifier gives the top digit at least this probability.
    confidence: float = 0.8
    # Good samples are recognisable digits: at least 90% of them confident.
    min_confident: float = 0.90
    # Mode collapse shows as missing digits: each of the 10 must be >= 4% (uniform is 10%).
    min_class_fraction: float = 0.04
    # FD grows with blur and artefacts; within 3x of real-vs-real is "looks like the data".
    max_fd_ratio: float = 3.0
    # A model that copies its training digits has NN ratio near 0; unseen real digits ~1.
    min_nn_ratio: float = 0.6
    # A steered run: the classifier must read each sample as the digit asked for (every digit).
    min_label_accuracy: float = 0.97


@dataclass(frozen=True)
class EvalSettings:
    # 500 samples: 50 per digit on average, enough for a 128-d covariance and a stable
    # histogram; DDIM-50 costs a couple of minutes on 2 CPU cores, DDPM-1000 ~20x that.
    num_samples: int = 500
    # 64 images per UNet call: per-image cost stops falling beyond that on a CPU, and the
    # memory stays small (64 x 784 floats per state).
    batch_size: int = 64
    # Subsampling the held-out digits for the baseline is seeded: reruns compare equal.
    reference_seed: int = 0
    # The steps-vs-quality sweep (the reverse tab's chart): the step counts, per sampler.
    # DDIM and DPM-Solver++ have converged by 250 steps; DDPM needs its 1000.
    sweep_steps: tuple[int, ...] = (10, 20, 50, 100, 250, 1000)
    sweep_max_steps: tuple[tuple[str, int], ...] = (("ddpm", 1000), ("ddim", 250), ("dpmsolver", 250))
    # Samples per point of the sweep: 40 points, so fewer than the 500 of a full evaluation.
    sweep_samples: int = 200


TARGETS = Targets()
# The guidance issue's targets: the default settings (guided, digit "any") must beat real
# held-out digits (96.4% confident) with every digit >= 7%, close to the data (FD <= 2x) and
# not copies (NN >= 0.8); the unconditional model (w = 0) >= 92% confident, FD <= 2x.
GUIDED_TARGETS = Targets(min_confident=0.97, min_class_fraction=0.07, max_fd_ratio=2.0, min_nn_ratio=0.8)
UNCONDITIONAL_TARGETS = Targets(min_confident=0.92, max_fd_ratio=2.0)
EVAL = EvalSettings()


# --- references and metrics ---------------------------------------------------------------


@dataclass(frozen=True)
class References:
    """Real digits the samples are compared with, and their classifier features."""

    train: np.ndarray  # (N_train, 28, 28) in [0, 1]
    heldout: np.ndarray  # (N_held, 28, 28) in [0, 1]
    heldout_labels: np.ndarray
    train_features: np.ndarray
    heldout_features: np.ndarray


def references(clf) -> References:
    """data.split()'s training and held-out digits, with the classifier's features of both."""
    from .data import split

    (x_tr, _), (x_ho, y_ho) = split()
    return References(x_tr, x_ho, y_ho, clf.predict(x_tr).features, clf.predict(x_ho).features)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||² + tr(S_a + S_b - 2 (S_a S_b)^½) between two feature sets (rows = items).

    The trace of the matrix square root is computed as tr((S_a^½ S_b S_a^½)^½), a symmetric
    PSD eigenproblem: stable in float64 and needs no scipy.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(f"Need two (N >= 2, F) feature arrays of equal width; got {a.shape} and {b.shape}.")
    mu = a.mean(0) - b.mean(0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(sa)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ sb @ root_a), 0, None)).sum()
    return float(max(0.0, mu @ mu + np.trace(sa) + np.trace(sb) - 2 * cross))


def nn_distances(x: np.ndarray, ref: np.ndarray, chunk: int = 256) -> np.ndarray:
    """For each image in x, the L2 pixel distance to its nearest neighbour in ref."""
    # float64: cdist's matrix-product form (|a|² + |b|² - 2ab) loses ~3e-3 to cancellation in
    # float32 on some CPUs (AMX), which would hide an exact copy (distance 0)
    r = torch.from_numpy(np.ascontiguousarray(ref, dtype=np.float64).reshape(len(ref), -1))
    q = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64).reshape(len(x), -1))
    out = [torch.cdist(q[i : i + chunk], r).min(dim=1).values for i in range(0, len(q), chunk)]
    return torch.cat(out).float().numpy() if out else np.zeros(0, np.float32)


@dataclass(frozen=True)
class Check:
    name: str
    value: str
    target: str
    passed: bool


@dataclass(frozen=True)
class Report:
    """All figures of one evaluation; `checks` compares them with the targets."""

    num_samples: int
    confident_fraction: float
    class_fractions: list[float]
    fd: float
    fd_baseline: float
    fd_n: int  # images on each side of both Fréchet distances' non-reference side
    nn_median: float
    nn_heldout_median: float
    classifier_accuracy: float
    # The fraction the classifier reads as the label the chain was steered to (None: unsteered),
    # overall and per digit asked for (None for a digit not asked for).
    label_accuracy: float | None = None
    label_accuracy_per_digit: list[float | None] | None = None
    targets: Targets = TARGETS

    @property
    def fd_ratio(self) -> float:
        return self.fd / self.fd_baseline if self.fd_baseline > 0 else float("inf")

    @property
    def nn_ratio(self) -> float:
        return self.nn_median / self.nn_heldout_median if self.nn_heldout_median > 0 else float("inf")

    @property
    def checks(self) -> list[Check]:
        t = self.targets
        fr = np.asarray(self.class_fractions)
        low = int(fr.argmin())
        return [
            Check(
                f"confident (p >= {t.confidence:g})",
                f"{self.confident_fraction:.1%}",
                f">= {t.min_confident:.0%}",
                self.confident_fraction >= t.min_confident,
            ),
            Check(
                "all 10 digits",
                f"{int((fr > 0).sum())} present, rarest {low} at {fr[low]:.1%}",
                f"10 present, each >= {t.min_class_fraction:.0%}",
                bool((fr > 0).all() and fr.min() >= t.min_class_fraction),
            ),
            Check(
                "Frechet distance",
                f"{self.fd:.2f} vs real {self.fd_baseline:.2f} = {self.fd_ratio:.2f}x",
                f"<= {t.max_fd_ratio:g}x",
                self.fd_ratio <= t.max_fd_ratio,
            ),
            Check(
                "NN distance ratio",
                f"{self.nn_median:.3f} / {self.nn_heldout_median:.3f} = {self.nn_ratio:.2f}",
                f">= {t.min_nn_ratio:g}",
                self.nn_ratio >= t.min_nn_ratio,
            ),
        ] + self._label_checks()

    def _label_checks(self) -> list[Check]:
        if self.label_accuracy is None or not self.label_accuracy_per_digit:
            return []
        per = {d: a for d, a in enumerate(self.label_accuracy_per_digit) if a is not None}
        worst = min(per, key=per.get)
        need = self.targets.min_label_accuracy
        return [
            Check(
                "read as the digit asked",
                f"{self.label_accuracy:.1%}, worst digit {worst} at {per[worst]:.1%}",
                f">= {need:.0%} for every digit",
                per[worst] >= need,
            )
        ]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("targets")
        d.update(
            fd_ratio=round(self.fd_ratio, 4),
            nn_ratio=round(self.nn_ratio, 4),
            passed=self.passed,
            checks={c.name: c.passed for c in self.checks},
        )
        for k in ("confident_fraction", "fd", "fd_baseline", "nn_median", "nn_heldout_median"):
            d[k] = round(d[k], 4)
        if d["label_accuracy"] is not None:
            d["label_accuracy"] = round(d["label_accuracy"], 4)
            d["label_accuracy_per_digit"] = [
                None if a is None else round(a, 4) for a in self.label_accuracy_per_digit
            ]
        d["class_fractions"] = [round(v, 4) for v in self.class_fractions]
        return d


def score(
    samples: np.ndarray,
    clf,
    refs: References,
    targets: Targets = TARGETS,
    labels: np.ndarray | None = None,
) -> Report:
    """Score digits in [0, 1] (N, 28, 28) against the references; see the module docstring.

    `labels`: what each sample was steered to; the report then says how often it is read so."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 4 and samples.shape[1] == 1:
        samples = samples[:, 0]
    if samples.ndim != 3 or samples.shape[1:] != refs.train.shape[1:] or len(samples) < 2:
        raise ValueError(
            f"Samples must have shape (N >= 2, {refs.train.shape[1]}, {refs.train.shape[2]}); "
            f"got {samples.shape}."
        )
    if not np.isfinite(samples).all() or samples.min() < -1e-6 or samples.max() > 1 + 1e-6:
        raise ValueError("Samples must be finite values in [0, 1] (as the sample CLI's .npy writes them).")
    pred = clf.predict(samples)
    n_fd = min(len(samples), len(refs.heldout))
    rng = np.random.default_rng(EVAL.reference_seed)
    held = np.sort(rng.choice(len(refs.heldout), n_fd, replace=False))
    counts = np.bincount(pred.labels, minlength=10)
    return Report(
        num_samples=len(samples),
        confident_fraction=float((pred.confidence >= targets.confidence).mean()),
        class_fractions=(counts / counts.sum()).tolist(),
        fd=frechet_distance(pred.features[:n_fd], refs.train_features),
        fd_baseline=frechet_distance(refs.heldout_features[held], refs.train_features),
        fd_n=n_fd,
        nn_median=float(np.median(nn_distances(samples, refs.train))),
        nn_heldout_median=float(np.median(nn_distances(refs.heldout[held], refs.train))),
        classifier_accuracy=float(getattr(clf, "accuracy", float("nan"))),
        label_accuracy=None if labels is None else float((pred.labels == np.asarray(labels)).mean()),
        label_accuracy_per_digit=None
        if labels is None
        else per_digit_accuracy(pred.labels, np.asarray(labels)),
        targets=targets,
    )


def per_digit_accuracy(predicted: np.ndarray, asked: np.ndarray) -> list[float | None]:
    """For each digit 0-9: the fraction of the samples asked to be it that are read as it."""
    return [float((predicted[asked == d] == d).mean()) if (asked == d).any() else None for d in range(10)]


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


# --- CLI ----------------------------------------------------------------------------------


def add_guidance_arguments(p: argparse.ArgumentParser, default_w: float | None = None) -> None:
    """--digit and --guidance, with the reverse tab's meaning and defaults (sample, evaluate,
    export)."""
    from ..config import DIGIT_CHOICES, GUIDANCE

    w = GUIDANCE.default_w if default_w is None else default_w
    p.add_argument(
        "--digit",
        choices=DIGIT_CHOICES,
        default="any",
        help="any (a label per sample from the seed), a digit 0-9, or each (0-9 in turn)",
    )
    p.add_argument(
        "--guidance",
        type=float,
        default=w,
        help=f"classifier-free guidance w in [0, {GUIDANCE.max_w:g}] (default {w:g}): 0 unconditional, "
        "1 conditional, more steers harder",
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..config import MODEL, SAMPLER_NAMES

    p.add_argument("--sampler", choices=SAMPLER_NAMES, default="ddim", help="reverse-chain sampler")
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
    p.add_argument("--checkpoint", type=Path, default=MODEL.checkpoint, help="DDPMPipeline folder")
    p.add_argument(
        "--dtype",
        choices=("auto", "fp32", "bf16", "fp16"),
        default="auto",
        help="UNet compute dtype: auto picks bf16 where it is clearly faster (AMX CPUs), else fp32",
    )
    p.add_argument("--samples", type=Path, default=None, help="score this .npy (N×28×28 in [0, 1]) instead")
    p.add_argument("--save-samples", type=Path, default=None, help="also write the generated samples (.npy)")
    p.add_argument(
        "--classifier", type=Path, default=None, help="classifier folder (default assets/classifier)"
    )
    p.add_argument("--json", type=Path, default=None, help="also write the JSON line to this file")
    p.add_argument("--strict", action="store_true", help="exit with code 1 when a target fails")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """The `evaluate` sub-command. ValueError / CheckpointError for bad input (exit 2 upstream)."""
    from ..diffusion.sampling import validate_request
    from ..models import classifier, unet
    from . import data

    if args.save_samples is not None and args.save_samples.suffix.lower() != ".npy":
        raise ValueError(
            f"--save-samples must end in .npy; got {args.save_samples.name!r}: expected one of .npy."
        )
    data.require()  # the real digits are the reference: say so before minutes of sampling
    clf = classifier.load(args.classifier) if args.classifier else classifier.load()
    info: dict = {}
    if args.samples is not None:
        samples = load_samples(args.samples)
        title = f"{args.samples} ({len(samples)} samples)"
        info["source"] = str(args.samples)
    else:
        request = validate_request(
            args.sampler,
            args.steps,
            args.num_samples,
            args.seed,
            args.eta,
            max_samples=1_000_000,
            digit=args.digit,
            guidance=args.guidance,
        )
        if args.guidance_interval is not None:
            request = dataclasses.replace(request, guidance_interval=check_interval(args.guidance_interval))
        den = unet.load(args.checkpoint, autocast=args.dtype)
        unet.compile_if_worth_it(den, args.batch_size, request.num_samples * request.steps)
        if getattr(args, "sweep", False):
            from .sweep import sweep  # the sweep is a loop of this module's generate and score

            return sweep(den, clf, args)
        gen = generate(den, request, args.batch_size, progress=not args.quiet)
        samples = gen.samples
        if args.save_samples is not None:
            args.save_samples.parent.mkdir(parents=True, exist_ok=True)
            np.save(args.save_samples, samples)
        card = _training_card(args.checkpoint)
        info = {
            "sampler": request.sampler,
            "steps": request.steps,
            "eta": request.eta,
            "digit": request.digit if den.null_label is not None else None,
            "guidance": request.guidance if den.null_label is not None else None,
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
            + (f" eta={request.eta:g}" if request.sampler == "ddim" and request.eta else "")
            + (f", digit {request.digit}, w={request.guidance:g}" if den.null_label is not None else "")
            + f", {len(samples)} samples, seed {request.seed}, checkpoint step {card.get('steps', '?')}"
            + f", {gen.seconds:.0f} s"
        )
    # how often a sample is read as the digit it was steered to (w > 0: a conditional run)
    labels = gen.labels if args.samples is None and request.guidance > 0 else None
    report = score(
        samples, clf, references(clf), targets_for(args, den if args.samples is None else None), labels
    )
    print(format_report(report, title))
    line = json.dumps(info | report.to_dict())
    print(line)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(line + "\n")
    return 1 if args.strict and not report.passed else 0


def _training_card(path: Path) -> dict:
    try:
        return json.loads((Path(path) / "training.json").read_text())
    except (OSError, ValueError):
        return {}


def targets_for(args: argparse.Namespace, den) -> Targets:
    """The guidance issue's targets for a run of a class-conditional model (guided, or w = 0),
    the first issue's otherwise (an unconditional model, or a --samples file)."""
    if den is None or den.null_label is None:
        return TARGETS
    return GUIDED_TARGETS if args.guidance > 0 else UNCONDITIONAL_TARGETS


def check_interval(interval: list[int]) -> tuple[int, int]:
    """--guidance-interval LO HI: diffusers timesteps with 0 <= LO <= HI <= 999."""
    lo, hi = (int(v) for v in interval)
    if not 0 <= lo <= hi <= 999:
        raise ValueError(f"--guidance-interval must be LO HI with 0 <= LO <= HI <= 999; got {lo} {hi}.")
    return lo, hi
