"""The steps-vs-quality sweep behind the reverse tab's chart: `python -m diffusion_demo evaluate --sweep`.

Every sampler at each of EVAL.sweep_steps, at w = 0 (the unconditional model) and at the
--guidance w: the confident fraction and the Fréchet ratio of each point (evaluate's own
generate and score). cli/evaluate.py writes them next to the model as quality.json.

May import: config, diffusion, models, training and libraries. Never media, ui or cli.
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import EVAL
from ..diffusion import samplers
from ..diffusion.many_samples import generate
from ..diffusion.sampling import validate_request
from .evaluate import references, score


def sweep(
    den,
    clf,
    num_samples: int,
    seed: int,
    guidance: float,
    batch_size: int,
    on_point: Callable[[dict], None] | None = None,
) -> dict:
    """Every sampler at each of EVAL.sweep_steps, at w = 0 and w = `guidance` (a conditional
    model): confident fraction and Fréchet ratio per point, each passed to `on_point` as it is
    done. Returns {"num_samples", "seed", "points"} (the body of quality.json)."""
    n = min(num_samples, EVAL.sweep_samples)
    refs = references(clf)
    ws = sorted({0.0, float(guidance)}) if den.null_label is not None else [0.0]
    points = []
    for sampler in samplers.SAMPLERS.values():
        for steps in (s for s in EVAL.sweep_steps if s <= sampler.max_sweep_steps):
            for w in ws:
                request = validate_request(sampler.id, steps, n, seed, max_samples=1_000_000, guidance=w)
                gen = generate(den, request, batch_size, progress=False)
                report = score(gen.samples, clf, refs, labels=gen.labels if w else None)
                points.append(
                    {
                        "sampler": sampler.id,
                        "steps": steps,
                        "w": w,
                        "confident": round(report.confident_fraction, 4),
                        "fd_ratio": round(report.fd_ratio, 4),
                        "label_accuracy": report.label_accuracy,
                        "seconds": round(gen.seconds, 1),
                    }
                )
                if on_point is not None:
                    on_point(points[-1])
    return {"num_samples": n, "seed": seed, "points": points}
