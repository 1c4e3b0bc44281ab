"""`python -m diffusion_demo.toy2d`: train the shipped 2D MLPs (assets/toy2d/).

The flags and the loop over data sets; the training itself is toy2d/train.py.

May import: config, toy2d and libraries.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ..config import TOY2D_LIMITS as LIMITS
from ..toy2d.data import BUILTIN_SETS, get_set
from ..toy2d.metrics import quality
from ..toy2d.model import WEIGHTS_DIR, save
from ..toy2d.sampling import sample
from ..toy2d.train import train


def main(argv: list[str] | None = None) -> None:
    """Train the shipped MLPs: python -m diffusion_demo.toy2d [--out assets/toy2d] [moons …]."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("datasets", nargs="*", default=list(BUILTIN_SETS), choices=list(BUILTIN_SETS))
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.datasets:
        toy = get_set(name)
        cpu = time.process_time()
        model = train(toy)
        model.info["cpu_seconds"] = round(time.process_time() - cpu, 1)
        model.info["quality"] = quality(sample(model, LIMITS.n_points, 0), toy)
        model.info["source"] = "python -m diffusion_demo.toy2d"
        save(model, args.out / f"{name}.safetensors")
        print(name, json.dumps({k: v for k, v in model.info.items() if k != "config"}))
