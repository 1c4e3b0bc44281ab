"""What batching can buy on this machine: the compiled UNet's cost per image against its rows.

    python benchmarks/rows.py                 # 2 threads and 1 thread, rows 8 … 63, 3 rounds

The batching engine (serving/engine.py) stacks many users' rows into one call. That raises
throughput only where a row costs less in a larger batch. Each round times every batch size
(median of ~2 s of back-to-back calls) with torch's 2 threads, then with 1 thread (what two
single-thread workers would each run at); the rounds alternate, so drift shows as spread.
Prints ms per image for each and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = (8, 16, 32, 48, 63)


def measure(threads: int, rows: list[int], seconds: float) -> dict[int, float]:
    """ms per image for each batch size, in this process at `threads` threads."""
    import torch

    sys.path.insert(0, str(ROOT))
    from diffusion_demo.models import unet
    from diffusion_demo.serving import compiled

    torch.set_num_threads(threads)
    den = unet.load(unet.MODEL.checkpoint)
    compiled.ensure(den, child=False)
    out = {}
    for n in rows:
        g = torch.Generator().manual_seed(0)
        args = [torch.randn(n, *den.sample_shape, generator=g), torch.randint(0, 1000, (n,), generator=g)]
        if den.null_label is not None:
            args.append(torch.randint(0, den.null_label + 1, (n,), generator=g))
        with torch.inference_mode():
            for _ in range(3):
                den.compiled(*args)
            times, end = [], time.perf_counter() + seconds
            while time.perf_counter() < end:
                start = time.perf_counter()
                den.compiled(*args)
                times.append(time.perf_counter() - start)
        out[n] = 1000 * statistics.median(times) / n
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3, help="alternated rounds of 2 and 1 threads (3)")
    p.add_argument("--seconds", type=float, default=2.0, help="timing per batch size (2)")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)  # one measurement, in a fresh process
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, list(ROWS), args.seconds)))
        return {}
    runs: dict[int, list[dict]] = {2: [], 1: []}
    for _ in range(args.rounds):
        for threads in runs:  # a fresh process each: torch's thread count is set once
            cmd = [sys.executable, __file__, "--child", str(threads), "--seconds", str(args.seconds)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600)  # noqa: S603
            runs[threads].append({int(k): v for k, v in json.loads(out.stdout.splitlines()[-1]).items()})
    summary = {
        f"ms_per_image_{threads}_threads": {n: [round(r[n], 3) for r in rounds] for n in ROWS}
        for threads, rounds in runs.items()
    }
    print(f"{'rows':>5} {'2 threads: ms/image (rounds)':>34} {'1 thread: ms/image (rounds)':>34}")
    for n in ROWS:
        two = " ".join(f"{v:.2f}" for v in summary["ms_per_image_2_threads"][n])
        one = " ".join(f"{v:.2f}" for v in summary["ms_per_image_1_threads"][n])
        print(f"{n:>5} {two:>34} {one:>34}")
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
