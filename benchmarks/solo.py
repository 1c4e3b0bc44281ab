"""One user alone, with the batching engine and without: DDIM-50 for 16 digits, side by side.

    python benchmarks/solo.py

(a) the compiled UNet in this process, the chain calling it directly (what a single run did
before the engine); (b) the same chain through the engine, its network in the worker
process (what the app does now). Alternated, 7 runs each; prints the medians and the ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=7, help="timed runs of each, alternated (after a warm-up)")
    return p


if __name__ == "__main__":  # --help and bad options answer before torch is imported (seconds)
    options().parse_args()

from diffusion_demo.diffusion.sampling import ReverseRequest, sample  # noqa: E402
from diffusion_demo.models import unet  # noqa: E402
from diffusion_demo.serving import compiled, worker  # noqa: E402
from diffusion_demo.serving.engine import Engine  # noqa: E402


def main(runs: int = 7) -> dict:
    direct = unet.load(unet.MODEL.checkpoint)
    compiled.ensure(direct, child=False)
    net = worker.UNetWorker(unet.load(unet.MODEL.checkpoint, autocast="bf16" if direct.autocast else "fp32"))
    net.wait_ready()
    engine = Engine(direct)
    engine.network = net
    request = ReverseRequest(sampler="ddim", steps=50, num_samples=16, seed=0)
    times: dict[str, list[float]] = {"direct": [], "engine": []}
    for i in range(runs + 1):
        for name in times:
            start = time.perf_counter()
            if name == "direct":
                sample(direct, request)
            else:
                with engine.open("solo", "local") as chain:
                    sample(chain, request)
            if i:  # the first of each is a warm-up
                times[name].append(time.perf_counter() - start)
    net.close()
    result = {name: round(statistics.median(v), 3) for name, v in times.items()}
    result["ratio"] = round(result["engine"] / result["direct"], 3)
    print(
        f"DDIM-50 × 16 alone: in-process {result['direct']} s, through the engine and its worker "
        f"{result['engine']} s: {result['ratio']}×"
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(options().parse_args().runs)
