"""Sample-quality metrics: are the generated digits digits, all ten, real-looking, new?

The classifier (models.classifier) judges; four figures (confident, classes, Fréchet
distance, nearest-neighbour ratio: below the imports), each against a target (config.Targets).
The batched generation the CLI and the exports share is diffusion/many_samples.py
(`generate`); the `evaluate` sub-command (flags, report table, JSON line) is cli/evaluate.py.

May import: config, diffusion, models, training.data and libraries. Never media, ui or cli.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..config import EVAL, TARGETS, Targets
from .data import split

# The four figures:
# * confident: the fraction of samples the classifier labels with probability >= 0.8;
# * classes: the histogram of predicted labels; all 10 digits must be present, none under 4%;
# * Fréchet distance between the classifier's penultimate features of the samples and of the
#   training digits (FID's formula in a digit feature space), next to the real-vs-real
#   baseline (held-out digits vs the same training digits, same number of images);
# * nearest-neighbour ratio: the median L2 pixel distance from each sample to its nearest
#   training digit, divided by the same median for held-out real digits. Near 1 means the
#   samples are as far from the training set as unseen real digits; near 0 means copying.

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
