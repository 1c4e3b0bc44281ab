"""Every sampler on the shipped model: seconds per network call beside DDIM's, and quality.

    python benchmarks/samplers_bench.py                 # speed (~3 minutes on 2 idle cores)
    python benchmarks/samplers_bench.py --quality       # + 500 samples each at its default steps
    python benchmarks/samplers_bench.py --against DIR   # + the old samplers, old code vs new

Speed: 16 samples at the default guidance, each sampler at its default steps (DDPM at 100),
the chain consumed bare, the UNet compiled as the app runs it; rounds alternate samplers;
medians of seconds per network call, and the ratio to DDIM's (target ≤ 1.05). --against:
a checkout of an earlier commit (git worktree add DIR <commit>) times DDPM, DDIM and
DPM-Solver++ in its own process, alternating with this code's, each in a fresh process.
Quality: scored as `evaluate` does (confident p ≥ 0.8, Fréchet ratio, read as asked), 500
samples, seed 0, each sampler at its default steps but DDPM (its 1,000 are the model card's).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
OLD_SAMPLERS = {"ddpm": 100, "ddim": 50, "dpmsolver": 20}


def chain_seconds(den, sampler: str, steps: int, guidance: float | None = None) -> tuple[float, int]:
    """(seconds, network calls) of one bare chain of 16 samples."""
    from diffusion_demo.diffusion.sampling import reverse_chain, validate_request

    kw = {} if guidance is None else {"guidance": guidance}
    request = validate_request(sampler, steps, 16, 0, **kw)
    start, calls = time.perf_counter(), 0
    for _ in reverse_chain(den, request):
        calls += 1
    return time.perf_counter() - start, calls


def load_model(checkpoint: str | None):
    from diffusion_demo.models import unet

    try:
        from diffusion_demo.serving import compiled
    except ImportError:  # an older checkout (--against): compiled lived in models/
        from diffusion_demo.models import compiled

    den = unet.load(checkpoint) if checkpoint else unet.load()
    compiled.warm_seconds(den)
    return den


def speed(den, rounds: int) -> dict[str, dict]:
    """Per-call seconds of every sampler, rounds alternating, medians."""
    from diffusion_demo.diffusion import samplers

    runs = {s.id: (s.default_steps if s.id != "ddpm" else 100) for s in samplers.SAMPLERS.values()}
    for sampler, steps in runs.items():  # warm-up
        chain_seconds(den, sampler, min(steps, 4))
    per_call: dict[str, list[float]] = {s: [] for s in runs}
    calls = {}
    for _ in range(rounds):
        for sampler, steps in runs.items():
            seconds, calls[sampler] = chain_seconds(den, sampler, steps)
            per_call[sampler].append(seconds / calls[sampler])
    ddim = float(np.median(per_call["ddim"]))
    return {
        s: {
            "steps": runs[s],
            "calls": calls[s],
            "s_per_call": round(float(np.median(v)), 5),
            "vs_ddim": round(float(np.median(v)) / ddim, 3),
        }
        for s, v in per_call.items()
    }


def worker(rounds: int) -> None:
    """In a fresh process, on whichever code is first on sys.path: the old samplers' seconds."""
    den = load_model(os.environ.get("BENCH_CHECKPOINT"))
    for sampler in OLD_SAMPLERS:
        chain_seconds(den, sampler, 4)
    out = {s: [] for s in OLD_SAMPLERS}
    for _ in range(rounds):
        for sampler, steps in OLD_SAMPLERS.items():
            out[sampler].append(chain_seconds(den, sampler, steps)[0])
    print("RESULT " + json.dumps(out))


def against(old: Path, rounds: int, checkpoint: Path) -> dict[str, dict]:
    """Old code vs this code, alternating fresh processes; medians of each sampler's run."""
    seconds: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    for _ in range(rounds):
        for label, code in (("old", old), ("new", HERE.parent.parent)):
            env = {**os.environ, "PYTHONPATH": str(code), "BENCH_CHECKPOINT": str(checkpoint)}
            done = subprocess.run(
                [sys.executable, str(HERE), "--worker", "--rounds", "2"],
                cwd=code, env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
            for sampler, values in json.loads(line[7:]).items():
                seconds[label].setdefault(sampler, []).extend(values)
    return {
        s: {
            "old_s": round(float(np.median(seconds["old"][s])), 3),
            "new_s": round(float(np.median(seconds["new"][s])), 3),
            "new_vs_old": round(float(np.median(seconds["new"][s]) / np.median(seconds["old"][s])), 3),
        }
        for s in OLD_SAMPLERS
    }


def quality(den, num_samples: int) -> dict[str, dict]:
    """Every sampler at its default steps and the default guidance, scored as `evaluate` does
    (DDPM's 1,000 steps are the model card's own figure: left out here, ~10 minutes)."""
    from diffusion_demo.diffusion import samplers
    from diffusion_demo.diffusion.many_samples import generate
    from diffusion_demo.diffusion.sampling import validate_request
    from diffusion_demo.models import classifier
    from diffusion_demo.training.evaluate import references, score

    clf = classifier.load()
    refs = references(clf)
    out = {}
    for s in (s for s in samplers.SAMPLERS.values() if s.default_steps <= 250):
        request = validate_request(s.id, s.default_steps, num_samples, 0, max_samples=num_samples)
        gen = generate(den, request, 64, progress=False)
        report = score(gen.samples, clf, refs, labels=gen.labels)
        out[s.id] = {
            "steps": s.default_steps,
            "confident": round(report.confident_fraction, 4),
            "fd_ratio": round(report.fd / report.fd_baseline, 3),
            "read_as_asked": round(report.label_accuracy, 4),
            "seconds": round(gen.seconds, 1),
        }
        print(s.id, out[s.id], flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--checkpoint", type=Path, default=None)
    p.add_argument("--quality", action="store_true", help="also 500 samples per sampler")
    p.add_argument("--num-samples", type=int, default=500)
    p.add_argument("--against", type=Path, default=None, help="a checkout of an earlier commit")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        worker(a.rounds)
        return 0
    sys.path.insert(0, str(HERE.parent.parent))
    from diffusion_demo.config import MODEL

    den = load_model(str(a.checkpoint) if a.checkpoint else None)
    result: dict = {"speed": speed(den, a.rounds)}
    for sampler, r in result["speed"].items():
        print(
            f"{sampler:16s} {r['calls']:4d} calls  {1000 * r['s_per_call']:7.2f} ms/call  {r['vs_ddim']:.3f}× DDIM's"
        )
    if a.against is not None:
        result["against"] = against(a.against, a.rounds, a.checkpoint or MODEL.checkpoint)
        for sampler, r in result["against"].items():
            print(f"{sampler:16s} old {r['old_s']:.3f} s  new {r['new_s']:.3f} s  ({r['new_vs_old']:.3f}×)")
    if a.quality:
        result["quality"] = quality(den, a.num_samples)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
