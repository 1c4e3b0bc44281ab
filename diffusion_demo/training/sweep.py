"""The steps-vs-quality sweep behind the reverse tab's chart: `python -m diffusion_demo evaluate --sweep`.

Every sampler at each of EVAL.sweep_steps, at w = 0 (the unconditional model) and at the
--guidance w: the confident fraction and the Fréchet ratio of each point (evaluate's own
generate and score), written next to the model as quality.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..diffusion.sampling import validate_request
from ..media.plots_quality import QUALITY_FILE
from .evaluate import EVAL, _training_card, generate, references, score


def sweep(den, clf, args: argparse.Namespace) -> int:
    """Every sampler at each of EVAL.sweep_steps, at w = 0 and w = --guidance: confident
    fraction and Fréchet ratio per point, written to CHECKPOINT/quality.json (the reverse
    tab's steps-vs-quality chart)."""
    n = min(args.num_samples, EVAL.sweep_samples)
    refs = references(clf)
    ws = sorted({0.0, float(args.guidance)}) if den.null_label is not None else [0.0]
    points = []
    for sampler, max_steps in EVAL.sweep_max_steps:
        for steps in (s for s in EVAL.sweep_steps if s <= max_steps):
            for w in ws:
                request = validate_request(sampler, steps, n, args.seed, max_samples=1_000_000, guidance=w)
                gen = generate(den, request, args.batch_size, progress=False)
                report = score(gen.samples, clf, refs, labels=gen.labels if w else None)
                points.append(
                    {
                        "sampler": sampler,
                        "steps": steps,
                        "w": w,
                        "confident": round(report.confident_fraction, 4),
                        "fd_ratio": round(report.fd_ratio, 4),
                        "label_accuracy": report.label_accuracy,
                        "seconds": round(gen.seconds, 1),
                    }
                )
                print(json.dumps(points[-1]), flush=True)
    card = _training_card(args.checkpoint)
    out = {"checkpoint_step": card.get("steps"), "num_samples": n, "seed": args.seed, "points": points}
    (Path(args.checkpoint) / QUALITY_FILE).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {Path(args.checkpoint) / QUALITY_FILE}: {len(points)} points")
    return 0
