"""What the decision strip costs: a streamed DDIM-50 × 16 run, then its strip (issue #24: ≤ 5%).

    python benchmarks/decision_bench.py            # ~1 minute on 2 idle cores
    python benchmarks/decision_bench.py --repeats 1

The run is the reverse tab's stream (frames made as the app makes them, replay steps stored),
on the shipped checkpoint compiled as the app runs it; the strip is /reverse_decision's
handler on the stored steps (classify 50 x̂_0, draw the strip), which runs after the run.
Runs alternate with and without the strip; medians; one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from diffusion_demo.config import MODEL  # noqa: E402


def options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--checkpoint", type=Path, default=MODEL.checkpoint)
    return p


if __name__ == "__main__":  # --help and bad options answer before torch is imported (seconds)
    options().parse_args()

from diffusion_demo.diffusion.sampling import validate_request  # noqa: E402
from diffusion_demo.models import unet  # noqa: E402
from diffusion_demo.serving import compiled  # noqa: E402
from diffusion_demo.ui.frames import Replay, stream  # noqa: E402
from diffusion_demo.ui.tabs.decision import reverse_decision  # noqa: E402


def streamed_run(den, request) -> tuple[float, list[dict]]:
    """Seconds for the whole streamed run, and its stored steps."""
    store, start = Replay(request.steps), time.perf_counter()
    for _ in stream(den, request, store):
        pass
    return time.perf_counter() - start, store.frames


def main(argv: list[str] | None = None) -> int:
    a = options().parse_args(argv)
    den = unet.load(a.checkpoint)
    compiled.warm_seconds(den)
    request = validate_request("ddim", 50, 16, 0, guidance=0.0)
    _, frames = streamed_run(den, request)  # warm-up: the classifier, matplotlib, the caches
    reverse_decision(frames, 1, None)
    runs, strips = [], []
    for _ in range(a.repeats):
        seconds, frames = streamed_run(den, request)
        runs.append(seconds)
        start = time.perf_counter()
        reverse_decision(frames, 1, None)
        strips.append(time.perf_counter() - start)
    run_s, strip_s = float(np.median(runs)), float(np.median(strips))
    print(f"streamed DDIM-50 × 16 run  {run_s:.3f} s")
    print(
        f"its decision strip         {strip_s:.3f} s  ({100 * strip_s / run_s:.1f}% of the run; target ≤ 5%)"
    )
    print(
        json.dumps(
            {"run_s": round(run_s, 4), "strip_s": round(strip_s, 4), "ratio": round(strip_s / run_s, 4)}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
